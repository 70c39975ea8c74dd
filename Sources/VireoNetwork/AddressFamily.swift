/// The address family of an `iface` stanza.
public enum AddressFamily: String, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    case inet
    case inet6

    public var description: String { rawValue }
}
