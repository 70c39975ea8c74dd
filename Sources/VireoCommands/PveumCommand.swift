import ArgumentParser
import Foundation
import VireoClient
import VireoCore

/// `vireo pveum` (also `pveum`): users, groups, roles, ACLs, tokens, pools, realms with Proxmox's verbs.
struct PveumCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pveum",
        abstract: "User management: user|group|role|acl|pool|realm|passwd ... (Proxmox's pveum verbs)."
    )

    @Argument(parsing: .captureForPassthrough)
    var arguments: [String] = []

    /// A resolved call: method, path, parameters, and which positional fills which parameter.
    struct Call {
        var method: APIClient.Method
        var path: String
        var positionals: [String]  // parameter names for the positionals after the verb
    }

    /// Proxmox's aliases (`useradd`) → the two-word form.
    static let aliases: [String: [String]] = [
        "useradd": ["user", "add"], "usermod": ["user", "modify"], "userdel": ["user", "delete"],
        "groupadd": ["group", "add"], "groupmod": ["group", "modify"], "groupdel": ["group", "delete"],
        "roleadd": ["role", "add"], "rolemod": ["role", "modify"], "roledel": ["role", "delete"],
        "aclmod": ["acl", "modify"], "acldel": ["acl", "delete"],
    ]

    func run() async throws {
        var list = OptionList(arguments)
        let format = try outputFormat(list.take("output-format"))
        var words = list.positionals
        if let first = words.first, let expanded = Self.aliases[first] { words = expanded + words.dropFirst() }
        guard let (call, rest) = Self.resolve(words) else {
            throw ValidationError(
                "usage: vireo pveum user|group|role|acl|pool|realm add|modify|delete|list ...; user token add|modify|remove|list; passwd USERID"
            )
        }
        guard rest.count <= call.positionals.count else {
            throw ValidationError(
                "too many arguments: \(rest.dropFirst(call.positionals.count).joined(separator: " "))"
            )
        }
        guard rest.count == call.positionals.count else {
            let missing = call.positionals.dropFirst(rest.count).map { "<\($0)>" }.joined(separator: " ")
            throw ValidationError("missing argument: \(missing)")
        }
        var path = call.path
        var parameters = list.options
        for (name, value) in zip(call.positionals, rest) {
            let placeholder = "{\(name)}"
            if path.contains(placeholder) {
                path = path.replacingOccurrences(of: placeholder, with: value)
            } else {
                parameters.insert((name, value), at: 0)
            }
        }
        if words.count >= 2, words[0] == "acl", words[1] == "delete" { parameters.append(("delete", "1")) }
        if words.first == "passwd", !parameters.contains(where: { $0.0 == "password" }) {
            parameters.append(("password", try Self.readPassword()))
        }
        let api = try LocalAPI.connect()
        let data = try await api.call(call.method, path, parameters)
        try await api.show(data, as: format)
    }

    static func resolve(_ words: [String]) -> (Call, [String])? {
        func crud(_ base: String, _ id: String) -> [String: Call] {
            [
                "add": Call(method: .post, path: base, positionals: [id]),
                "modify": Call(method: .put, path: "\(base)/{\(id)}", positionals: [id]),
                "delete": Call(method: .delete, path: "\(base)/{\(id)}", positionals: [id]),
                "list": Call(method: .get, path: base, positionals: []),
            ]
        }
        var table: [String: [String: Call]] = [
            "user": crud("/access/users", "userid"),
            "group": crud("/access/groups", "groupid"),
            "role": crud("/access/roles", "roleid"),
            "pool": crud("/pools", "poolid"),
            "realm": [
                "list": Call(method: .get, path: "/access/domains", positionals: []),
                "modify": Call(method: .put, path: "/access/domains/{realm}", positionals: ["realm"]),
            ],
            "acl": [
                "modify": Call(method: .put, path: "/access/acl", positionals: ["path"]),
                "delete": Call(method: .put, path: "/access/acl", positionals: ["path"]),
                "list": Call(method: .get, path: "/access/acl", positionals: []),
            ],
        ]
        table["user"]?["permissions"] = Call(method: .get, path: "/access/permissions", positionals: ["userid"])
        table["pool"]?["modify"] = Call(method: .put, path: "/pools/{poolid}", positionals: ["poolid"])
        let tokens: [String: Call] = [
            "add": Call(
                method: .post,
                path: "/access/users/{userid}/token/{tokenid}",
                positionals: ["userid", "tokenid"]
            ),
            "modify": Call(
                method: .put,
                path: "/access/users/{userid}/token/{tokenid}",
                positionals: ["userid", "tokenid"]
            ),
            "remove": Call(
                method: .delete,
                path: "/access/users/{userid}/token/{tokenid}",
                positionals: ["userid", "tokenid"]
            ),
            "list": Call(method: .get, path: "/access/users/{userid}/token", positionals: ["userid"]),
        ]
        if words.first == "passwd" {
            return (Call(method: .put, path: "/access/password", positionals: ["userid"]), Array(words.dropFirst()))
        }
        if words.count >= 3, words[0] == "user", words[1] == "token", let call = tokens[words[2]] {
            return (call, Array(words.dropFirst(3)))
        }
        guard words.count >= 2, var call = table[words[0]]?[words[1]] else { return nil }
        if words[0] == "acl", words[1] == "delete" { call.positionals = ["path"] }
        return (call, Array(words.dropFirst(2)))
    }

    /// The new password: prompted twice on a terminal, else one line from stdin.
    static func readPassword() throws -> String {
        if isatty(0) == 1 {
            guard let first = getpass("Enter new password: ").map({ String(cString: $0) }),
                let second = getpass("Retype new password: ").map({ String(cString: $0) }), first == second
            else { throw CLIError("passwords do not match") }
            return first
        }
        guard let line = readLine(strippingNewline: true), !line.isEmpty else { throw CLIError("no password given") }
        return line
    }
}
