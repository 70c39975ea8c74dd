import Foundation
import VireoCore

/// Where a node's host networking lives: the host's own network namespace, or (`vireod --netns`)
/// a named one, so tests and demos never touch the machine's real networking.
public struct NetworkNamespace: Sendable, Equatable {
    /// The name under `/run/netns`, or nil for the namespace vireod runs in.
    public let name: String?

    private init(unchecked name: String?) { self.name = name }

    public init(_ name: String?) throws {
        if let name {
            guard !name.isEmpty, name.count <= 64,
                name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }),
                !name.hasPrefix(".")
            else { throw VireoError.invalid("invalid network namespace name '\(name)'") }
        }
        self.name = name
    }

    public static let host = NetworkNamespace(unchecked: nil)

    /// The invocation run inside the namespace (`nsenter --net=/run/netns/<name> -- …`): only the
    /// network namespace changes, so files and mounts look the same to the command.
    public func wrap(_ invocation: Invocation) -> Invocation {
        guard let name else { return invocation }
        var wrapped = invocation
        wrapped.executable = "nsenter"
        wrapped.arguments = ["--net=/run/netns/\(name)", "--", invocation.executable] + invocation.arguments
        return wrapped
    }
}

/// The links of a network namespace as `ip` shows and changes them.
public struct HostNetwork: Sendable {
    public let namespace: NetworkNamespace
    let runner: any CommandRunner

    public init(namespace: NetworkNamespace, runner: any CommandRunner) {
        self.namespace = namespace
        self.runner = runner
    }

    /// One link of `ip -j -d link show`.
    public struct Link: Sendable, Equatable {
        public var name: String
        /// `bridge`, `veth`, `tun`, `vxlan`, … ; nil for a physical NIC.
        public var kind: String?
        public var mtu: Int
        /// The bridge (or bond) it is a port of.
        public var master: String?
        public var isUp: Bool
        /// Global addresses as CIDRs (`192.0.2.5/24`), from `ip addr` output.
        public var addresses: [String] = []
        /// A bridge with VLAN filtering on (a VLAN-aware bridge).
        public var vlanFiltering = false
        /// The link has a carrier (`LOWER_UP`): a cable, or a peer that is up.
        public var hasCarrier = false
        /// The kernel's operational state (`UP`, `DOWN`, `LOWER_LAYER_DOWN`, `UNKNOWN`).
        public var operState: String?
        /// For a VLAN device, its tag.
        public var vlanID: Int?
    }

    /// The link `name`, or nil when it does not exist.
    public func link(_ name: String) async throws -> Link? {
        do {
            let output = try await ip(["-j", "-d", "link", "show", "dev", name])
            return Self.parseLinks(output).first
        } catch CommandError.failed(_, _, let standardError, _) where standardError.contains("does not exist") {
            return nil
        }
    }

    /// Every link of the namespace.
    public func links() async throws -> [Link] { Self.parseLinks(try await ip(["-j", "-d", "link", "show"])) }

    /// Every link with its addresses (`ip -j -d addr show`): what a reconciler compares against.
    public func linksWithAddresses() async throws -> [Link] {
        Self.parseLinks(try await ip(["-j", "-d", "addr", "show"]))
    }

    /// The default route's gateway per family, if any.
    public func defaultGateway(inet6: Bool = false) async throws -> (gateway: String, device: String)? {
        let output = try await ip((inet6 ? ["-6"] : ["-4"]) + ["-j", "route", "show", "default"])
        guard let json = try? JSONDecoder().decode(JSON.self, from: Data(output.utf8)),
            let first = json.arrayValue?.first, let gateway = first["gateway"]?.stringValue
        else { return nil }
        return (gateway, first["dev"]?.stringValue ?? "")
    }

    /// Runs a plan's steps in order through one `ip -batch -`, which stops at the first failing
    /// command. Throws ``BatchFailure`` naming that step (the ones before it were made).
    public func run(_ steps: [NetworkReconciler.Step]) async throws {
        guard !steps.isEmpty else { return }
        let script =
            steps.map { $0.arguments.map(Self.batchQuoted).joined(separator: " ") }.joined(separator: "\n") + "\n"
        let invocation = namespace.wrap(
            Invocation("ip", ["-batch", "-"], standardInput: Array(script.utf8), timeout: .seconds(60))
        )
        let failure: CommandError
        do {
            _ = try await runner.run(invocation)
            return
        } catch {
            failure = error
        }
        guard case .failed(_, _, let standardError, _) = failure else { throw failure }
        throw BatchFailure(
            step: Self.failedLine(standardError).map { $0 - 1 } ?? 0,
            message: CommandError.tail(standardError)
        )
    }

    /// The line `ip -batch` names in "Command failed -:<line>".
    static func failedLine(_ standardError: String) -> Int? {
        guard let marker = standardError.range(of: "Command failed -:") else { return nil }
        return Int(standardError[marker.upperBound...].prefix { $0.isNumber })
    }

    public struct BatchFailure: Error, CustomStringConvertible {
        /// Index of the step that failed.
        public var step: Int
        public var message: String
        public var description: String { message }
    }

    /// Interface names and addresses need no quoting; anything else is double-quoted for `ip -batch`.
    static func batchQuoted(_ word: String) -> String {
        word.allSatisfy { $0.isLetter || $0.isNumber || "-_.:/".contains($0) } ? word : "\"\(word)\""
    }

    /// A persistent tap on `bridge` with the bridge's MTU (or `mtu`), up: what a VM NIC plugs into.
    /// A leftover tap of the same name (a VM that died) is replaced.
    public func createTap(_ name: String, bridge: String, mtu: Int?) async throws {
        if try await link(name) != nil { try await deleteLink(name) }
        _ = try await ip(["tuntap", "add", "dev", name, "mode", "tap"])
        do {
            try await attach(name, to: bridge, mtu: mtu)
        } catch {
            try? await deleteLink(name)
            throw error
        }
    }

    /// Makes `name` a port of `bridge` (moving it from any other), with the MTU given or the bridge's.
    public func attach(_ name: String, to bridge: String, mtu: Int?) async throws {
        guard let bridgeLink = try await link(bridge), bridgeLink.kind == "bridge" else {
            throw VireoError.invalid("bridge '\(bridge)' does not exist")
        }
        _ = try await ip(["link", "set", "dev", name, "mtu", String(mtu ?? bridgeLink.mtu)])
        _ = try await ip(["link", "set", "dev", name, "master", bridge])
        _ = try await ip(["link", "set", "dev", name, "up"])
    }

    public func deleteLink(_ name: String) async throws { _ = try await ip(["link", "del", "dev", name]) }

    @discardableResult
    func ip(_ arguments: [String]) async throws -> String {
        try await runner.run(namespace.wrap(Invocation("ip", arguments, timeout: .seconds(10)))).standardOutput
    }

    static func parseLinks(_ text: String) -> [Link] {
        guard let json = try? JSONDecoder().decode(JSON.self, from: Data(text.utf8)), let items = json.arrayValue
        else { return [] }
        return items.compactMap { item in
            guard let name = item["ifname"]?.stringValue else { return nil }
            let flags = item["flags"]?.arrayValue?.compactMap(\.stringValue) ?? []
            return Link(
                name: name,
                kind: item["linkinfo"]?["info_kind"]?.stringValue,
                mtu: item["mtu"]?.intValue ?? 1500,
                master: item["master"]?.stringValue,
                isUp: flags.contains("UP"),
                addresses: (item["addr_info"]?.arrayValue ?? []).compactMap { address in
                    guard address["scope"]?.stringValue == "global", let local = address["local"]?.stringValue,
                        let length = address["prefixlen"]?.intValue
                    else { return nil }
                    return "\(local)/\(length)"
                },
                vlanFiltering: item["linkinfo"]?["info_data"]?["vlan_filtering"]?.intValue == 1,
                hasCarrier: flags.contains("LOWER_UP"),
                operState: item["operstate"]?.stringValue,
                vlanID: item["linkinfo"]?["info_kind"]?.stringValue == "vlan"
                    ? item["linkinfo"]?["info_data"]?["id"]?.intValue : nil
            )
        }
    }
}
