import VireoCore

/// What an options PUT (`/cluster/options`, the firewall's options) asks for: the options to
/// delete and the values to set, each one of the endpoint's settable options, none both.
struct OptionEdits {
    var deletions: [String]
    var values: [String: String]

    /// The options of a PUT endpoint: its schema's parameters but `delete`, `digest` and `captures`.
    static func settable(_ path: String, captures: Set<String> = []) -> Set<String> {
        Set(APISchema.pveEndpoint(.put, path)?.parameters.map(\.name) ?? [])
            .subtracting(["delete", "digest"]).subtracting(captures)
    }

    init(_ parameters: Parameters, settable: Set<String>) throws {
        deletions = parameters.list("delete")
        for key in deletions {
            guard settable.contains(key) else { throw VireoError.parameter("delete", "unknown option '\(key)'") }
            guard !parameters.has(key) else {
                throw VireoError.parameter("delete", "cannot set and delete option '\(key)' at the same time")
            }
        }
        values = parameters.values.filter { settable.contains($0.key) }
    }
}
