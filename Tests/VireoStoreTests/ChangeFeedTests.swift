import Testing
import VireoStore

/// The change feed itself, apart from any backend.
@Suite struct ChangeFeedTests {
    @Test func aWaitingSubscriberEndsWhenItsTaskIsCancelled() async throws {
        let feed = ChangeFeed(startingAt: 0)
        let waiting = Task {
            var iterator = feed.subscribe().makeAsyncIterator()
            return await iterator.next()
        }
        try await Task.sleep(for: .milliseconds(50))
        waiting.cancel()
        #expect(await waiting.value == nil)
    }

    @Test func aPublishedChangeWakesAWaitingSubscriber() async throws {
        let feed = ChangeFeed(startingAt: 7)
        let waiting = Task {
            var iterator = feed.subscribe().makeAsyncIterator()
            return await iterator.next()
        }
        try await Task.sleep(for: .milliseconds(50))
        feed.publish([ConfigChange(path: "user.cfg", kind: .written, version: 8)])
        #expect(await waiting.value == .changed(ConfigChange(path: "user.cfg", kind: .written, version: 8)))
    }
}
