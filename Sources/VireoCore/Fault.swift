import Foundation

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

    /// `{"plane": …, "layer": …}`, as API bodies carry it.
    public var json: JSON { .object(["plane": .string(plane.rawValue), "layer": .string(layer.rawValue)]) }
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

/// An error that can say where it happened. Module-specific error types adopt it, so a failure
/// that crosses module boundaries unwrapped still names its layer.
public protocol FaultLocating: Error {
    var fault: Fault? { get }
}

extension VireoError: FaultLocating {}

extension Fault {
    /// Where `error` happened: its own placement, else its cause's, else where an unplaced error
    /// of its kind belongs (a refused credential at auth; anything else at the API that answered).
    public static func of(_ error: any Error) -> Fault {
        if let located = error as? any FaultLocating, let fault = located.fault { return fault }
        if let layer = layer(ofErrno: error) { return Fault(layer) }
        guard let error = error as? VireoError else { return Fault(.api) }
        if let underlying = error.underlying, case let cause = of(underlying), cause.layer != .api { return cause }
        switch error.code {
        case .unauthenticated, .permissionDenied: return Fault(.auth)
        default: return Fault(.api)
        }
    }
}

extension Fault {
    /// A system call's failure that names its layer by its errno: a full or over-quota file system is
    /// the storage backend's, an I/O error the physical disk's.
    static func layer(ofErrno error: any Error) -> Layer? {
        var posix = error as? POSIXError
        if let cocoa = error as? CocoaError {
            if cocoa.code == .fileWriteOutOfSpace { return .storageBackend }
            posix = cocoa.underlying as? POSIXError
        }
        switch posix?.code {
        case .ENOSPC?, .EDQUOT?: return .storageBackend
        case .EIO?: return .physicalDisk
        default: return nil
        }
    }
}
