import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing
import VireoAccess
import VireoCore
import VireoHost
import VireoQEMU
import VireoStorage
import VireoStore
import VireoTasks

@testable import VireoAPI

/// The task endpoints over the router, as root on the local socket, with tasks started directly.
@Suite final class TaskEndpointsTests: Sendable {
    // Each test gets its own instance; its temp directory goes with it, also when the test fails.
    deinit { try? FileManager.default.removeItem(at: directory) }

    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vireo-api-\(UUID().uuidString)")

    func makeApp() async throws -> (some ApplicationProtocol, TaskRegistry) {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let store = try SQLiteConfigStore(path: directory.appendingPathComponent("config.db").path)
        let keys = try TicketAuthority.generateSigningKeyPEM()
        let access = AccessControl(
            store: store,
            tickets: try TicketAuthority(privateKeyPEM: keys.privateKey, csrfSecret: "s")
        )
        try await access.bootstrap()
        let tasks = try TaskRegistry(
            directory: directory.appendingPathComponent("tasks"),
            node: "n1",
            logger: Logger(label: "t")
        )
        let storage = StorageManager(store: store, node: "n1", runner: SubprocessRunner(), logger: Logger(label: "t"))
        let services = APIServices(
            node: "n1",
            store: store,
            access: access,
            tasks: tasks,
            storage: storage,
            vms: VMManager(configs: VMConfigStore(store: store, node: "n1"), storage: storage, runDirectory: "/tmp"),
            logger: Logger(label: "t")
        )
        let responder = APIResponder<BasicRequestContext>(
            registry: VireoAPI.makeRegistry(),
            services: services,
            localRoot: true
        )
        return (Application(responder: responder), tasks)
    }

    func json(_ response: TestResponse) throws -> JSON {
        try JSONDecoder().decode(JSON.self, from: Data(response.body.readableBytesView))
    }

    @Test func finishedTaskReportsStatusLogAndListing() async throws {
        let (app, tasks) = try await makeApp()
        let upid = try tasks.start(type: "vzdump", id: "100", user: "root@pam") { log in log.append("hello") }
        await tasks.wait(upid.description)
        let encoded = upid.description.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
        try await app.test(.router) { client in
            let status = try await client.execute(uri: "/api2/json/nodes/n1/tasks/\(encoded)/status", method: .get)
            #expect(status.status == .ok)
            let data = try #require(try json(status)["data"])
            #expect(data["status"] == "stopped")
            #expect(data["exitstatus"] == "OK")
            #expect(data["upid"]?.stringValue == upid.description)
            #expect(data["type"] == "vzdump")
            #expect(data["id"] == "100")

            let log = try await client.execute(uri: "/api2/json/nodes/n1/tasks/\(encoded)/log", method: .get)
            let body = try json(log)
            #expect(body["total"] == 2)
            #expect(body["data"]?.arrayValue?.first?["t"] == "hello")

            let list = try await client.execute(uri: "/api2/json/nodes/n1/tasks?typefilter=vzdump", method: .get)
            #expect(try json(list)["data"]?.arrayValue?.count == 1)
            let none = try await client.execute(uri: "/api2/json/nodes/n1/tasks?typefilter=other", method: .get)
            #expect(try json(none)["data"]?.arrayValue?.isEmpty == true)
        }
    }

    @Test func runningTaskOmitsExitStatusAndDeleteStopsIt() async throws {
        let (app, tasks) = try await makeApp()
        let upid = try tasks.start(type: "qmstart", id: "100", user: "root@pam") { _ in
            try await Task.sleep(for: .seconds(60))
        }
        let encoded = upid.description.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
        try await app.test(.router) { client in
            let status = try await client.execute(uri: "/api2/json/nodes/n1/tasks/\(encoded)/status", method: .get)
            let data = try #require(try json(status)["data"])
            #expect(data["status"] == "running")
            #expect(data["exitstatus"] == nil)
            let stop = try await client.execute(uri: "/api2/json/nodes/n1/tasks/\(encoded)", method: .delete)
            #expect(stop.status == .ok)
        }
        await tasks.wait(upid.description)
        #expect(tasks.record(upid.description)?.exitStatus == "interrupted by signal")
    }

    @Test func unknownTaskAndBadUPIDAreClientErrors() async throws {
        let (app, _) = try await makeApp()
        try await app.test(.router) { client in
            let bad = try await client.execute(uri: "/api2/json/nodes/n1/tasks/nonsense/status", method: .get)
            #expect(bad.status.code == 400)
            let missing = "UPID:n1:00000001:00000001:00000001:x::root@pam:"
            let encoded = missing.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
            let absent = try await client.execute(uri: "/api2/json/nodes/n1/tasks/\(encoded)/status", method: .get)
            #expect(absent.status.code == 404)
        }
    }

    @Test func openAPIDocumentListsEveryEndpoint() async throws {
        let (app, _) = try await makeApp()
        try await app.test(.router) { client in
            let response = try await client.execute(uri: "/api2/openapi.json", method: .get)
            let paths = try #require(try json(response)["paths"])
            #expect(paths["/api2/json/access/users"]?["post"] != nil)
            #expect(paths["/api2/json/nodes/{node}/tasks/{upid}/status"]?["get"] != nil)
        }
    }
}
