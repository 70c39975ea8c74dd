import Testing

@testable import VireoCore

@Suite struct ChangeSignalTests {
    @Test func aWaiterWakesOnTheNextBump() async {
        let signal = ChangeSignal()
        let seen = signal.generation
        async let woken = signal.wait(after: seen, timeout: .seconds(30))
        try? await Task.sleep(for: .milliseconds(50))
        signal.bump()
        #expect(await woken == seen + 1)
    }

    @Test func aBumpBeforeTheWaitIsNotMissed() async {
        let signal = ChangeSignal()
        let seen = signal.generation
        signal.bump()
        #expect(await signal.wait(after: seen, timeout: .seconds(30)) == seen + 1)
    }

    @Test func withoutABumpTheWaitEndsAtItsTimeout() async {
        let signal = ChangeSignal()
        #expect(await signal.wait(after: signal.generation, timeout: .milliseconds(20)) == 0)
    }
}
