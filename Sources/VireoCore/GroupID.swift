/// A user group ID: `^[A-Za-z0-9.\-_]+$`.
public struct GroupID: ValidatedIdentifier, Comparable {
    public let description: String

    public init(validating text: String) throws {
        guard ASCII.all(text, ASCII.isIDCharacter) else { throw VireoError.patternMismatch(text) }
        description = text
    }
}
