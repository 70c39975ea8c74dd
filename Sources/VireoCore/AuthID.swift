/// Who authenticated: a user (`name@realm`) or an API token (`name@realm!token`).
public enum AuthID: ValidatedIdentifier, Comparable {
    case user(UserID)
    case token(TokenID)

    public init(validating text: String) throws {
        // The two forms cannot overlap: a realm never contains `!`, a token name never contains `@`.
        if let user = UserID(text) {
            self = .user(user)
        } else if let token = TokenID(text) {
            self = .token(token)
        } else {
            throw VireoError.invalidFormat("value '\(text)' does not look like a valid user or token ID")
        }
    }

    /// The user itself, or the token's owner.
    public var user: UserID {
        switch self {
        case .user(let user): user
        case .token(let token): token.user
        }
    }

    public var token: TokenID? {
        if case .token(let token) = self { token } else { nil }
    }

    public var isToken: Bool { token != nil }

    public var description: String {
        switch self {
        case .user(let user): user.description
        case .token(let token): token.description
        }
    }
}
