import Foundation
import VireoCore

/// Checks raw request parameters against an endpoint's schema with Proxmox's type coercion and
/// messages. Every bad parameter is reported at once, keyed by name.
public struct ParameterValidator: Sendable {
    public init() {}

    public func validate(_ raw: RawParameters, against schema: EndpointSchema) throws -> Parameters {
        var errors: [String: String] = [:]
        var values: [String: String] = [:]
        var parsed: [String: ParameterValue] = [:]
        for (name, value) in raw.values {
            // A call names a few of the hundreds of parameters a schema may have (a VM's config):
            // looked up one by one, not indexed per call.
            guard let spec = schema.parameters.first(where: { $0.name == name }) else {
                if !schema.additionalProperties {
                    errors[name] =
                        "property is not defined in schema and the schema does not allow additional properties"
                } else if case .text(let text) = value {
                    if let problem = Self.characterProblem(text, name: name) {
                        errors[name] = problem
                    } else {
                        values[name] = text
                        parsed[name] = .text(text)
                    }
                }
                continue
            }
            do {
                if spec.kind == .array {
                    let items: [RawParameters.Value] = if case .list(let l) = value { l } else { [value] }
                    let texts = try items.map { try scalar($0, spec: ParameterSpec(name, .string)) }
                    if let problem = texts.lazy.compactMap({ Self.characterProblem($0, spec: spec) }).first {
                        errors[name] = problem
                        continue
                    }
                    parsed[name] = .list(texts)
                } else {
                    let canonical = try check(value, spec: spec)
                    values[name] = canonical
                    parsed[name] = try Self.parse(canonical, spec: spec)
                }
            } catch let error as ParameterError {
                errors[name] = error.message
            }
        }
        for spec in schema.parameters
        where !spec.optional && parsed[spec.name] == nil && errors[spec.name] == nil {
            errors[spec.name] = "property is missing and it is not optional"
        }
        for spec in schema.parameters {
            if let requires = spec.requires, values[spec.name] != nil, values[requires] == nil, errors[spec.name] == nil
            {
                errors[spec.name] = "missing property required by '\(requires)'"
            }
        }
        guard errors.isEmpty else {
            throw VireoError(.invalidArgument, "Parameter verification failed.", parameterErrors: errors)
        }
        let refused = schema.unhandled.filter { parsed[$0] != nil }
        guard refused.isEmpty else {
            throw VireoError(
                .notImplemented,
                "Parameter verification failed.",
                parameterErrors: Dictionary(uniqueKeysWithValues: refused.map { ($0, "not implemented by Vireo") })
            )
        }
        return Parameters(values: values, parsed: parsed, defaults: schema.parsedDefaults)
    }

    /// The typed value of a checked, canonical parameter text.
    static func parse(_ text: String, spec: ParameterSpec) throws -> ParameterValue {
        switch spec.kind {
        case .boolean:
            return .boolean(text == "1")
        case .integer:
            guard let number = Int(text) else { throw ParameterError("type check ('integer') failed - got '\(text)'") }
            return spec.format == "pve-vmid" ? .vmid(try identifier { try VMID(validating: number) }) : .integer(number)
        case .number:
            guard let number = Double(text) else {
                throw ParameterError("type check ('number') failed - got '\(text)'")
            }
            return .number(number)
        case .array:
            return .list([text])
        case .string:
            switch spec.format {
            case "pve-vmid": return .vmid(try identifier { try VMID(validating: text) })
            case "pve-vmid-list":
                return .vmids(try ListText.items(text).map { item in try identifier { try VMID(validating: item) } })
            case "pve-node": return .node(try identifier { try NodeName(validating: text) })
            case "pve-storage-id": return .storage(try identifier { try StorageID(validating: text) })
            case "pve-volume-id": return .volume(try identifier { try VolumeID(validating: text) })
            case "pve-userid": return .user(try identifier { try UserID(validating: text) })
            case "pve-tokenid": return .token(try identifier { try TokenID(validating: text) })
            case "pve-realm": return .realm(try identifier { try Realm(validating: text) })
            case "pve-groupid": return .group(try identifier { try GroupID(validating: text) })
            case "pve-roleid": return .role(try identifier { try RoleID(validating: text) })
            case "pve-poolid": return .pool(try identifier { try PoolID(validating: text) })
            case let format? where format.hasSuffix("-list"): return .list(ListText.items(text))
            default: return .text(text)
            }
        }
    }

    /// An identifier's own check, reported as a parameter error.
    private static func identifier<T>(_ make: () throws -> T) throws -> T {
        do {
            return try make()
        } catch let error as VireoError {
            throw ParameterError(error.message)
        }
    }

    struct ParameterError: Error {
        let message: String
        init(_ message: String) { self.message = message }
    }

    private func check(_ value: RawParameters.Value, spec: ParameterSpec) throws(ParameterError) -> String {
        // An array sent for a `*-list` string is joined with `,`.
        if case .list(let items) = value {
            guard spec.kind == .string, spec.format?.hasSuffix("-list") == true else {
                throw ParameterError("type check ('\(spec.kind.rawValue)') failed - got an array")
            }
            var parts: [String] = []
            for item in items { parts.append(try scalar(item, spec: spec)) }
            return try checkConstraints(parts.joined(separator: ","), spec: spec)
        }
        return try checkConstraints(try scalar(value, spec: spec), spec: spec)
    }

    /// Type check and canonical text of one scalar.
    private func scalar(_ value: RawParameters.Value, spec: ParameterSpec) throws(ParameterError) -> String {
        let kind = spec.kind.rawValue
        switch (spec.kind, value) {
        case (.boolean, .text(let text)):
            guard text == "1" || text == "0" else {
                throw ParameterError("type check ('boolean') failed - got '\(text)'")
            }
            return text
        case (.boolean, .json(.bool(let b))):
            return b ? "1" : "0"
        case (.boolean, .json(.int(let i))) where i == 0 || i == 1:
            return String(i)
        case (.integer, .text(let text)):
            guard Self.isInteger(text) else { throw ParameterError("type check ('integer') failed - got '\(text)'") }
            guard let number = Int(text.hasPrefix("+") ? String(text.dropFirst()) : text) else {
                throw ParameterError("type check ('integer') failed - got '\(text)'")
            }
            return String(number)
        case (.integer, .json(.int(let i))):
            return String(i)
        case (.integer, .json(.double(let d))) where d == d.rounded() && abs(d) < 9e15:
            return String(Int64(d))
        case (.number, .text(let text)):
            guard Self.isNumber(text), Double(text) != nil else {
                throw ParameterError("type check ('number') failed - got '\(text)'")
            }
            return text
        case (.number, .json(.int(let i))):
            return String(i)
        case (.number, .json(.double(let d))):
            return String(d)
        case (.string, .text(let text)):
            return text
        case (.string, .json(.string(let s))):
            return s
        case (.string, .json(.int(let i))):
            return String(i)
        case (.string, .json(.double(let d))):
            return String(d)
        case (_, .json(.string(let s))):
            return try scalar(.text(s), spec: spec)
        case (_, .json(.null)):
            throw ParameterError("type check ('\(kind)') failed - got null")
        default:
            throw ParameterError("type check ('\(kind)') failed")
        }
    }

    private func checkConstraints(_ text: String, spec: ParameterSpec) throws(ParameterError) -> String {
        if let enumValues = spec.enumValues, !enumValues.contains(text) {
            throw ParameterError(
                "value '\(text)' does not have a value in the enumeration '\(enumValues.joined(separator: ", "))'"
            )
        }
        if spec.kind == .integer || spec.kind == .number, let number = Double(text) {
            if let minimum = spec.minimum, number < minimum {
                throw ParameterError("value must have a minimum value of \(Self.show(minimum))")
            }
            if let maximum = spec.maximum, number > maximum {
                throw ParameterError("value must have a maximum value of \(Self.show(maximum))")
            }
        }
        if spec.kind == .string {
            if let problem = Self.characterProblem(text, spec: spec) { throw ParameterError(problem) }
            if let maxLength = spec.maxLength, text.utf8.count > maxLength {
                throw ParameterError("value may only be \(maxLength) characters long")
            }
            if let minLength = spec.minLength, text.utf8.count < minLength {
                throw ParameterError("value must be at least \(minLength) characters long")
            }
            if let pattern = spec.pattern, !Self.matches(text, pattern: pattern) {
                throw ParameterError("value does not match the regex pattern")
            }
            if let format = spec.format, let problem = FormatValidator.problem(with: text, format: format) {
                throw ParameterError("invalid format - \(problem)")
            }
        }
        return text
    }

    /// Free-text parameters that may span lines (their files store them as comment lines or
    /// encoded); every other string is one line.
    static let multiLineParameters: Set<String> = ["description", "notes", "comments", "comment"]

    /// No string parameter holds a control character (NUL, ESC, DEL, …); only free text may hold
    /// line breaks and tabs. Whatever a value ends up in (a config line, a command, a log), a
    /// control character in it is an attack or a mistake.
    private static func characterProblem(_ text: String, spec: ParameterSpec) -> String? {
        characterProblem(text, name: spec.name, multiLine: spec.multiLine)
    }

    private static func characterProblem(_ text: String, name: String, multiLine: Bool = false) -> String? {
        let allowed: Set<Unicode.Scalar> =
            multiLine || multiLineParameters.contains(name) ? ["\n", "\r", "\t"] : []
        guard let scalar = text.unicodeScalars.first(where: { ConfigValue.isControl($0) && !allowed.contains($0) })
        else { return nil }
        return "value must not contain control characters (\(ConfigValue.describe(scalar)))"
    }

    static func isInteger(_ text: String) -> Bool {
        var digits = Substring(text)
        if digits.first == "+" || digits.first == "-" { digits = digits.dropFirst() }
        return !digits.isEmpty && digits.allSatisfy { $0.isASCII && $0.isNumber }
    }

    static func isNumber(_ text: String) -> Bool {
        matches(text, pattern: #"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?"#)
    }

    private static func show(_ value: Double) -> String {
        value == value.rounded() ? String(Int64(value)) : String(value)
    }

    /// Anchored match, as Proxmox anchors every schema pattern.
    static func matches(_ text: String, pattern: String) -> Bool {
        RegexCache.shared.regex(for: pattern).map { regex in
            let range = NSRange(text.startIndex..., in: text)
            guard let match = regex.firstMatch(in: text, options: [.anchored], range: range) else { return false }
            return match.range.location == 0 && match.range.length == range.length
        } ?? true
    }
}
