/// What an interface is, spelt as the `type` field of Proxmox's network API.
public enum InterfaceType: String, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    case bridge
    case bond
    case eth
    case alias
    case vlan
    case vxlan
    case loopback
    case dummy
    case ovsBridge = "OVSBridge"
    case ovsBond = "OVSBond"
    case ovsPort = "OVSPort"
    case ovsIntPort = "OVSIntPort"
    case unknown

    public var description: String { rawValue }

    /// The writer's ordering bucket: loopback first, then NICs, OVS internal ports, bonds, bridges and
    /// VLANs; `nil` for types that sort by file position only.
    var orderBucket: Int? {
        switch self {
        case .loopback, .dummy: 100_000
        case .eth, .ovsPort: 200_000
        case .ovsIntPort: 300_000
        case .bond, .ovsBond: 400_000
        case .bridge, .ovsBridge: 500_000
        case .vlan, .vxlan: 600_000
        case .alias, .unknown: nil
        }
    }
}
