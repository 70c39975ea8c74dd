import AsyncHTTPClient
import Foundation
public import NIOCore
import NIOHTTP1
public import VireoCore

/// A typed client of Vireo's API. The CLI uses it over the daemon's root-only local socket.
public struct APIClient: Sendable {
    public enum Endpoint: Sendable {
        /// The local socket: the daemon treats the caller as root@pam.
        case localSocket(String)
    }

    public enum Method: String, Sendable {
        case get = "GET"
        case post = "POST"
        case put = "PUT"
        case delete = "DELETE"
    }

    /// A failed call: the HTTP status, the message (reason phrase) and per-parameter errors.
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public let status: Int
        public let message: String
        public let errors: [String: String]
        public var description: String {
            var text = "\(status) \(message)"
            for (key, value) in errors.sorted(by: { $0.key < $1.key }) { text += "\n\(key): \(value)" }
            return text
        }
    }

    public let endpoint: Endpoint
    public var timeout: TimeAmount = .seconds(300)

    public init(endpoint: Endpoint) { self.endpoint = endpoint }

    /// Calls `method path` with parameters (each a list, sent as repeated keys) and returns `data`.
    public func call(_ method: Method, _ path: String, parameters: [(String, String)] = []) async throws -> JSON {
        let encoded = parameters.map { "\(Self.formEncode($0.0))=\(Self.formEncode($0.1))" }.joined(separator: "&")
        let apiPath = "/api2/json" + (path.hasPrefix("/") ? path : "/" + path)
        var url: String
        switch endpoint {
        case .localSocket(let socket):
            guard let host = socket.addingPercentEncoding(withAllowedCharacters: .alphanumerics) else {
                throw Failure(status: 0, message: "invalid socket path '\(socket)'", errors: [:])
            }
            url = "http+unix://\(host)\(Self.pathEncode(apiPath))"
        }
        var request: HTTPClientRequest
        if method == .get || method == .delete {
            if !encoded.isEmpty { url += "?" + encoded }
            request = HTTPClientRequest(url: url)
        } else {
            request = HTTPClientRequest(url: url)
            request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            request.body = .bytes(ByteBuffer(string: encoded))
        }
        request.method = .init(rawValue: method.rawValue)
        let response: HTTPClientResponse
        do {
            response = try await HTTPClient.shared.execute(request, timeout: timeout)
        } catch {
            throw Failure(status: 0, message: Self.connectionMessage(endpoint, error), errors: [:])
        }
        let body = try await response.body.collect(upTo: 64 << 20)
        let json =
            body.readableBytes > 0
            ? (try? JSONDecoder().decode(JSON.self, from: Data(body.readableBytesView))) ?? .null
            : .null
        guard response.status.code == 200 else {
            var errors: [String: String] = [:]
            if case .object(let e)? = json["errors"] { errors = e.compactMapValues(\.stringValue) }
            let message = json["message"]?.stringValue?.trimmingCharacters(in: .whitespacesAndNewlines)
            throw Failure(
                status: Int(response.status.code),
                message: message ?? response.status.reasonPhrase,
                errors: errors
            )
        }
        return json["data"] ?? .null
    }

    static func connectionMessage(_ endpoint: Endpoint, _ error: any Error) -> String {
        switch endpoint {
        case .localSocket(let socket):
            "cannot connect to vireod at \(socket) - is the daemon running? (\(error))"
        }
    }

    static func formEncode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    static func pathEncode(_ path: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~/")
        return path.addingPercentEncoding(withAllowedCharacters: allowed) ?? path
    }
}
