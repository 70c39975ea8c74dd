import Foundation
import VireoCore
public import VireoHost

/// A node's host network config with Proxmox's staging: API changes go to `interfaces.new`, reads
/// show it when present, `apply` brings the kernel in line (only the differences) and then moves
/// it over the live file, `revert` drops it.
public final class NodeNetworkConfig: Sendable {
    public let path: String
    public let network: HostNetwork
    let runner: any CommandRunner
    /// Around the interfaces files (Proxmox: `/etc/network/.pve-interfaces.lock`).
    private let locks = NSLock()

    public var stagedPath: String { path + ".new" }

    public init(path: String, network: HostNetwork, runner: any CommandRunner) {
        self.path = path
        self.network = network
        self.runner = runner
    }

    /// The file as the API shows it (staged changes included), and whether there are any.
    public func read() throws -> (file: InterfacesFile, pending: Bool) {
        if let staged = try? String(contentsOfFile: stagedPath, encoding: .utf8) {
            return (try InterfacesFile(parsing: staged), true)
        }
        return (try live(), false)
    }

    /// The applied file (empty when there is none yet).
    public func live() throws -> InterfacesFile {
        try InterfacesFile(parsing: (try? String(contentsOfFile: path, encoding: .utf8)) ?? "")
    }

    /// Changes the staged file (made from the live one when there is none).
    public func modify<T>(_ change: (inout InterfacesFile) throws -> T) throws -> T {
        try locks.withLock {
            var (file, _) = try read()
            let result = try change(&file)
            try Self.writeAtomically(file.text, to: stagedPath)
            return result
        }
    }

    public func revert() throws {
        try locks.withLock {
            if FileManager.default.fileExists(atPath: stagedPath) {
                try FileManager.default.removeItem(atPath: stagedPath)
            }
        }
    }

    /// `diff -u` of the live and the staged file, or nil when nothing is staged.
    public func changes() async -> String? {
        guard FileManager.default.fileExists(atPath: stagedPath) else { return nil }
        return try? await FileDiff.unified(from: path, to: stagedPath, runner: runner)
    }

    /// Applies the staged (or, without one, the live) config to the kernel: every step is logged,
    /// then all run in one batch. A failed step stops the apply, is named, and the staged file stays.
    public func apply(log: @Sendable (String) -> Void) async throws {
        let (target, pending) = try read()
        let previous = try live()
        let desired = Self.desiredLinks(target)
        let steps = try NetworkReconciler.plan(
            desired: desired,
            previous: pending ? Self.desiredLinks(previous) : desired,
            actual: try await network.linksWithAddresses(),
            gateway: try await network.defaultGateway()
        )
        if steps.isEmpty { log("kernel state matches the config: nothing to change") }
        for (index, step) in steps.enumerated() { log("step \(index + 1)/\(steps.count): \(step)") }
        do {
            try await network.run(steps)
        } catch let failure as HostNetwork.BatchFailure {
            let step = steps.indices.contains(failure.step) ? steps[failure.step].description : "?"
            throw VireoError(
                .internalError,
                "network apply failed at step \(failure.step + 1)/\(steps.count) (\(step))\(failure.message) - steps before it were made, the ones after it not; the staged config is kept"
            ).at(.bridge)
        }
        if pending {
            try locks.withLock {
                try Self.writeAtomically(target.text, to: path)
                try? FileManager.default.removeItem(atPath: stagedPath)
            }
        }
    }

    /// What the kernel should have for a file's interfaces. Loopback, DHCP addressing, OVS, VXLAN
    /// and aliases are not managed by Vireo's reconciler.
    public static func desiredLinks(_ file: InterfacesFile) -> [NetworkReconciler.DesiredLink] {
        file.interfaces.compactMap { interface in
            let kind: NetworkReconciler.DesiredLink.Kind
            switch interface.type {
            case .bridge: kind = .bridge(vlanAware: interface.bridgeVLANAware)
            case .bond: kind = .bond(mode: interface.bondMode?.rawValue ?? "balance-rr")
            case .eth: kind = .existing
            case .vlan:
                guard
                    let parent = interface.vlanRawDevice ?? interface.name.split(separator: ".").first.map(String.init),
                    let id = interface.vlanID ?? interface.name.split(separator: ".").last.flatMap({ Int($0) })
                else { return nil }
                kind = .vlan(parent: parent, id: id)
            default: return nil
            }
            var addresses: [String] = []
            if interface.method == .static, let cidr = interface.cidr { addresses.append(cidr) }
            if interface.method6 == .static, let cidr = interface.cidr6 { addresses.append(cidr) }
            return NetworkReconciler.DesiredLink(
                name: interface.name,
                kind: kind,
                ports: interface.bridgePorts ?? interface.slaves ?? [],
                addresses: addresses,
                gateway: interface.gateway,
                mtu: interface.mtu,
                autostart: interface.autostart
            )
        }
    }

    static func writeAtomically(_ text: String, to path: String) throws {
        try TextFile.writeAtomically(text, to: path)
    }
}
