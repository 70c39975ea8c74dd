import Testing
import VireoCore
import VireoTestSupport

@testable import VireoNetwork

/// Every field Vireo writes into `/etc/network/interfaces`, set to every hostile value: the write is
/// refused, or the file reads back with the same single stanza holding that value.
@Suite struct InterfacesHostileValueTests {
    typealias Field = (
        name: String, set: @Sendable (inout NetworkInterface, String) -> Void,
        get: @Sendable (NetworkInterface) -> String?
    )

    static let fields: [Field] = [
        ("comments", { $0.comments = $1 }, { $0.comments }),
        ("bridge_ports", { $0.bridgePorts = [$1] }, { $0.bridgePorts?.first }),
        ("slaves", { $0.slaves = [$1] }, { $0.slaves?.first }),
        ("bridge-vids", { $0.bridgeVIDs = $1 }, { $0.bridgeVIDs }),
        ("options", { $0.options = ["pre-up " + $1] }, { $0.options.first.map { String($0.dropFirst(7)) } }),
    ]

    @Test func everyFieldRefusesOrRoundTrips() throws {
        var injected: [String] = []
        for field in Self.fields {
            for value in HostileStrings.all() {
                var file = try InterfacesFile(parsing: "auto lo\niface lo inet loopback\n")
                var bridge = NetworkInterface(name: "vmbr0")
                bridge.families = [.inet]
                bridge.bridgePorts = []
                field.set(&bridge, value)
                guard (try? file.set(bridge)) != nil else { continue }
                let reread = try? InterfacesFile(parsing: file.text)
                let names = reread?.interfaces.map(\.name) ?? []
                let kept = reread?["vmbr0"].map(field.get) ?? nil
                let expected = field.name == "comments" ? value.trimmingSuffix() : value
                if names != ["lo", "vmbr0"] || kept?.trimmingSuffix() != expected.trimmingSuffix() {
                    injected.append("\(field.name) = \(value.debugDescription): \(names) \(String(describing: kept))")
                }
            }
        }
        #expect(injected.isEmpty, "written and read back differently:\n\(injected.joined(separator: "\n"))")
    }

    @Test(arguments: ["eth1", "eno1", "enp3s0f1", "bond0.100", "eth0:1", "VMBR0"])
    func portNamesFollowProxmoxsInterfaceFormat(name: String) {
        #expect(NetworkInterface.isInterfaceName(name))
    }

    @Test(arguments: ["eth1 eth2", "a", "-x", "../x", "eth1;reboot", "eth1\n", "x" + String(repeating: "y", count: 21)])
    func otherWordsAreNoInterfaceNames(name: String) {
        #expect(!NetworkInterface.isInterfaceName(name))
    }
}

extension String {
    fileprivate func trimmingSuffix() -> String {
        var text = self
        while let last = text.last, last == " " || last == "\t" { text.removeLast() }
        return text
    }
}
