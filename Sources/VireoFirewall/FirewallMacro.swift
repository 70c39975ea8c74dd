/// A Proxmox firewall macro: a named list of rule templates a rule like `IN HTTP(ACCEPT)` expands into.
public struct FirewallMacro: Sendable {
    /// One rule template of a macro; the rule using the macro supplies action, addresses and interface.
    public struct Entry: Sendable, Hashable {
        /// The address family an entry applies to.
        public enum Family: Sendable, Hashable { case any, ipv4, ipv6 }

        /// Protocol name (`tcp`, `udp`, `icmp`, `ipv6-icmp`) or number (`47`).
        public var proto: String
        /// Destination ports in Proxmox syntax: `80`, `6881:6889`, `135,445`.
        public var dport: String?
        /// Source ports in Proxmox syntax.
        public var sport: String?
        /// ICMP or ICMPv6 type name, e.g. `echo-request`.
        public var icmpType: String?
        /// `.ipv4`/`.ipv6` only for entries that exist in one family.
        public var family: Family

        public init(
            proto: String,
            dport: String? = nil,
            sport: String? = nil,
            icmpType: String? = nil,
            family: Family = .any
        ) {
            self.proto = proto
            self.dport = dport
            self.sport = sport
            self.icmpType = icmpType
            self.family = family
        }
    }

    /// Canonical spelling, e.g. `HTTP`, `BitTorrent32`, `DHCPv6`.
    public let name: String
    public let description: String
    public let entries: [Entry]

    /// Every macro, sorted case-insensitively by name as Proxmox lists them.
    public static let all: [FirewallMacro] = table.sorted { $0.name.lowercased() < $1.name.lowercased() }

    private static let byLowercasedName: [String: FirewallMacro] = Dictionary(
        uniqueKeysWithValues: all.map { ($0.name.lowercased(), $0) }
    )

    /// Looks a macro up case-insensitively; the result carries the canonical name.
    public static func named(_ name: String) -> FirewallMacro? {
        byLowercasedName[name.lowercased()]
    }

    private init(_ name: String, _ description: String, _ entries: [Entry]) {
        self.name = name
        self.description = description
        self.entries = entries
    }
}

// MARK: - Table

private func tcp(_ dport: String) -> FirewallMacro.Entry {
    .init(proto: "tcp", dport: dport)
}

private func udp(
    _ dport: String,
    sport: String? = nil,
    family: FirewallMacro.Entry.Family = .any
)
    -> FirewallMacro.Entry
{
    .init(proto: "udp", dport: dport, sport: sport, family: family)
}

private func proto(_ number: String) -> FirewallMacro.Entry {
    .init(proto: number)
}

private func icmp(_ type: String) -> FirewallMacro.Entry {
    .init(proto: "icmp", icmpType: type, family: .ipv4)
}

private func icmpv6(_ type: String) -> FirewallMacro.Entry {
    .init(proto: "ipv6-icmp", icmpType: type, family: .ipv6)
}

extension FirewallMacro {
    // Perl's 86 macros plus HTTP/3 and PBS, which only the nft (Rust) firewall knows.
    fileprivate static let table: [FirewallMacro] = [
        .init("Amanda", "Amanda backup", [udp("10080"), tcp("10080")]),
        .init("Auth", "Auth (identd) traffic", [tcp("113")]),
        .init("BGP", "Border Gateway Protocol traffic", [tcp("179")]),
        .init("BitTorrent", "BitTorrent traffic (ports 6881-6889)", [tcp("6881:6889"), udp("6881")]),
        .init("BitTorrent32", "BitTorrent traffic (ports 6881-6999)", [tcp("6881:6999"), udp("6881")]),
        .init("Ceph", "Ceph monitors, OSDs and MDS", [tcp("6789"), tcp("3300"), tcp("6800:7300")]),
        .init("Citrix", "Citrix ICA and session reliability", [tcp("1494"), udp("1604"), tcp("2598")]),
        .init("CVS", "CVS pserver traffic", [tcp("2401")]),
        .init("DAAP", "Digital Audio Access Protocol (iTunes sharing)", [tcp("3689"), udp("3689")]),
        .init("DCC", "Distributed Checksum Clearinghouse spam filtering", [tcp("6277")]),
        .init("DHCPfwd", "Forwarded DHCP traffic", [udp("67:68", sport: "67:68")]),
        .init("DHCPv6", "DHCPv6 traffic", [udp("546:547", sport: "546:547", family: .ipv6)]),
        .init("Distcc", "Distributed compiler service", [tcp("3632")]),
        .init("DNS", "Domain Name System traffic", [udp("53"), tcp("53")]),
        .init("Finger", "Finger protocol", [tcp("79")]),
        .init("FTP", "FTP control traffic", [tcp("21")]),
        .init("Git", "Git daemon traffic", [tcp("9418")]),
        .init("GNUnet", "GNUnet peer-to-peer traffic", [tcp("2086"), udp("2086"), tcp("1080"), udp("1080")]),
        .init("GRE", "Generic Routing Encapsulation tunnels", [proto("47")]),
        .init("HKP", "OpenPGP key server (HKP) traffic", [tcp("11371")]),
        .init("HTTP", "HTTP (web) traffic", [tcp("80")]),
        .init("HTTP/3", "HTTP/3 (QUIC) web traffic", [udp("443")]),
        .init("HTTPS", "HTTPS (secure web) traffic", [tcp("443")]),
        .init("ICPV2", "Internet Cache Protocol v2 (Squid peers)", [udp("3130")]),
        .init("ICQ", "ICQ and AIM messaging", [tcp("5190")]),
        .init("IMAP", "IMAP mail access", [tcp("143")]),
        .init("IMAPS", "IMAP mail access over TLS", [tcp("993")]),
        .init("IPIP", "IP-in-IP tunnels", [proto("94")]),
        .init("IPsec", "IPsec with IKE and ESP", [udp("500", sport: "500"), proto("50")]),
        .init("IPsecah", "IPsec with IKE and AH", [udp("500", sport: "500"), proto("51")]),
        .init("IPsecnat", "IPsec with NAT traversal", [udp("500"), udp("4500"), proto("50")]),
        .init("IRC", "Internet Relay Chat", [tcp("6667")]),
        .init("Jetdirect", "HP Jetdirect printing", [tcp("9100")]),
        .init("L2TP", "Layer 2 Tunneling Protocol", [udp("1701")]),
        .init("LDAP", "LDAP directory traffic", [tcp("389")]),
        .init("LDAPS", "LDAP directory traffic over TLS", [tcp("636")]),
        .init("Mail", "Mail delivery and submission (SMTP, SMTPS, submission)", [tcp("25"), tcp("465"), tcp("587")]),
        .init("MDNS", "Multicast DNS", [udp("5353")]),
        .init("MSNP", "Microsoft Notification Protocol", [tcp("1863")]),
        .init("MSSQL", "Microsoft SQL Server", [tcp("1433")]),
        .init("Munin", "Munin monitoring node", [tcp("4949")]),
        .init("MySQL", "MySQL server", [tcp("3306")]),
        .init(
            "NeighborDiscovery",
            "IPv6 neighbor and router discovery",
            [
                icmpv6("router-solicitation"), icmpv6("router-advertisement"),
                icmpv6("neighbor-solicitation"), icmpv6("neighbor-advertisement"),
            ]
        ),
        .init("NNTP", "Usenet news traffic", [tcp("119")]),
        .init("NNTPS", "Usenet news traffic over TLS", [tcp("563")]),
        .init("NTP", "Network Time Protocol", [udp("123")]),
        .init("OpenVPN", "OpenVPN traffic", [udp("1194")]),
        .init("OSPF", "OSPF routing", [proto("89")]),
        .init("PBS", "Proxmox Backup Server", [tcp("8007")]),
        .init("PCA", "Symantec pcAnywhere", [udp("5632"), tcp("5631")]),
        .init("Ping", "ICMP echo requests (ping)", [icmp("echo-request"), icmpv6("echo-request")]),
        .init("PMG", "Proxmox Mail Gateway web interface", [tcp("8006")]),
        .init("POP3", "POP3 mail access", [tcp("110")]),
        .init("POP3S", "POP3 mail access over TLS", [tcp("995")]),
        .init("PostgreSQL", "PostgreSQL server", [tcp("5432")]),
        .init("PPtP", "Point-to-Point Tunneling Protocol", [proto("47"), tcp("1723")]),
        .init("Printer", "Line printer (LPD) traffic", [tcp("515")]),
        .init("Razor", "Vipul's Razor spam detection", [tcp("2703")]),
        .init("Rdate", "Remote time retrieval (rdate)", [tcp("37")]),
        .init("RDP", "Remote Desktop Protocol", [tcp("3389")]),
        .init("RIP", "Routing Information Protocol", [udp("520")]),
        .init("RNDC", "BIND remote name daemon control", [tcp("953")]),
        .init("Rsync", "Rsync daemon traffic", [tcp("873")]),
        .init("SANE", "SANE network scanning", [tcp("6566")]),
        .init("SixXS", "SixXS IPv6 tunnel broker", [tcp("3874"), udp("3740"), proto("41"), udp("5072,8374")]),
        .init(
            "SMB",
            "Windows file and printer sharing (SMB/NetBIOS)",
            [udp("135,445"), udp("137:139"), udp("1024:65535", sport: "137"), tcp("135,139,445")]
        ),
        .init("SMBswat", "Samba web administration (SWAT)", [tcp("901")]),
        .init("SMTP", "Mail transfer (SMTP)", [tcp("25")]),
        .init("SMTPS", "Mail transfer over TLS (SMTPS)", [tcp("465")]),
        .init("SNMP", "Simple Network Management Protocol", [udp("161:162"), tcp("161")]),
        .init("SPAMD", "SpamAssassin daemon", [tcp("783")]),
        .init("SPICEproxy", "Proxmox SPICE proxy", [tcp("3128")]),
        .init("Squid", "Squid web proxy", [tcp("3128")]),
        .init("SSH", "Secure shell traffic", [tcp("22")]),
        .init("Submission", "Mail submission", [tcp("587")]),
        .init("SVN", "Subversion server", [tcp("3690")]),
        .init("Syslog", "Remote syslog", [udp("514"), tcp("514")]),
        .init("Telnet", "Telnet traffic", [tcp("23")]),
        .init("Telnets", "Telnet over TLS", [tcp("992")]),
        .init("TFTP", "Trivial File Transfer Protocol", [udp("69")]),
        .init("Time", "Time protocol (RFC 868)", [tcp("37")]),
        .init(
            "Trcrt",
            "Traceroute probes and ping",
            [udp("33434:33524"), icmp("echo-request"), icmpv6("echo-request")]
        ),
        .init("VNC", "VNC displays 0-99", [tcp("5900:5999")]),
        .init("VNCL", "VNC listen mode (reverse connections)", [tcp("5500")]),
        .init("Web", "HTTP and HTTPS web traffic", [tcp("80"), tcp("443")]),
        .init("Webcache", "Web cache and proxy traffic", [tcp("8080")]),
        .init("Webmin", "Webmin administration", [tcp("10000")]),
        .init("Whois", "Whois directory lookups", [tcp("43")]),
    ]
}
