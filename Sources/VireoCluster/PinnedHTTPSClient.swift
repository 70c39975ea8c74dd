import Crypto
import Foundation
import NIOCore
public import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization
public import VireoCore

/// HTTPS to another node that is trusted by its certificate's SHA-256 fingerprint alone, as
/// `pvecm add` trusts the node it joins through: no CA is shared yet, and the fingerprint the
/// operator copied from that node is the proof of its identity. A different certificate ends the
/// handshake before a byte (the root password among them) is sent.
public struct PinnedHTTPSClient: Sendable {
    public let host: String
    public let port: Int
    public let fingerprint: String

    public init(host: String, port: Int, fingerprint: String) {
        self.host = host
        self.port = port
        self.fingerprint = fingerprint
    }

    public struct Response: Sendable {
        public var status: Int
        public var reason: String
        public var body: [UInt8]

        /// The `data` of the API's envelope; throws with the node's message when not 2xx.
        public func data(from host: String) throws -> JSON {
            let json = (try? JSON.parse(String(decoding: body, as: UTF8.self))) ?? .null
            guard (200..<300).contains(status) else {
                let message = json["message"]?.stringValue?.trimmingCharacters(in: .whitespacesAndNewlines)
                throw VireoError(
                    status == 401 ? .unauthenticated : .unavailable,
                    "\(host) answered \(status): \(message ?? reason)"
                ).at(.cluster)
            }
            return json["data"] ?? .null
        }
    }

    /// One request on its own connection.
    public func send(
        _ method: HTTPMethod,
        _ path: String,
        form: [(String, String)] = [],
        headers: [(String, String)] = []
    ) async throws -> Response {
        let presented = Mutex<String?>(nil)
        let expected = fingerprint
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .noHostnameVerification
        let context = try NIOSSLContext(configuration: tls)
        let channel: NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>
        do {
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.seconds(5))
                .connect(host: host, port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let handler = try NIOSSLClientHandler(context: context, serverHostname: nil) {
                            certificates,
                            promise in
                            let actual = certificates.first.flatMap { try? $0.toDERBytes() }.map(Self.fingerprint(der:))
                            presented.withLock { $0 = actual }
                            if let actual, CertificateFingerprint.matches(actual, expected) {
                                promise.succeed(.certificateVerified)
                            } else {
                                promise.succeed(.failed)
                            }
                        }
                        try channel.pipeline.syncOperations.addHandler(handler)
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(
                            wrappingChannelSynchronously: channel
                        )
                    }
                }
        } catch {
            throw VireoError(.unavailable, "cannot connect to \(host):\(port): \(error)").at(.cluster)
        }
        let body = Array(
            form.map { "\(Self.formEncode($0.0))=\(Self.formEncode($0.1))" }.joined(separator: "&").utf8
        )
        do {
            return try await channel.executeThenClose { inbound, outbound in
                var head = HTTPHeaders([
                    ("Host", "\(host):\(port)"), ("Content-Type", "application/x-www-form-urlencoded"),
                    ("Content-Length", String(body.count)), ("Connection", "close"),
                ])
                for (name, value) in headers { head.add(name: name, value: value) }
                try await outbound.write(
                    .head(HTTPRequestHead(version: .http1_1, method: method, uri: path, headers: head))
                )
                if !body.isEmpty { try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: body)))) }
                try await outbound.write(.end(nil))
                var response = Response(status: 0, reason: "", body: [])
                for try await part in inbound {
                    switch part {
                    case .head(let head):
                        response.status = Int(head.status.code)
                        response.reason = head.status.reasonPhrase
                    case .body(let buffer):
                        response.body += buffer.readableBytesView
                    case .end:
                        return response
                    }
                }
                return response
            }
        } catch {
            if let actual = presented.withLock({ $0 }), !CertificateFingerprint.matches(actual, expected) {
                throw VireoError.invalid(
                    "fingerprint mismatch: \(host) presents a certificate with fingerprint \(actual), not \(expected)"
                ).at(.cluster)
            }
            throw VireoError(.unavailable, "request to \(host):\(port) failed: \(error)").at(.cluster)
        }
    }

    /// `application/x-www-form-urlencoded`: everything but unreserved characters as `%XX`.
    static func formEncode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics.intersection(
            CharacterSet(charactersIn: Unicode.Scalar(0)..<Unicode.Scalar(128))
        )
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }

    static func fingerprint(der: [UInt8]) -> String {
        SHA256.hash(data: der).map { String(format: "%02X", $0) }.joined(separator: ":")
    }
}
