/// Where a failure lives: the seed's planes, and the layers along its two paths
/// (VM → virtual disk → storage backend → physical disk; client → physical NIC → bridge → vNIC →
/// guest), the control plane's own layers and the host's. Errors carry one so a report can say
/// "storage / backend full" rather than "the VM stopped".
public struct Fault: Hashable, Sendable, CustomStringConvertible {
    public enum Plane: String, Sendable, CaseIterable {
        case control, data, storage, network, host
    }

    public enum Layer: String, Sendable, CaseIterable {
        case api, store, auth, cluster
        case vmProcess = "vm-process"
        case virtualDisk = "virtual-disk"
        case storageBackend = "storage-backend"
        case physicalDisk = "physical-disk"
        case vnic, bridge
        case physicalNIC = "physical-nic"
        case vlan, firewall, memory, cpu

        /// The plane the layer belongs to.
        public var plane: Plane {
            switch self {
            case .api, .store, .auth, .cluster: .control
            case .vmProcess: .data
            case .virtualDisk, .storageBackend, .physicalDisk: .storage
            case .vnic, .bridge, .physicalNIC, .vlan, .firewall: .network
            case .memory, .cpu: .host
            }
        }
    }

    public var plane: Plane
    public var layer: Layer

    /// A fault at `layer`, in the layer's own plane.
    public init(_ layer: Layer) {
        self.plane = layer.plane
        self.layer = layer
    }

    /// `plane / layer`, as reports print it.
    public var description: String { "\(plane.rawValue) / \(layer.rawValue)" }
}

extension VireoError {
    /// The same error, placed at `layer` (the first placement wins: the raiser knows best).
    public func at(_ layer: Fault.Layer) -> VireoError {
        guard fault == nil else { return self }
        var placed = self
        placed.fault = Fault(layer)
        return placed
    }
}
