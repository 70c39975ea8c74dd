import Foundation
import Testing
import VireoCore

@testable import VireoMetrics

@Suite struct RRDDatabaseTests {
    private func withDatabase(_ body: (RRDDatabase) throws -> Void) throws {
        let directory = NSTemporaryDirectory() + "vireo-rrd-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try body(RRDDatabase(directory: directory))
    }

    @Test func aStorageSampledEveryTenSecondsReadsBackPerMinuteWithTheIntervalsEnd() throws {
        try withDatabase { database in
            let now = 1_800_000_000 - 1_800_000_000 % 3600  // on an hour boundary
            let start = now - 30 * 60
            for time in stride(from: start, through: now, by: 10) {
                let minute = Double((time - start) / 60)
                try database.update(.storage, "node1/local", time: time, values: [1000, 100 + minute])
            }
            let rows = try database.fetch(.storage, "node1/local", timeframe: .hour, consolidation: .average, now: now)
            #expect(rows.count == 60)
            #expect(rows.last?["time"] == .int(now))
            // Rows before the first sample hold only their time.
            #expect(rows.first == ["time": .int(now - 59 * 60)])
            let last = try #require(rows.last)
            #expect(last["total"]?.doubleValue == 1000)
            // The minute ending at `now` averages the samples of minute 29 (and the one at its end).
            let used = try #require(last["used"]?.doubleValue)
            #expect(used > 129 && used <= 130, "\(used)")
            #expect(rows.filter { $0["used"] != nil }.count >= 29)
        }
    }

    @Test func countersBecomeRatesPerSecondAndTheNodeGetsMemavailable() throws {
        try withDatabase { database in
            let now = 1_800_000_000 - 1_800_000_000 % 3600
            let start = now - 10 * 60
            for time in stride(from: start, through: now, by: 10) {
                var values = [Double?](repeating: nil, count: RRDLayout.node.sources.count)
                values[10] = Double((time - start) * 1000)  // netin: 1000 bytes/s
                values[12] = 4096  // memfree
                try database.update(.node, "node1", time: time, values: values)
            }
            let rows = try database.fetch(.node, "node1", timeframe: .hour, consolidation: .max, now: now)
            let last = try #require(rows.last)
            #expect(last["netin"]?.doubleValue == 1000)
            #expect(last["memavailable"] == last["memfree"] && last["memfree"]?.doubleValue == 4096)
            #expect(last["cpu"] == nil)
        }
    }

    @Test func anOlderOrRepeatedSampleIsSkippedNotAnError() throws {
        try withDatabase { database in
            try database.update(.storage, "n/s", time: 1_800_000_000, values: [1, 1])
            try database.update(.storage, "n/s", time: 1_800_000_000, values: [2, 2])
            try database.update(.storage, "n/s", time: 1_799_999_990, values: [3, 3])
        }
    }

    @Test func theTimeframesAreProxmoxNines() {
        let layout = RRDTimeframe.allCases.map { "\($0.rawValue)=\($0.resolution)x\($0.rows)" }
        #expect(
            layout == [
                "hour=60x60", "day=60x1440", "week=1800x336", "month=1800x1440", "year=21600x1440",
                "decade=604800x570",
            ]
        )
        #expect(RRDLayout.node.sources.count == 19 && RRDLayout.vm.sources.count == 17)
    }

    @Test func valuesAreWrittenAsPlainDecimals() {
        #expect(RRDDatabase.number(3) == "3")
        #expect(RRDDatabase.number(0.25) == "0.250000")
        #expect(RRDDatabase.number(.nan) == "U")
    }
}
