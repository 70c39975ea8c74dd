/// An authentication realm ID such as `pam` or `pve`: `^[A-Za-z][A-Za-z0-9.\-_]+$`, at most 32 characters.
public struct Realm: ValidatedIdentifier, Comparable {
    public static let maximumLength = 32
    /// Linux PAM users of the node.
    public static let pam = Realm(unchecked: "pam")
    /// The built-in Proxmox VE authentication server.
    public static let pve = Realm(unchecked: "pve")

    public let description: String

    public init(validating text: String) throws {
        guard Self.isValid(text) else {
            if text.utf8.count > Self.maximumLength {
                throw VireoError.invalidFormat("value '\(text)' may only be \(Self.maximumLength) characters long")
            }
            throw VireoError.patternMismatch(text)
        }
        description = text
    }

    private init(unchecked text: String) {
        description = text
    }

    static func isValid(_ text: some StringProtocol) -> Bool {
        guard let first = text.utf8.first, ASCII.isLetter(first) else { return false }
        return (2...maximumLength).contains(text.utf8.count) && ASCII.all(text, ASCII.isIDCharacter)
    }
}
