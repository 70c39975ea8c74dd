import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import Synchronization
public import VireoCore

/// Where an etcd member listens and how to prove who we are to it.
public struct EtcdConnection: Sendable, Equatable {
    /// Client URLs (`https://10.0.0.1:2379`); requests go to the first that answers.
    public var endpoints: [String]
    /// Cluster CA, client certificate and key (PEM files); nil for plain HTTP (tests of the
    /// store alone, never a cluster).
    public var tls: TLSFiles?

    public struct TLSFiles: Sendable, Equatable {
        public var caFile: String
        public var certificateFile: String
        public var keyFile: String

        public init(caFile: String, certificateFile: String, keyFile: String) {
            self.caFile = caFile
            self.certificateFile = certificateFile
            self.keyFile = keyFile
        }
    }

    public init(endpoints: [String], tls: TLSFiles?) {
        self.endpoints = endpoints
        self.tls = tls
    }
}

/// What went wrong talking to etcd: no answer at all (member down, partitioned, no quorum and
/// the deadline passed), or an answer that refused the request.
public enum EtcdError: Error, Sendable, CustomStringConvertible {
    case unreachable(String)
    case refused(status: Int, code: Int, message: String)
    case malformed(String)

    public var description: String {
        switch self {
        case .unreachable(let reason): "etcd unreachable: \(reason)"
        case .refused(let status, _, let message): "etcd refused the request (\(status)): \(message)"
        case .malformed(let reason): "etcd answered something unexpected: \(reason)"
        }
    }
}

/// etcd's v3 API through its JSON gateway (`/v3/kv/range`, `/v3/kv/txn`, `/v3/watch`, …):
/// keys and values travel base64-encoded and 64-bit integers as strings.
///
/// The gateway rather than gRPC: it is the same API, served on the same port, with nothing to
/// generate, and one HTTPS client is already in the build.
public final class EtcdClient: Sendable {
    public let connection: EtcdConnection
    private let http: HTTPClient
    /// Unary calls made, by path: what a reader or writer costs in round trips.
    private let calls = Mutex<[String: Int]>([:])

    public init(_ connection: EtcdConnection) throws {
        guard !connection.endpoints.isEmpty else { throw EtcdError.malformed("no etcd endpoint given") }
        self.connection = connection
        var configuration = HTTPClient.Configuration(timeout: .init(connect: .seconds(1), read: nil))
        if let files = connection.tls {
            var tls = TLSConfiguration.makeClientConfiguration()
            do {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(files.caFile))
                tls.certificateChain = try NIOSSLCertificate.fromPEMFile(files.certificateFile).map { .certificate($0) }
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: files.keyFile, format: .pem))
            } catch {
                throw EtcdError.malformed("cannot load the etcd client certificate: \(error)")
            }
            configuration.tlsConfiguration = tls
        }
        // HTTP/1.1 rather than h2: a unary call costs a quarter less (measured against etcd 3.4's
        // gateway); each watch holds a connection of its own, so the pool may hold more.
        configuration.httpVersion = .http1Only
        configuration.connectionPool = .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: 32)
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// How many unary calls to `path` (`/v3/kv/range`) this client has made.
    func callCount(_ path: String) -> Int { calls.withLock { $0[path, default: 0] } }

    public func shutdown() async {
        try? await http.shutdown()
    }

    /// One unary call: POST `path` with `body`, the parsed answer back.
    public func call(_ path: String, _ body: JSON, timeout: Duration) async throws -> JSON {
        calls.withLock { $0[path, default: 0] += 1 }
        var lastError: any Error = EtcdError.unreachable("no endpoint tried")
        for endpoint in connection.endpoints {
            do {
                let response = try await execute(request(endpoint + path, body), timeout: timeout)
                let bytes = try await response.body.collect(upTo: 64 << 20)
                let json = try JSON.parse(String(buffer: bytes))
                guard response.status == .ok else {
                    throw EtcdError.refused(
                        status: Int(response.status.code),
                        code: json["code"]?.intValue ?? 0,
                        message: json["message"]?.stringValue ?? json["error"]?.stringValue ?? "HTTP \(response.status)"
                    )
                }
                return json
            } catch let error as EtcdError {
                if case .refused = error { throw error }
                lastError = error
            } catch {
                lastError = EtcdError.unreachable("\(endpoint): \(Self.describe(error))")
            }
        }
        throw lastError
    }

    /// Sends a request; once more on a fresh connection when the pooled one turned out closed
    /// (etcd ends idle connections; the pool can hand one out in the moment it goes).
    private func execute(_ request: HTTPClientRequest, timeout: Duration) async throws -> HTTPClientResponse {
        do {
            return try await http.execute(request, timeout: .init(timeout))
        } catch let error as HTTPClientError where error == .remoteConnectionClosed {
            return try await http.execute(request, timeout: .init(timeout))
        }
    }

    /// A watch: every message etcd streams for it, until the stream ends, fails or the consumer
    /// stops reading.
    public func watch(_ create: JSON) -> AsyncThrowingStream<JSON, any Error> {
        let (stream, continuation) = AsyncThrowingStream<JSON, any Error>.makeStream()
        let task = Task { [http, connection] in
            do {
                let endpoint = connection.endpoints[0]
                let response = try await http.execute(
                    request(endpoint + "/v3/watch", ["create_request": create]),
                    deadline: .now() + .hours(24)
                )
                guard response.status == .ok else {
                    throw EtcdError.refused(status: Int(response.status.code), code: 0, message: "watch refused")
                }
                var pending: [UInt8] = []
                for try await buffer in response.body {
                    pending += buffer.readableBytesView
                    while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                        let line = String(decoding: pending[..<newline], as: UTF8.self)
                        pending.removeSubrange(...newline)
                        guard !line.allSatisfy(\.isWhitespace) else { continue }
                        let message = try JSON.parse(line)
                        if let error = message["error"] {
                            throw EtcdError.refused(
                                status: 0,
                                code: error["grpc_code"]?.intValue ?? 0,
                                message: error["message"]?.stringValue ?? "watch failed"
                            )
                        }
                        continuation.yield(message["result"] ?? message)
                    }
                }
                continuation.finish(throwing: EtcdError.unreachable("the watch stream ended"))
            } catch let error as EtcdError {
                continuation.finish(throwing: error)
            } catch {
                continuation.finish(throwing: EtcdError.unreachable(Self.describe(error)))
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    private func request(_ url: String, _ body: JSON) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: body.serializedBytes()))
        return request
    }

    private static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError, error == .deadlineExceeded { return "no answer in time" }
        return "\(error)"
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}

/// The gateway's encodings.
public enum EtcdCoding {
    public static func bytes(_ text: String) -> JSON { .string(Data(text.utf8).base64EncodedString()) }
    public static func int(_ value: Int64) -> JSON { .string(String(value)) }

    public static func text(_ json: JSON?) -> String {
        guard let base64 = json?.stringValue, let data = Data(base64Encoded: base64) else { return "" }
        return String(decoding: data, as: UTF8.self)
    }

    public static func int64(_ json: JSON?) -> Int64 { json?.intValue.map(Int64.init) ?? 0 }

    /// A uint64 field (member IDs) that is present and not zero.
    public static func isSet(_ json: JSON?) -> Bool {
        guard let text = json?.stringValue, let value = UInt64(text) else { return false }
        return value != 0
    }

    /// The end of the range of every key that starts with `prefix`.
    public static func prefixEnd(_ prefix: String) -> String {
        var bytes = Array(prefix.utf8)
        while let last = bytes.last {
            if last < 0xff {
                bytes[bytes.count - 1] = last + 1
                return String(decoding: bytes, as: UTF8.self)
            }
            bytes.removeLast()
        }
        return "\0"
    }
}

/// One key as a range or watch returns it.
public struct EtcdKeyValue: Sendable {
    public var key: String
    public var value: String
    public var createRevision: Int64
    public var modRevision: Int64
    public var lease: Int64

    public init(_ json: JSON) {
        key = EtcdCoding.text(json["key"])
        value = EtcdCoding.text(json["value"])
        createRevision = EtcdCoding.int64(json["create_revision"])
        modRevision = EtcdCoding.int64(json["mod_revision"])
        lease = EtcdCoding.int64(json["lease"])
    }
}
