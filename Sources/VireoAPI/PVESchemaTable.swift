import Foundation
import VireoAccess
import VireoCore

/// Turns the generated schema text (``APISchema/pveText``) into endpoint schemas.
///
/// The text keeps Proxmox's own permission notation (`["perm", path, privs, "any", 1]`);
/// this type is the one place that reads it.
enum PVESchemaTable {
    static func decode(_ text: String) -> [String: EndpointSchema] {
        guard let document = try? JSONDecoder().decode(JSON.self, from: Data(text.utf8)),
            let parameters = document["parameters"]?.arrayValue?.map(parameter),
            let sets = document["parameterSets"]?.arrayValue,
            case .object(let endpoints)? = document["endpoints"]
        else { preconditionFailure("generated API schema text is not valid") }
        let parameterSets = sets.map { set in
            (set.arrayValue ?? []).compactMap(\.intValue).flatMap { parameters[$0] }
        }
        return endpoints.mapValues { endpoint in
            EndpointSchema(
                parameters: parameterSets[endpoint["parameters"]?.intValue ?? 0],
                permission: permission(endpoint["permissions"]),
                protected: endpoint["protected"]?.intValue == 1,
                allowToken: endpoint["allowtoken"]?.intValue != 0,
                additionalProperties: endpoint["additionalProperties"]?.intValue == 1,
                returns: endpoint["returns"]?.stringValue ?? "null"
            )
        }
    }

    /// One parameter, or `count` of them for an indexed one (`net` with 32: `net0` … `net31`).
    private static func parameter(_ json: JSON) -> [ParameterSpec] {
        guard let name = json["name"]?.stringValue,
            let kind = json["type"]?.stringValue.flatMap(ParameterSpec.Kind.init(rawValue:))
        else { preconditionFailure("generated API schema has a parameter without name or type: \(json)") }
        let spec = ParameterSpec(
            name,
            kind,
            optional: json["optional"]?.intValue == 1,
            format: json["format"]?.stringValue,
            pattern: json["pattern"]?.stringValue,
            minLength: json["minLength"]?.intValue,
            maxLength: json["maxLength"]?.intValue,
            minimum: json["minimum"].flatMap(number),
            maximum: json["maximum"].flatMap(number),
            enumValues: json["enum"]?.arrayValue?.compactMap(\.stringValue),
            defaultValue: json["default"]?.stringValue,
            requires: json["requires"]?.stringValue
        )
        guard let count = json["indexed"]?.intValue else { return [spec] }
        return (0..<count).map { index in
            var instance = spec
            instance.name = "\(name)\(index)"
            return instance
        }
    }

    private static func number(_ json: JSON) -> Double? {
        switch json {
        case .int(let i): Double(i)
        case .double(let d): d
        default: nil
        }
    }

    /// No block means root only; `user: world|all`; otherwise a `check` expression.
    static func permission(_ json: JSON?) -> PermissionCheck {
        guard let json else { return .rootOnly }
        if let check = json["check"]?.arrayValue { return self.check(check) }
        switch json["user"]?.stringValue {
        case "world": return .world
        case "all": return .anyUser
        default: return .rootOnly
        }
    }

    private static func check(_ items: [JSON]) -> PermissionCheck {
        let words = items.map(\.stringValue)
        func options(from index: Int) -> [String: JSON] {
            var result: [String: JSON] = [:]
            var i = index
            while i + 1 < items.count {
                if let key = words[i] { result[key] = items[i + 1] }
                i += 2
            }
            return result
        }
        func strings(_ json: JSON) -> [String] { json.arrayValue?.compactMap(\.stringValue) ?? [] }
        switch words.first ?? nil {
        case "and": return .and(items.dropFirst().map { check($0.arrayValue ?? []) })
        case "or": return .or(items.dropFirst().map { check($0.arrayValue ?? []) })
        case "perm" where items.count >= 3:
            let opts = options(from: 3)
            return .perm(
                words[1] ?? "/",
                strings(items[2]),
                any: opts["any"]?.intValue == 1,
                requireParam: opts["require_param"]?.stringValue
            )
        case "userid-param" where items.count >= 2:
            return words[1] == "self" ? .useridSelf : .useridParam(words[1] ?? "userid")
        case "userid-group" where items.count >= 2:
            let mode: PermissionCheck.GroupsMode? =
                switch options(from: 2)["groups_param"]?.stringValue {
                case "create": .create
                case "update": .update
                default: nil
                }
            return .useridGroup(strings(items[1]), groupsParam: mode)
        case "perm-modify" where items.count >= 2:
            return .permModify(words[1] ?? "/")
        default:
            preconditionFailure("generated API schema has an unknown permission check: \(items)")
        }
    }
}

extension APISchema {
    static let pve: [String: EndpointSchema] = PVESchemaTable.decode(pveText)
}
