/// One match a rule compiles to: a macro expands into one per entry, and each is emitted for the
/// family it belongs to (nil: both).
public struct FirewallMatch: Sendable, Hashable {
    public var ipv6: Bool?
    public var proto: Int?
    public var dport: [ClosedRange<Int>]?
    public var sport: [ClosedRange<Int>]?
    public var icmp: FirewallProtocols.ICMPType?
    public var source: FirewallAddress?
    public var dest: FirewallAddress?
}

extension FirewallRule {
    /// Where a rule sits, which decides the directions and interfaces it may use.
    public enum Place: Sendable, Hashable {
        case file(FirewallLevel)
        case group
    }

    /// The rule checked against its place and the names it can see: its `errors` (empty when it
    /// is good) and the matches it compiles to. Macro names come back canonical.
    public func checked(at place: Place, names: FirewallNames) -> (rule: FirewallRule, matches: [FirewallMatch]) {
        var rule = self
        var errors = self.errors
        let matches = rule.check(at: place, names: names, errors: &errors)
        rule.errors = errors
        return (rule, errors.isEmpty ? matches : [])
    }

    private mutating func check(
        at place: Place,
        names: FirewallNames,
        errors: inout [String: String]
    )
        -> [FirewallMatch]
    {
        let kinds: Set<Kind> =
            switch place {
            case .file(let level): level.ruleKinds
            case .group: FirewallGroup.ruleKinds
            }
        if !kinds.contains(type) { errors["type"] = "rule type '\(type.rawValue)' is not allowed here" }
        if let iface { checkInterface(iface, place: place, errors: &errors) }
        if type == .group {
            if names.cluster.group(named: action) == nil {
                errors["action"] = "security group '\(action)' does not exist"
            }
            for option in Option.allCases where option != .iface && self[option] != nil {
                errors[option.field] = "a group rule takes no '\(option.field)'"
            }
            return errors.isEmpty ? [FirewallMatch()] : []
        }
        if !["ACCEPT", "DROP", "REJECT"].contains(action) {
            errors["action"] = "unknown action '\(action)'"
        } else if action == "REJECT" && type == .forward {
            errors["action"] = "REJECT is not allowed on FORWARD rules"
        }
        var macroEntries: [FirewallMacro.Entry]?
        if let name = macro {
            if let known = FirewallMacro.named(name) {
                macro = known.name
                macroEntries = known.entries
            } else {
                errors["macro"] = "unknown macro '\(name)'"
            }
        }
        if let log, FirewallLogLevel(option: log) == nil, log != "nolog" {
            errors["log"] = "unknown log level '\(log)'"
        }
        let source = address(source, field: "source", names: names, errors: &errors)
        let dest = address(dest, field: "dest", names: names, errors: &errors)
        // The family comes from the protocol, then the source, then the destination (Perl's
        // order); the field that brings a second family gets the error.
        var family: Bool?
        if let text = self.proto {
            let proto = FirewallProtocols.number(ofProtocol: text)
            if proto == nil { errors["proto"] = "unknown protocol '\(text)'" }
            if proto == FirewallProtocols.icmp { family = false }
            if proto == FirewallProtocols.icmpv6 { family = true }
        }
        for (field, address) in [("source", source), ("dest", dest)] {
            guard let found = address.flatMap(names.family(of:)) else { continue }
            if let family, family != found {
                errors[field] = "mixing IPv4 and IPv6 in one rule"
            } else {
                family = found
            }
        }
        guard errors.isEmpty else { return [] }
        // Without a macro the rule is its own single template.
        let templates =
            macroEntries
            ?? [FirewallMacro.Entry(proto: "", dport: nil, sport: nil, icmpType: nil, family: .any)]
        var matches: [FirewallMatch] = []
        for entry in templates {
            let entryFamily: Bool? =
                switch entry.family {
                case .any: nil
                case .ipv4: false
                case .ipv6: true
                }
            if let entryFamily, let family, entryFamily != family { continue }
            var match = FirewallMatch(ipv6: entryFamily ?? family, source: source, dest: dest)
            match.proto = merge(entry.proto.isEmpty ? nil : entry.proto, self.proto, field: "proto", &errors)
                .flatMap(FirewallProtocols.number(ofProtocol:))
            let dport = merge(entry.dport, self.dport, field: "dport", &errors)
            let sport = merge(entry.sport, self.sport, field: "sport", &errors)
            let icmpType = merge(entry.icmpType, self.icmpType, field: "icmp-type", &errors)
            if dport != nil || sport != nil {
                if let proto = match.proto, !FirewallProtocols.portProtocols.contains(proto) {
                    // Old files name an ICMP type in -dport.
                    if [FirewallProtocols.icmp, FirewallProtocols.icmpv6].contains(proto), sport == nil,
                        let dport, icmpType == nil
                    {
                        setICMP(dport, into: &match, errors: &errors)
                        matches.append(match)
                        continue
                    }
                    errors[dport != nil ? "dport" : "sport"] = "protocol '\(self.proto ?? "")' has no ports"
                } else if match.proto == nil {
                    errors[dport != nil ? "dport" : "sport"] = "a port needs a protocol (-p tcp, udp, ...)"
                }
            }
            do {
                match.dport = try dport.map(FirewallProtocols.portRanges)
                match.sport = try sport.map(FirewallProtocols.portRanges)
            } catch {
                errors[match.dport == nil && dport != nil ? "dport" : "sport"] = error.description
            }
            if let icmpType {
                if dport != nil { errors["icmp-type"] = "'icmp-type' cannot be used together with 'dport'" }
                guard let proto = match.proto, [FirewallProtocols.icmp, FirewallProtocols.icmpv6].contains(proto)
                else {
                    errors["icmp-type"] = "'icmp-type' needs protocol icmp or icmpv6"
                    continue
                }
                setICMP(icmpType, into: &match, errors: &errors)
            }
            if match.proto == FirewallProtocols.icmp { match.ipv6 = false }
            if match.proto == FirewallProtocols.icmpv6 { match.ipv6 = true }
            matches.append(match)
        }
        return errors.isEmpty ? matches : []
    }

    private func setICMP(_ text: String, into match: inout FirewallMatch, errors: inout [String: String]) {
        let ipv6 = match.proto == FirewallProtocols.icmpv6
        guard let type = FirewallProtocols.icmpType(text, ipv6: ipv6) else {
            errors["icmp-type"] = "unknown \(ipv6 ? "ICMPv6" : "ICMP") type '\(text)'"
            return
        }
        match.icmp = type
    }

    /// A macro's field and the rule's: the rule fills what the macro leaves open; both set and
    /// different is an error.
    private func merge(
        _ fromMacro: String?,
        _ fromRule: String?,
        field: String,
        _ errors: inout [String: String]
    )
        -> String?
    {
        guard let fromMacro else { return fromRule }
        if let fromRule, fromRule.lowercased() != fromMacro.lowercased() {
            errors[field] = "'\(field)' is set by macro '\(macro ?? "")' already"
        }
        return fromMacro
    }

    private func address(
        _ text: String?,
        field: String,
        names: FirewallNames,
        errors: inout [String: String]
    )
        -> FirewallAddress?
    {
        guard let text else { return nil }
        do {
            let address = try FirewallAddress(parsing: text)
            switch address {
            case .alias(let reference) where names.alias(reference) == nil:
                errors[field] = "no such alias '\(reference)'"
            case .ipset(let reference) where names.ipset(reference) == nil:
                errors[field] = "no such ipset '\(reference)'"
            default: break
            }
            return address
        } catch {
            errors[field] = error.description
            return nil
        }
    }

    private func checkInterface(_ iface: String, place: Place, errors: inout [String: String]) {
        switch place {
        case .group:
            errors["iface"] = "a rule inside a security group takes no interface"
        case .file(.guest):
            let digits = iface.dropFirst(3)
            guard iface.hasPrefix("net"), !digits.isEmpty, digits.allSatisfy(\.isASCIIDigit),
                let index = Int(digits), index < 32
            else {
                errors["iface"] = "a guest rule's interface is net0 ... net31, not '\(iface)'"
                return
            }
        case .file:
            let allowed = iface.allSatisfy {
                $0.isASCIILetter || $0.isASCIIDigit || $0 == "-" || $0 == "_" || $0 == "." || $0 == "+"
            }
            if !allowed || iface.isEmpty || iface.count > 15 {
                errors["iface"] = "invalid interface name '\(iface)'"
            }
        }
    }
}
