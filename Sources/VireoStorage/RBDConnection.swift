/// How `rbd`, `ceph` and QEMU reach the cluster and pool of one `rbd` storage.
///
/// A Proxmox-managed cluster (no `monhost`) is described by `/etc/pve/ceph.conf`; an external one
/// by its monitors plus, when present, `/etc/pve/priv/ceph/<id>.conf` and `<id>.keyring`.
struct RBDConnection: Sendable, Equatable {
    var pool: String
    var namespace: String?
    var configFile: String?
    /// Monitor addresses of an external cluster; empty for the managed one.
    var monitors: [String]
    var keyring: String?
    /// The Ceph user without `client.` (`admin`).
    var user: String

    static let managedConfig = "/etc/pve/ceph.conf"

    static func privateFile(storage: String, extension ext: String) -> String { "/etc/pve/priv/ceph/\(storage).\(ext)" }

    init(pool: String, namespace: String?, configFile: String?, monitors: [String], keyring: String?, user: String) {
        self.pool = pool
        self.namespace = namespace
        self.configFile = configFile
        self.monitors = monitors
        self.keyring = keyring
        self.user = user
    }

    /// The connection of storage `id`, looking up which of its private files exist.
    init(
        storage id: String,
        pool: String,
        namespace: String?,
        monitors: [String],
        user: String,
        fileExists: (String) -> Bool
    ) {
        let keyring = Self.privateFile(storage: id, extension: "keyring")
        let config = Self.privateFile(storage: id, extension: "conf")
        self.init(
            pool: pool,
            namespace: namespace,
            configFile: monitors.isEmpty ? Self.managedConfig : (fileExists(config) ? config : nil),
            monitors: monitors,
            keyring: fileExists(keyring) ? keyring : nil,
            user: user
        )
    }

    /// An external cluster without a keyring is reached without authentication.
    var authSupported: String? { monitors.isEmpty ? nil : (keyring == nil ? "none" : "cephx") }

    /// The options that pick the cluster and identity, for `ceph` and `rbd` alike.
    var clusterArguments: [String] {
        var arguments: [String] = []
        if let configFile { arguments += ["-c", configFile] }
        if !monitors.isEmpty { arguments += ["-m", monitors.joined(separator: ",")] }
        if let authSupported { arguments += ["--auth_supported", authSupported] }
        arguments += ["-n", "client.\(user)"]
        if let keyring { arguments += ["--keyring", keyring] }
        return arguments
    }

    /// `-p <pool> [--namespace <ns>]` and the cluster options, before an `rbd` operation.
    var rbdArguments: [String] {
        ["-p", pool] + (namespace.map { ["--namespace", $0] } ?? []) + clusterArguments
    }

    /// `<pool>[/<namespace>]/<image>`, how `rbd clone` names images.
    func imageSpec(_ image: String) -> String {
        [pool, namespace, image].compactMap { $0 }.joined(separator: "/")
    }

    /// What QEMU's librbd driver opens:
    /// `rbd:<pool>[/<ns>]/<image>[:conf=…][:mon_host=…:auth_supported=…][:id=…:keyring=…]`.
    func qemuPath(image: String) -> String {
        var path = "rbd:\(imageSpec(image))"
        if let configFile { path += ":conf=\(configFile)" }
        if let authSupported {
            // `:` separates QEMU's options, so ports and IPv6 colons are escaped; monitors are `;`-separated.
            let hosts = monitors.map { $0.replacing(":", with: "\\:") }.joined(separator: ";")
            path += ":mon_host=\(hosts):auth_supported=\(authSupported)"
        }
        if let keyring { path += ":id=\(user):keyring=\(keyring)" }
        return path
    }
}
