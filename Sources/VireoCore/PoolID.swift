/// A resource pool ID: one to three `/`-separated levels (`dev/team-a/ci`), each `[A-Za-z0-9.\-_]+`.
public struct PoolID: ValidatedIdentifier, Comparable {
    public static let maximumDepth = 3

    /// The levels from the top, e.g. `["dev", "team-a", "ci"]`.
    public let levels: [String]

    public init(validating text: String) throws {
        let levels = text.split(separator: "/", omittingEmptySubsequences: false)
        guard levels.count <= Self.maximumDepth, levels.allSatisfy({ ASCII.all($0, ASCII.isIDCharacter) }) else {
            throw VireoError.patternMismatch(text)
        }
        self.levels = levels.map(String.init)
    }

    private init(levels: [String]) {
        self.levels = levels
    }

    /// The enclosing pool, nil for a top-level pool.
    public var parent: PoolID? {
        levels.count > 1 ? PoolID(levels: Array(levels.dropLast())) : nil
    }

    public var description: String { levels.joined(separator: "/") }
}
