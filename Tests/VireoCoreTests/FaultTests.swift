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
}
