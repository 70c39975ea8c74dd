import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization
import VireoAccess
public import VireoCore
import VireoTasks

/// `GET /cluster/events` (a Vireo addition): Server-Sent Events of what `/cluster/resources` and
/// `/cluster/tasks` show, as the caller may see them, so a UI updates at once instead of polling.
///
/// `event: resources` carries `{"full": true, "data": [...]}` first, then `{"full": false, "data":
/// [changed entries], "removed": [ids]}`; `event: tasks` carries `{"data": [task entries]}` (the
/// recent ones first, then those that started or ended). A stream wakes on every task start and
/// end, QEMU event and store write, and looks again at least every ``refresh`` (usage figures).
enum ClusterEventsEndpoint {
    static let refresh: Duration = .seconds(2)
    static let keepAlive: Duration = .seconds(15)
    /// Browsers reconnect by themselves; a bounded stream lets nothing hold a connection forever.
    static let lifetime: Duration = .seconds(300)
    static let recentTasks = 50

    static func register(in registry: inout APIRegistry) {
        registry.register(
            .get,
            "/cluster/events",
            schema: {
                var schema = EndpointSchema(parameters: [], permission: .anyUser, returns: "null")
                schema.streamedResponse = "text/event-stream"
                return schema
            }(),
            handles: []
        ) { request in
            guard let dispatcher = request.dispatcher else {
                throw APIFailure(status: 501, message: "the event stream is served over HTTP only")
            }
            let identity = request.identity
            let services = request.services
            var headers = HTTPFields()
            headers[.contentType] = "text/event-stream; charset=utf-8"
            headers[.cacheControl] = "no-cache"
            // The stream's connection is not reused afterwards: a browser keeps only six per host.
            headers[.connection] = "close"
            headers[.server] = "pve-api-daemon/3.0"
            var result = APIResult.null
            result.stream = Response(
                status: .ok,
                headers: headers,
                body: ResponseBody { writer in
                    var feed = Feed()
                    let signal = services.tasks.activity
                    let clock = ContinuousClock()
                    let ends = clock.now + lifetime
                    var lastWrite = clock.now
                    try await writer.write(ByteBuffer(string: "retry: 1000\n\n"))
                    while clock.now < ends, !services.streams.isClosed, !Task.isCancelled {
                        let generation = signal.generation
                        let resources = try await dispatcher.call(
                            .get,
                            "/cluster/resources",
                            .init(),
                            identity: identity
                        )
                        let tasks = try await dispatcher.call(.get, "/cluster/tasks", .init(), identity: identity)
                        var text = ""
                        if let event = feed.resources(resources.data.arrayValue ?? []) {
                            text += message("resources", event)
                        }
                        if let event = feed.tasks(tasks.data.arrayValue ?? []) { text += message("tasks", event) }
                        if text.isEmpty, clock.now - lastWrite >= keepAlive { text = ": keep-alive\n\n" }
                        if !text.isEmpty {
                            try await writer.write(ByteBuffer(string: text))
                            lastWrite = clock.now
                        }
                        await signal.wait(after: generation, timeout: refresh)
                    }
                    try await writer.finish(nil)
                }
            )
            return result
        }
    }

    private static func message(_ event: String, _ data: JSON) -> String {
        "event: \(event)\ndata: \(data.serialized())\n\n"
    }

    /// What a stream has sent, to send only what changed.
    struct Feed {
        private var resources: [String: JSON]?
        private var tasks: [String: JSON]?

        mutating func resources(_ entries: [JSON]) -> JSON? {
            var now: [String: JSON] = [:]
            for entry in entries { if let id = entry["id"]?.stringValue { now[id] = entry } }
            defer { resources = now }
            guard let before = resources else { return ["full": true, "data": .array(entries)] }
            let changed = entries.filter { entry in
                guard let id = entry["id"]?.stringValue else { return false }
                return before[id] != entry
            }
            let removed = before.keys.filter { now[$0] == nil }.sorted()
            guard !changed.isEmpty || !removed.isEmpty else { return nil }
            return ["full": false, "data": .array(changed), "removed": .array(removed.map { .string($0) })]
        }

        mutating func tasks(_ entries: [JSON]) -> JSON? {
            let recent = Array(entries.prefix(ClusterEventsEndpoint.recentTasks))
            var now: [String: JSON] = [:]
            for entry in recent { if let upid = entry["upid"]?.stringValue { now[upid] = entry } }
            defer { tasks = now }
            guard let before = tasks else { return ["data": .array(recent)] }
            let changed = recent.filter { entry in
                guard let upid = entry["upid"]?.stringValue else { return false }
                return before[upid] != entry
            }
            return changed.isEmpty ? nil : ["data": .array(changed)]
        }
    }
}

/// Open event streams end when the daemon stops, so they do not hold its shutdown.
public final class OpenStreams: Sendable {
    private let closed = Atomic(false)
    private let signal: ChangeSignal

    public init(signal: ChangeSignal) { self.signal = signal }

    public var isClosed: Bool { closed.load(ordering: .acquiring) }

    public func close() {
        closed.store(true, ordering: .releasing)
        signal.bump()
    }
}
