/// How an `iface` stanza configures its family (`iface vmbr0 inet static`). Open-ended: ifupdown knows
/// more methods than Proxmox writes, and a parsed file keeps whatever it says.
public struct InterfaceMethod: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }

    public static let manual = InterfaceMethod("manual")
    public static let `static` = InterfaceMethod("static")
    public static let dhcp = InterfaceMethod("dhcp")
    public static let auto = InterfaceMethod("auto")
    public static let loopback = InterfaceMethod("loopback")

    public var description: String { rawValue }
}
