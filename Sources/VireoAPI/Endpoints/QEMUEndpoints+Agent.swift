import Foundation
import QMP
import VireoAccess
import VireoCore
import VireoQEMU

/// `/nodes/{node}/qemu/{vmid}/agent/*`: the QEMU guest agent of a running VM.
extension QEMUEndpoints {
    /// Commands that take no arguments and return the agent's answer as `{result}`.
    static let simpleAgentCommands: [(name: String, method: APIMethod)] = [
        ("fsfreeze-freeze", .post), ("fsfreeze-status", .post), ("fsfreeze-thaw", .post), ("fstrim", .post),
        ("get-fsinfo", .get), ("get-host-name", .get), ("get-memory-block-info", .get), ("get-memory-blocks", .get),
        ("get-osinfo", .get), ("get-time", .get), ("get-timezone", .get), ("get-users", .get), ("get-vcpus", .get),
        ("info", .get), ("network-get-interfaces", .get), ("ping", .post), ("shutdown", .post),
        ("suspend-disk", .post), ("suspend-hybrid", .post), ("suspend-ram", .post),
    ]

    /// The most a file-read returns, and the chunk it reads in.
    static let fileReadLimit = 16 * 1024 * 1024
    static let fileReadChunk = 1024 * 1024

    static func agent(_ request: APIRequest) -> VMGuestAgent { VMGuestAgent(manager: request.services.vms) }

    static func registerAgent(in registry: inout APIRegistry) {
        let base = "/nodes/{node}/qemu/{vmid}/agent"
        registry.register(.get, base, handles: []) { _ in
            let names =
                simpleAgentCommands.map(\.name) + [
                    "exec", "exec-status", "file-read", "file-write", "set-user-password",
                ]
            return .init(.array(names.sorted().map { ["name": .string($0)] }))
        }
        registry.register(.post, base, handles: ["command"]) { request in
            let command = try request.parameters.require("command")
            return try await simpleAgentCall(request, command)
        }
        for (name, method) in simpleAgentCommands {
            registry.register(method, "\(base)/\(name)", handles: []) { request in
                try await simpleAgentCall(request, name)
            }
        }
        registry.register(.post, "\(base)/exec", handles: ["command", "input-data"]) { request in
            let p = request.parameters
            let command = p.list("command")
            let input = p["input-data"]
            guard !command.isEmpty || input != nil else {
                throw VireoError.parameter("command", "command or input-data (or both) required")
            }
            var arguments: [String: QMPValue] = ["capture-output": .bool(true)]
            if let path = command.first {
                arguments["path"] = .string(path)
                arguments["arg"] = .array(command.dropFirst().map { .string($0) })
            }
            if let input { arguments["input-data"] = .string(Data(input.utf8).base64EncodedString()) }
            let result = try await agent(request).call(try p.vmid(), "guest-exec", arguments: arguments)
            guard let pid = result.objectValue?["pid"]?.intValue else {
                throw VireoError.invalid("Agent error: can't execute command (\(command.joined(separator: " ")))")
            }
            return .init(["pid": .int(pid)])
        }
        registry.register(.get, "\(base)/exec-status", handles: ["pid"]) { request in
            let p = request.parameters
            let pid = p.int("pid") ?? 0
            let result = try await agent(request).call(try p.vmid(), "guest-exec-status", arguments: ["pid": .int(pid)])
            guard case .object(let status) = result else {
                throw VireoError.invalid("Agent error: can't get exec status for '\(pid)'")
            }
            var fields: [String: JSON] = [:]
            for (key, value) in status {
                switch key {
                case "out-data", "err-data":
                    let decoded = value.stringValue.flatMap { Data(base64Encoded: $0) } ?? Data()
                    fields[key] = .string(String(decoding: decoded, as: UTF8.self))
                case "exited", "out-truncated", "err-truncated": fields[key] = .flag(value.boolValue ?? false)
                default: fields[key] = json(value)
                }
            }
            return .init(.object(fields))
        }
        registry.register(.get, "\(base)/file-read", handles: ["file", "offset", "count", "decode"]) { request in
            try await fileRead(request)
        }
        registry.register(.post, "\(base)/file-write", handles: ["file", "content", "encode"]) { request in
            let p = request.parameters
            let vmid = try p.vmid()
            let file = try p.require("file")
            let content = try p.require("content")
            // `encode` (default): the content is text, sent base64-encoded; else it is base64 already.
            let encoded: String
            if p.bool("encode", default: true) {
                encoded = Data(content.utf8).base64EncodedString()
            } else {
                guard Data(base64Encoded: content) != nil else {
                    throw VireoError.parameter("content", "not valid base64 (encode=0)")
                }
                encoded = content
            }
            let agent = agent(request)
            let handle = try await openFile(agent, vmid, file, mode: "wb")
            do {
                _ = try await agent.call(
                    vmid,
                    "guest-file-write",
                    arguments: ["handle": .int(handle), "buf-b64": .string(encoded)]
                )
            } catch {
                _ = try? await agent.call(vmid, "guest-file-close", arguments: ["handle": .int(handle)])
                throw error
            }
            _ = try await agent.call(vmid, "guest-file-close", arguments: ["handle": .int(handle)])
            return .null
        }
        registry.register(.post, "\(base)/set-user-password", handles: ["username", "password", "crypted"]) { request in
            let p = request.parameters
            let username = try p.require("username")
            guard !username.contains(where: { $0.isNewline || $0 == ":" }) else {
                throw VireoError.parameter("username", "invalid user name")
            }
            let result = try await agent(request).call(
                try p.vmid(),
                "guest-set-user-password",
                arguments: [
                    "username": .string(username),
                    "password": .string(Data(try p.require("password").utf8).base64EncodedString()),
                    "crypted": .bool(p.bool("crypted", default: false)),
                ]
            )
            return .init(["result": json(result)])
        }
    }

    static func simpleAgentCall(_ request: APIRequest, _ name: String) async throws -> APIResult {
        guard simpleAgentCommands.contains(where: { $0.name == name }) else {
            throw VireoError.parameter("command", "unknown agent command '\(name)'")
        }
        let result = try await agent(request).call(try request.parameters.vmid(), "guest-\(name)")
        return .init(["result": json(result)])
    }

    static func openFile(_ agent: VMGuestAgent, _ vmid: VMID, _ file: String, mode: String) async throws -> Int {
        guard !file.isEmpty, !file.contains("\0") else { throw VireoError.parameter("file", "invalid file name") }
        let handle = try await agent.call(
            vmid,
            "guest-file-open",
            arguments: ["path": .string(file), "mode": .string(mode)]
        )
        guard let number = handle.intValue else { throw VireoError.invalid("Agent error: can't open file") }
        return number
    }

    /// Reads up to `count` bytes (16 MiB at most) from `offset`, in 1 MiB chunks.
    static func fileRead(_ request: APIRequest) async throws -> APIResult {
        let p = request.parameters
        let vmid = try p.vmid()
        let agent = agent(request)
        let limit = min(p.int("count") ?? fileReadLimit, fileReadLimit)
        let handle = try await openFile(agent, vmid, try p.require("file"), mode: "r")
        var content = Data()
        var atEnd = false
        do {
            if let offset = p.int("offset"), offset > 0 {
                _ = try await agent.call(
                    vmid,
                    "guest-file-seek",
                    arguments: ["handle": .int(handle), "offset": .int(offset), "whence": .string("set")]
                )
            }
            while content.count < limit, !atEnd {
                let chunk = try await agent.call(
                    vmid,
                    "guest-file-read",
                    arguments: ["handle": .int(handle), "count": .int(min(fileReadChunk, limit - content.count))]
                )
                guard case .object(let read) = chunk else {
                    throw VireoError.invalid("Agent error: can't read from file")
                }
                content.append(read["buf-b64"]?.stringValue.flatMap { Data(base64Encoded: $0) } ?? Data())
                atEnd = read["eof"]?.boolValue ?? true
            }
        } catch {
            _ = try? await agent.call(vmid, "guest-file-close", arguments: ["handle": .int(handle)])
            throw error
        }
        _ = try await agent.call(vmid, "guest-file-close", arguments: ["handle": .int(handle)])
        var fields: [String: JSON] = [
            "content": .string(
                p.bool("decode", default: true)
                    ? String(decoding: content, as: UTF8.self) : content.base64EncodedString()
            ),
            "bytes-read": .int(content.count),
        ]
        if !atEnd { fields["truncated"] = 1 }
        return .init(.object(fields))
    }

    /// The agent's answer as API JSON.
    static func json(_ value: QMPValue) -> JSON {
        switch value {
        case .null: .null
        case .bool(let flag): .bool(flag)
        case .int(let number): .int(number)
        case .double(let number): .double(number)
        case .string(let text): .string(text)
        case .array(let items): .array(items.map(json))
        case .object(let object): .object(object.mapValues(json))
        }
    }
}
