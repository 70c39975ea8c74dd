import Foundation
import Testing
import VireoCore

@Suite struct FaultTests {
    @Test func everyLayerBelongsToTheSeedsPlane() {
        let expected: [Fault.Plane: Set<Fault.Layer>] = [
            .control: [.api, .store, .auth, .cluster],
            .data: [.vmProcess],
            .storage: [.virtualDisk, .storageBackend, .physicalDisk],
            .network: [.vnic, .bridge, .physicalNIC, .vlan, .firewall],
            .host: [.memory, .cpu],
        ]
        for layer in Fault.Layer.allCases {
            #expect(expected[layer.plane]?.contains(layer) == true, "\(layer)")
        }
        #expect(expected.values.map(\.count).reduce(0, +) == Fault.Layer.allCases.count)
    }

    @Test func anErrorKeepsTheFirstPlacement() {
        let error = VireoError(.unavailable, "storage 'local' is full").at(.storageBackend).at(.vmProcess)
        #expect(error.fault == Fault(.storageBackend))
        #expect(error.fault?.description == "storage / storage-backend")
        #expect(VireoError.notFound("x").fault == nil)
    }

    @Test func anUnplacedErrorIsPlacedByItsCauseThenByItsKind() {
        let cause = VireoError(.unavailable, "config store failure").at(.store)
        #expect(Fault.of(VireoError(.internalError, "internal error", underlying: cause)) == Fault(.store))
        #expect(Fault.of(VireoError(.unauthenticated, "authentication failure")) == Fault(.auth))
        #expect(Fault.of(VireoError(.permissionDenied, "Permission check failed")) == Fault(.auth))
        #expect(Fault.of(VireoError.parameter("vmid", "invalid")) == Fault(.api))
        #expect(Fault.of(CancellationError()) == Fault(.api))
    }

    @Test func aFullFileSystemIsTheBackendsAndAnIOErrorTheDisks() {
        #expect(Fault.of(POSIXError(.ENOSPC)) == Fault(.storageBackend))
        #expect(Fault.of(CocoaError(.fileWriteOutOfSpace)) == Fault(.storageBackend))
        #expect(Fault.of(POSIXError(.EIO)) == Fault(.physicalDisk))
        #expect(Fault.of(POSIXError(.ENOENT)) == Fault(.api))
        let wrapped = VireoError(.internalError, "unable to write", underlying: POSIXError(.EDQUOT))
        #expect(Fault.of(wrapped).description == "storage / storage-backend")
    }
}
