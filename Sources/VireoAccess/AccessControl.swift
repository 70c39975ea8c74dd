import Foundation
import Synchronization
public import VireoCore
public import VireoStore

/// Users, realms, tokens and tickets over the config store: authentication, and every change to
/// `user.cfg`, `domains.cfg`, `priv/shadow.cfg` and `priv/token.cfg`.
///
/// Reads come from a cached ``AccessSnapshot`` that is rebuilt after a relevant store change, so a
/// permission check costs no I/O.
public final class AccessControl: Sendable {
    public static let userConfigPath = "user.cfg"
    public static let domainsPath = "domains.cfg"
    public static let shadowPath = "priv/shadow.cfg"
    public static let tokenSecretsPath = "priv/token.cfg"

    public let store: any ConfigStore
    public let tickets: TicketAuthority
    /// Refused credentials of the last minutes, with why (for the diagnosis).
    public let authFailures = AuthFailureLog()
    private let locks: StoreLocks
    /// The snapshot and the generation it was built for; every invalidation starts a generation,
    /// so a snapshot built from files read before a change is never cached after it.
    private let cache = Mutex<(generation: Int, snapshot: AccessSnapshot?)>((0, nil))
    private let passwordCheck: @Sendable (_ realmType: String, _ name: String, _ password: String) async -> Bool

    public init(store: any ConfigStore, tickets: TicketAuthority) {
        self.store = store
        locks = StoreLocks(store: store)
        self.tickets = tickets
        passwordCheck = { type, name, password in
            guard type == "pam" else { return false }
            return await Self.offloaded { PAMAuthenticator.authenticate(user: name, password: password) }
        }
    }

    /// Creates the files a fresh node needs: root@pam in `user.cfg` and the `pam`/`pve` realms.
    public func bootstrap() async throws {
        _ = await Self.offloaded { Self.dummyHash }  // made now, not during the first failed login
        try await store.update(Self.userConfigPath) { existing in
            guard existing == nil else { return nil }
            var config = UserConfig()
            var root = UserConfig.User(userid: "root@pam")
            root.email = "root@localhost"
            config.users[root.userid] = root
            return try config.serialized()
        }
        try await store.update(Self.domainsPath) { existing in
            guard existing == nil else { return nil }
            let pam = try SectionConfig.Section(
                type: "pam",
                id: "pam",
                options: [.init("comment", "Linux PAM standard authentication")]
            )
            let pve = try SectionConfig.Section(
                type: "pve",
                id: "pve",
                options: [.init("comment", "Vireo authentication server")]
            )
            return try SectionConfig(sections: [pam, pve]).description
        }
        invalidate()
    }

    // MARK: - Snapshot

    public func snapshot() async throws -> AccessSnapshot {
        let (generation, cached) = cache.withLock { $0 }
        if let cached { return cached }
        let userText = try await store.read(Self.userConfigPath)?.content ?? ""
        let domainsText = try await store.read(Self.domainsPath)?.content ?? ""
        let tokenText = try await store.read(Self.tokenSecretsPath)?.content ?? ""
        let snapshot = AccessSnapshot(
            config: UserConfig(parsing: userText),
            domains: (try? SectionConfig(parsing: domainsText)) ?? SectionConfig(),
            tokenSecretHashes: Self.parseTokenSecrets(tokenText)
        )
        cache.withLock { if $0.generation == generation { $0.snapshot = snapshot } }
        return snapshot
    }

    /// Drops the cached snapshot; the next read rebuilds it.
    public func invalidate() { cache.withLock { $0 = ($0.generation + 1, nil) } }

    /// Follows the store's change feed and drops the cached snapshot when an access file changes
    /// (any writer: another API request, the CLI, a cluster peer) or when changes were lost, so a
    /// revoked permission is never served from the cache. Runs until the task is cancelled.
    public func followChanges() async {
        let relevant: Set<String> = [Self.userConfigPath, Self.domainsPath, Self.tokenSecretsPath]
        for await event in store.changes() {
            switch event {
            case .changed(let change) where relevant.contains(change.path): invalidate()
            case .lost: invalidate()
            case .changed: continue
            }
        }
    }

    // MARK: - Authentication

    /// Checks a login; returns the canonical user ID.
    /// - Throws: `.unauthenticated` ("authentication failure") for any cause, as Proxmox does.
    public func authenticate(username: String, password: String) async throws -> String {
        let failure = VireoError(.unauthenticated, "authentication failure")
        // Failing before the password check still pays for one hash: a wrong password for an existing
        // user and an unknown user take the same time, so logins cannot probe for user names.
        let unknown = { () async -> VireoError in
            _ = await Self.offloaded { PasswordHasher.verify(password, hash: Self.dummyHash) }
            return failure
        }
        let snapshot = try await snapshot()
        let record = { [authFailures] (reason: AuthFailureLog.Reason) in authFailures.record(reason, user: username) }
        guard let at = username.lastIndex(of: "@") else {
            record(.unknownUser)
            throw await unknown()
        }
        let name = String(username[..<at])
        let realm = String(username[username.index(after: at)...])
        guard let user = snapshot.config.users[username] else {
            record(snapshot.domains[realm] == nil ? .unknownRealm : .unknownUser)
            throw await unknown()
        }
        guard snapshot.isActive(user) else {
            record(.disabledUser)
            throw await unknown()
        }
        // A valid ticket of the same user renews; a root@pam ticket may mint one for anyone.
        if password.hasPrefix("PVE:"), let owner = try? tickets.verifyTicket(password) {
            guard owner == username || owner == "root@pam" else { throw failure }
            return username
        }
        guard let realmType = snapshot.domains[realm]?.type else {
            record(.unknownRealm)
            throw await unknown()
        }
        switch realmType {
        case "pve":
            let shadow = try await store.read(Self.shadowPath)?.content ?? ""
            guard let hash = Self.shadowHash(in: shadow, for: name) else {
                record(.badPassword)
                throw await unknown()
            }
            guard await Self.offloaded({ PasswordHasher.verify(password, hash: hash) }) else {
                record(.badPassword)
                throw failure
            }
        default:
            guard await passwordCheck(realmType, name, password) else {
                record(.badPassword)
                throw failure
            }
        }
        return username
    }

    /// A hash of a random password, verified against when a login fails before its real check.
    static let dummyHash = (try? PasswordHasher.hash(UUID().uuidString)) ?? "$y$j9T$invalid"

    /// The identity behind a ticket; the user must still exist, be enabled and unexpired.
    public func identity(ticket: String) async throws -> AuthIdentity {
        let userid: String
        do {
            userid = try tickets.verifyTicket(ticket)
        } catch let error as VireoError {
            let claimed = ticket.split(separator: ":", maxSplits: 2).dropFirst().first.map(String.init) ?? "?"
            switch error.underlying as? TicketRejection {
            case .expired(let age)?: authFailures.record(.expiredTicket, user: claimed, seconds: age)
            case .future(let ahead)?: authFailures.record(.futureTicket, user: claimed, seconds: ahead)
            case .badSignature?: authFailures.record(.badSignature, user: claimed)
            default: authFailures.record(.malformedTicket, user: claimed)
            }
            throw error
        }
        let snapshot = try await snapshot()
        guard let user = snapshot.config.users[userid], snapshot.isActive(user) else {
            authFailures.record(snapshot.config.users[userid] == nil ? .unknownUser : .disabledUser, user: userid)
            throw VireoError(.unauthenticated, "authentication failure")
        }
        return AuthIdentity(authID: userid, viaTicket: true)
    }

    /// The identity behind `Authorization: PVEAPIToken=<tokenid>=<secret>`.
    public func identity(tokenID: String, secret: String) async throws -> AuthIdentity {
        let failure = VireoError(.unauthenticated, "authentication failure")
        let snapshot = try await snapshot()
        let (userid, tokenName) = Permissions.split(tokenID)
        guard let tokenName, let user = snapshot.config.users[userid], let token = user.tokens[tokenName],
            let expected = snapshot.tokenSecretHashes[tokenID],
            Self.constantTimeEqual(expected, ConfigDigest.sha256Hex(Array(secret.utf8)))
        else {
            authFailures.record(.badToken, user: tokenID)
            throw failure
        }
        guard snapshot.isActive(user) else {
            authFailures.record(.disabledUser, user: tokenID)
            throw failure
        }
        guard token.expire == 0 || token.expire > TicketAuthority.now() else {
            authFailures.record(.expiredToken, user: tokenID)
            throw failure
        }
        return AuthIdentity(authID: tokenID, viaTicket: false)
    }

    // MARK: - Changes

    /// Read-modify-write of `user.cfg` under the access lock; `digest` guards against lost updates.
    @discardableResult
    public func modifyUsers<T: Sendable>(
        digest: String? = nil,
        _ change: @Sendable (inout UserConfig) throws -> T
    ) async throws -> T {
        try await modify(
            Self.userConfigPath,
            digest: digest,
            parse: UserConfig.init(parsing:),
            print: { try $0.serialized() },
            change
        )
    }

    /// Read-modify-write of `domains.cfg`, checking `digest` against the file as read.
    @discardableResult
    public func modifyDomains<T: Sendable>(
        digest: String? = nil,
        _ change: @Sendable (inout SectionConfig) throws -> T
    ) async throws -> T {
        try await modify(
            Self.domainsPath,
            digest: digest,
            parse: SectionConfig.init(parsing:),
            print: \.description,
            change
        )
    }

    /// Parses a file, applies `change` and writes it back with compare-and-swap, serialised per file.
    private func modify<Model, T: Sendable>(
        _ path: String,
        digest: String?,
        parse: (String) throws -> Model,
        print: (Model) throws -> String,
        _ change: (inout Model) throws -> T
    ) async throws -> T {
        try await locks.withLock(path) {
            let file = try await store.read(path)
            if let digest, !digest.isEmpty, (file?.digest ?? "") != digest.lowercased() {
                throw VireoError.modifiedConfiguration
            }
            var model = try parse(file?.content ?? "")
            let result = try change(&model)
            let condition: WriteCondition = file.map { .version($0.version) } ?? .absent
            try await store.write(path, content: try print(model), condition: condition)
            invalidate()
            return result
        }
    }

    /// Sets a `pve` realm password (hashed with yescrypt into `priv/shadow.cfg`).
    public func setPVEPassword(userid: String, password: String) async throws {
        guard let at = userid.lastIndex(of: "@") else { throw VireoError.invalid("invalid user ID '\(userid)'") }
        let name = String(userid[..<at])
        let hash = try await Self.offloadedThrowing { try PasswordHasher.hash(password) }
        try await locks.withLock("shadow.cfg") {
            try await store.update(Self.shadowPath) { text in
                var lines = (text ?? "").split(separator: "\n").map(String.init).filter { !$0.hasPrefix(name + ":") }
                lines.append("\(name):\(hash):")
                return lines.sorted().joined(separator: "\n") + "\n"
            }
        }
    }

    /// Removes a `pve` realm password entry.
    public func removePVEPassword(userid: String) async throws {
        guard let at = userid.lastIndex(of: "@") else { return }
        let name = String(userid[..<at])
        try await locks.withLock("shadow.cfg") {
            try await store.update(Self.shadowPath) { text in
                guard let text else { return nil }
                let lines = text.split(separator: "\n").map(String.init).filter { !$0.hasPrefix(name + ":") }
                return lines.isEmpty ? "" : lines.joined(separator: "\n") + "\n"
            }
        }
    }

    /// Stores the hash of a new token secret and returns the secret (shown to the caller once).
    public func storeTokenSecret(tokenID: String) async throws -> String {
        let secret = UUID().uuidString.lowercased()
        try await setTokenSecretLine(tokenID: tokenID, hash: ConfigDigest.sha256Hex(Array(secret.utf8)))
        return secret
    }

    public func removeTokenSecret(tokenID: String) async throws {
        try await setTokenSecretLine(tokenID: tokenID, hash: nil)
    }

    private func setTokenSecretLine(tokenID: String, hash: String?) async throws {
        try await locks.withLock("token.cfg") {
            try await store.update(Self.tokenSecretsPath) { text in
                var lines = (text ?? "").split(separator: "\n").map(String.init).filter { !$0.hasPrefix(tokenID + " ") }
                if let hash { lines.append("\(tokenID) \(hash)") }
                return lines.sorted().joined(separator: "\n") + (lines.isEmpty ? "" : "\n")
            }
            invalidate()
        }
    }

    // MARK: - Helpers

    static func parseTokenSecrets(_ text: String) -> [String: String] {
        var result: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 1)
            if parts.count == 2 { result[String(parts[0])] = String(parts[1]) }
        }
        return result
    }

    static func shadowHash(in text: String, for name: String) -> String? {
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: ":", omittingEmptySubsequences: false)
            if fields.count >= 2, fields[0] == name { return String(fields[1]) }
        }
        return nil
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8)
        let y = Array(b.utf8)
        guard x.count == y.count else { return false }
        return zip(x, y).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }

    /// Runs slow blocking work (KDF, PAM) off the cooperative thread pool.
    /// Password hashing and PAM block for a while: they run on the blocking pool.
    static func offloaded<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await BlockingPool.shared.run(work)
    }

    static func offloadedThrowing<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await BlockingPool.shared.run(work)
    }
}

/// An immutable view of the access configuration at one moment.
public struct AccessSnapshot: Sendable {
    public let config: UserConfig
    public let domains: SectionConfig
    let tokenSecretHashes: [String: String]
    public let permissions: Permissions
    public let evaluator: PermissionEvaluator

    init(config: UserConfig, domains: SectionConfig, tokenSecretHashes: [String: String]) {
        self.config = config
        self.domains = domains
        self.tokenSecretHashes = tokenSecretHashes
        permissions = Permissions(config: config)
        evaluator = PermissionEvaluator(permissions: permissions)
    }

    /// Enabled and not expired.
    public func isActive(_ user: UserConfig.User) -> Bool {
        user.enable && (user.expire == 0 || user.expire > TicketAuthority.now())
    }
}
