/// The `[OPTIONS]` of each level read with Proxmox's effective defaults (firewall spec §5). The file
/// keeps only what was set; these views answer what is in force.
public enum FirewallPolicy: String, Sendable, Hashable, CaseIterable {
    case accept = "ACCEPT"
    case drop = "DROP"
    case reject = "REJECT"

    init?(option: String?) {
        guard let option else { return nil }
        self.init(rawValue: option.uppercased())
    }
}

/// A syslog level of `log`/`log_level_*`; `nolog` (nil) means no log rule.
public enum FirewallLogLevel: String, Sendable, Hashable, CaseIterable {
    case emerg, alert, crit, err, warning, notice, info, debug

    public static let names = allCases.map(\.rawValue) + ["nolog"]

    /// nil for `nolog`, absent or unknown values.
    public init?(option: String?) {
        guard let option else { return nil }
        self.init(rawValue: option.lowercased())
    }
}

func flag(_ value: String?, default fallback: Bool) -> Bool {
    guard let value = value?.lowercased() else { return fallback }
    switch value {
    case "1", "yes", "on", "true": return true
    case "0", "no", "off", "false": return false
    default: return fallback
    }
}

public struct ClusterFirewallOptions: Sendable, Hashable {
    /// The master switch: off means no rule anywhere, hosts and guests.
    public var enable: Bool
    public var policyIn: FirewallPolicy
    public var policyOut: FirewallPolicy
    public var policyForward: FirewallPolicy
    public var logRateLimit: LogRateLimit

    public struct LogRateLimit: Sendable, Hashable {
        public var enable = true
        public var rate = 1
        public var per = "second"
        public var burst = 5

        /// `[enable=]1,rate=10/minute,burst=3`
        init(_ text: String?) {
            guard let text else { return }
            for part in text.split(separator: ",") {
                let pair = part.split(separator: "=", maxSplits: 1).map(String.init)
                let (key, value) = pair.count == 2 ? (pair[0], pair[1]) : ("enable", pair[0])
                switch key {
                case "enable": enable = flag(value, default: true)
                case "burst": burst = Int(value) ?? burst
                case "rate":
                    let fields = value.split(separator: "/").map(String.init)
                    rate = Int(fields[0]) ?? rate
                    if fields.count == 2 { per = fields[1] }
                default: break
                }
            }
        }
    }

    /// `now` decides whether an anti-lockout timestamp in `enable` is still in force (60 s).
    public init(_ options: [String: String], now: Int) {
        let raw = Int(options["enable"] ?? "0") ?? 0
        enable = raw == 1 || (raw > 1 && now - raw <= 60)
        policyIn = FirewallPolicy(option: options["policy_in"]) ?? .drop
        policyOut = FirewallPolicy(option: options["policy_out"]) ?? .accept
        policyForward = FirewallPolicy(option: options["policy_forward"]) ?? .accept
        logRateLimit = LogRateLimit(options["log_ratelimit"])
    }
}

public struct HostFirewallOptions: Sendable, Hashable {
    public var enable: Bool
    public var logLevelIn: FirewallLogLevel?
    public var logLevelOut: FirewallLogLevel?
    public var logLevelForward: FirewallLogLevel?
    public var ndp: Bool
    public var nosmurfs: Bool
    public var smurfLogLevel: FirewallLogLevel?
    public var tcpflags: Bool
    public var tcpFlagsLogLevel: FirewallLogLevel?
    public var allowInvalid: Bool
    public var protectionSynflood: Bool
    public var synfloodRate: Int
    public var synfloodBurst: Int

    public init(_ options: [String: String]) {
        enable = flag(options["enable"], default: true)
        logLevelIn = FirewallLogLevel(option: options["log_level_in"])
        logLevelOut = FirewallLogLevel(option: options["log_level_out"])
        logLevelForward = FirewallLogLevel(option: options["log_level_forward"])
        ndp = flag(options["ndp"], default: true)
        nosmurfs = flag(options["nosmurfs"], default: true)
        smurfLogLevel = FirewallLogLevel(option: options["smurf_log_level"])
        tcpflags = flag(options["tcpflags"], default: false)
        tcpFlagsLogLevel = FirewallLogLevel(option: options["tcp_flags_log_level"])
        allowInvalid = flag(options["nf_conntrack_allow_invalid"], default: false)
        protectionSynflood = flag(options["protection_synflood"], default: false)
        synfloodRate = Int(options["protection_synflood_rate"] ?? "") ?? 200
        synfloodBurst = Int(options["protection_synflood_burst"] ?? "") ?? 1000
    }
}

public struct GuestFirewallOptions: Sendable, Hashable {
    public var enable: Bool
    public var policyIn: FirewallPolicy
    public var policyOut: FirewallPolicy
    public var logLevelIn: FirewallLogLevel?
    public var logLevelOut: FirewallLogLevel?
    public var macfilter: Bool
    public var ipfilter: Bool
    public var dhcp: Bool
    public var ndp: Bool
    public var radv: Bool

    public init(_ options: [String: String]) {
        enable = flag(options["enable"], default: false)
        policyIn = FirewallPolicy(option: options["policy_in"]) ?? .drop
        policyOut = FirewallPolicy(option: options["policy_out"]) ?? .accept
        logLevelIn = FirewallLogLevel(option: options["log_level_in"])
        logLevelOut = FirewallLogLevel(option: options["log_level_out"])
        macfilter = flag(options["macfilter"], default: true)
        ipfilter = flag(options["ipfilter"], default: false)
        // The schema says 0, but Proxmox allows DHCP unless `dhcp: 0` is written.
        dhcp = flag(options["dhcp"], default: true)
        ndp = flag(options["ndp"], default: true)
        radv = flag(options["radv"], default: false)
    }
}

/// Checks of option values the API schema cannot express (property strings).
public enum FirewallOptionCheck {
    public static let conntrackHelpers: Set<String> = [
        "amanda", "ftp", "irc", "netbios-ns", "pptp", "sane", "sip", "snmp", "tftp",
    ]

    /// What is wrong with `value` for option `key`, or nil.
    public static func problem(_ key: String, _ value: String) -> String? {
        switch key {
        case "log_ratelimit":
            for part in value.split(separator: ",", omittingEmptySubsequences: false) {
                let pair = part.split(separator: "=", maxSplits: 1).map(String.init)
                let (name, text) = pair.count == 2 ? (pair[0], pair[1]) : ("enable", pair.first ?? "")
                switch name {
                case "enable":
                    guard ["0", "1"].contains(text) else { return "invalid format - enable: '\(text)' is not 0 or 1" }
                case "burst":
                    guard !text.isEmpty, text.count < 10, text.allSatisfy(\.isASCIIDigit) else {
                        return "invalid format - burst: '\(text)' is not a number"
                    }
                case "rate":
                    let fields = text.split(separator: "/").map(String.init)
                    guard fields.count == 2, let count = Int(fields[0]), count > 0, fields[0].first != "0",
                        ["second", "minute", "hour", "day"].contains(fields[1])
                    else { return "invalid format - rate: '\(text)' is not N/second, N/minute, N/hour or N/day" }
                default: return "invalid format - unknown property '\(name)'"
                }
            }
        default: break
        }
        return nil
    }
}
