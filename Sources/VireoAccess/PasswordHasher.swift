import CSystemAuth
import Foundation
import Synchronization
import VireoCore

/// Hashes and checks passwords with the system's `crypt(3)` (libxcrypt).
///
/// New hashes are yescrypt (`$y$`), a slow, memory-hard KDF that Proxmox's `shadow.cfg` also
/// accepts; checking accepts every scheme crypt knows (`$5$`, `$6$`, `$y$`, …).
public enum PasswordHasher {
    public static func hash(_ password: String) throws -> String {
        var setting = [CChar](repeating: 0, count: 128)
        guard vireo_crypt_gensalt("$y$", 0, &setting, UInt(setting.count)) == 0 else {
            throw VireoError(.internalError, "cannot generate a password salt")
        }
        return try crypt(password, setting: text(of: setting))
    }

    /// A SHA-256 crypt hash (`$5$`), as Proxmox stores a cloud-init password: every guest's
    /// crypt understands it.
    public static func sha256Crypt(_ password: String) throws -> String {
        var setting = [CChar](repeating: 0, count: 128)
        guard vireo_crypt_gensalt("$5$", 0, &setting, UInt(setting.count)) == 0 else {
            throw VireoError(.internalError, "cannot generate a password salt")
        }
        return try crypt(password, setting: text(of: setting))
    }

    /// Whether `text` already is a crypt hash (`$1$`, `$5$`, `$6$`, `$2a$`, `$2y$`, `$y$`).
    public static func looksHashed(_ text: String) -> Bool {
        text.range(of: #"^\$(1|5|6|2a|2y|y)\$.+\$.+"#, options: .regularExpression) != nil
    }

    public static func verify(_ password: String, hash: String) -> Bool {
        guard hash.hasPrefix("$"), let computed = try? crypt(password, setting: hash) else { return false }
        let a = Array(computed.utf8)
        let b = Array(hash.utf8)
        guard a.count == b.count else { return false }
        return zip(a, b).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }

    private static func crypt(_ password: String, setting: String) throws -> String {
        var out = [CChar](repeating: 0, count: 512)
        guard vireo_crypt(password, setting, &out, UInt(out.count)) == 0 else {
            throw VireoError(.internalError, "password hashing failed")
        }
        return text(of: out)
    }

    /// The NUL-terminated text in a C buffer.
    private static func text(of buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// Checks Linux accounts through PAM (the `pam` realm).
public enum PAMAuthenticator {
    /// The PAM service name; on Debian an unconfigured service falls back to `other`, i.e. common-auth.
    /// vireod's `--pam-service` changes it (tests give root@pam a password of their own this way).
    public static var service: String {
        get { configuredService.withLock { $0 } }
        set { configuredService.withLock { $0 = newValue } }
    }
    private static let configuredService = Mutex("vireo")

    public static func authenticate(user: String, password: String) -> Bool {
        vireo_pam_authenticate(service, user, password) == 0
    }
}
