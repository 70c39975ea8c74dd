/// A user ID `name@realm`: the name has no whitespace, `:` or `/`; 3 to 64 characters in all.
public struct UserID: ValidatedIdentifier, Comparable {
    public static let lengthRange = 3...64
    public static let root = UserID(unchecked: "root", realm: .pam)

    /// The part before the last `@`; it may itself contain `@`.
    public let name: String
    public let realm: Realm

    public init(validating text: String) throws {
        guard let at = text.lastIndex(of: "@") else { throw Self.invalid(text) }
        guard let realm = Realm(String(text[text.index(after: at)...])) else { throw Self.invalid(text) }
        try self.init(name: String(text[..<at]), realm: realm)
    }

    /// Throws `VireoError` (`.invalidArgument`) for a bad name or a total length outside 3...64.
    public init(name: String, realm: Realm) throws {
        let text = "\(name)@\(realm)"
        guard !name.isEmpty, Self.lengthRange.contains(text.unicodeScalars.count),
            !name.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0 == ":" || $0 == "/" })
        else { throw Self.invalid(text) }
        self.init(unchecked: name, realm: realm)
    }

    private init(unchecked name: String, realm: Realm) {
        self.name = name
        self.realm = realm
    }

    public var description: String { "\(name)@\(realm)" }

    private static func invalid(_ text: String) -> VireoError {
        .invalidFormat("value '\(text)' does not look like a valid user name")
    }
}
