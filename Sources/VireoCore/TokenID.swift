/// An API token ID `user@realm!name`; the token name matches `^[A-Za-z][A-Za-z0-9.\-_]+$`.
public struct TokenID: ValidatedIdentifier, Comparable {
    /// The token's owner.
    public let user: UserID
    public let name: String

    public init(validating text: String) throws {
        guard let bang = text.lastIndex(of: "!"), let user = UserID(String(text[..<bang])) else {
            throw Self.invalid(text)
        }
        let name = String(text[text.index(after: bang)...])
        guard Self.isValidName(name) else { throw Self.invalid(text) }
        self.init(unchecked: user, name: name)
    }

    /// Throws `VireoError` (`.invalidArgument`) for a bad token name.
    public init(user: UserID, name: String) throws {
        guard Self.isValidName(name) else {
            throw VireoError.invalidFormat("value '\(name)' does not look like a valid token name")
        }
        self.init(unchecked: user, name: name)
    }

    private init(unchecked user: UserID, name: String) {
        self.user = user
        self.name = name
    }

    public var description: String { "\(user)!\(name)" }

    static func isValidName(_ name: String) -> Bool {
        guard let first = name.utf8.first, ASCII.isLetter(first), name.utf8.count >= 2 else { return false }
        return ASCII.all(name, ASCII.isIDCharacter)
    }

    private static func invalid(_ text: String) -> VireoError {
        .invalidFormat("value '\(text)' does not look like a valid token ID")
    }
}
