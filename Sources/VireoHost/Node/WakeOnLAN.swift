import Foundation
import VireoCore

/// Wake-on-LAN of a node (`POST /nodes/{node}/wakeonlan`): the magic packet for the MAC in the
/// node's `wakeonlan` setting, sent as a UDP broadcast from the node's network namespace.
public enum WakeOnLAN {
    public struct Setting: Sendable, Equatable {
        public var mac: String
        public var bindInterface: String?
        public var broadcastAddress: String

        /// `[mac=]<MAC>[,bind-interface=<iface>][,broadcast-address=<IPv4>]`
        public init(parsing text: String) throws {
            let property = try PropertyString(parsing: text)
            guard let mac = property["mac"] ?? property.defaultValue, Self.isMAC(mac) else {
                throw VireoError.parameter("wakeonlan", "invalid MAC address in '\(text)'")
            }
            for key in property.keys where !["mac", "bind-interface", "broadcast-address"].contains(key) {
                throw VireoError.parameter("wakeonlan", "unknown property '\(key)'")
            }
            let broadcast = property["broadcast-address"] ?? "255.255.255.255"
            guard Self.isIPv4(broadcast) else {
                throw VireoError.parameter("wakeonlan", "invalid broadcast address '\(broadcast)'")
            }
            if let interface = property["bind-interface"],
                !(interface.count <= 15
                    && interface.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) })
            {
                throw VireoError.parameter("wakeonlan", "invalid interface name '\(interface)'")
            }
            self.mac = mac.uppercased()
            self.bindInterface = property["bind-interface"]
            self.broadcastAddress = broadcast
        }

        static func isIPv4(_ text: String) -> Bool {
            let parts = text.split(separator: ".", omittingEmptySubsequences: false)
            return parts.count == 4 && parts.allSatisfy { $0.count <= 3 && UInt8($0) != nil }
        }

        static func isMAC(_ text: String) -> Bool {
            let octets = text.split(separator: ":", omittingEmptySubsequences: false)
            return octets.count == 6 && octets.allSatisfy { $0.count == 2 && $0.allSatisfy(\.isHexDigit) }
        }
    }

    /// Six 0xFF bytes, then the MAC sixteen times.
    public static func magicPacket(mac: String) -> [UInt8] {
        let bytes = mac.split(separator: ":").compactMap { UInt8($0, radix: 16) }
        return Array(repeating: 0xFF, count: 6) + Array([[UInt8]](repeating: bytes, count: 16).joined())
    }

    public static func send(_ setting: Setting, host: NodeHost) async throws {
        var address = "UDP-DATAGRAM:\(setting.broadcastAddress):9,broadcast"
        if let interface = setting.bindInterface { address += ",so-bindtodevice=\(interface)" }
        try await host.runTool(
            "socat",
            ["-u", "STDIN", address],
            package: "socat",
            input: magicPacket(mac: setting.mac),
            timeout: .seconds(10),
            inNamespace: true
        )
    }
}
