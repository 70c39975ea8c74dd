public import Foundation

/// Where a node keeps its state. Everything lives under the data dir unless overridden, so tests
/// and demos run in a temp dir.
public struct DaemonPaths: Sendable {
    public var dataDir: URL
    public var runDir: URL

    /// The data dir from `--data-dir`, else `VIREO_DATA_DIR`, else `/var/lib/vireo`; the run dir
    /// from `VIREO_RUN_DIR`, else `<data-dir>/run` for a custom data dir, else `/run/vireo`.
    public static func resolve(
        dataDir: String?,
        environment: [String: String] = ProcessInfo.processInfo.environment
    )
        -> DaemonPaths
    {
        let explicit = dataDir ?? environment["VIREO_DATA_DIR"]
        let data = URL(fileURLWithPath: explicit ?? "/var/lib/vireo")
        let run: URL
        if let runDir = environment["VIREO_RUN_DIR"] {
            run = URL(fileURLWithPath: runDir)
        } else {
            run = explicit == nil ? URL(fileURLWithPath: "/run/vireo") : data.appendingPathComponent("run")
        }
        return DaemonPaths(dataDir: data, runDir: run)
    }

    public var storeFile: URL { dataDir.appendingPathComponent("config.db") }
    public var tasksDir: URL { dataDir.appendingPathComponent("tasks") }
    /// The root-only socket the local CLI uses.
    public var socket: URL { runDir.appendingPathComponent("vireod.sock") }
}
