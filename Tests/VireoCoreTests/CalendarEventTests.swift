import Foundation
import Testing
import VireoCore

/// Proxmox calendar events (backup and replication schedules): when each one fires next.
@Suite struct CalendarEventTests {
    /// Friday, 15 March 2024, 10:07:30 UTC.
    static let friday = "2024-03-15T10:07:30Z"

    static func date(_ text: String) throws -> Date { try Date(text, strategy: .iso8601) }

    static func next(_ spec: String, after start: String, in zone: TimeZone = .gmt) throws -> String? {
        try CalendarEvent(parsing: spec).next(after: date(start), in: zone)?.formatted(.iso8601)
    }

    @Test(arguments: [
        // A lone value is the minute: every quarter of an hour.
        ("*/15", friday, "2024-03-15T10:15:00Z"),
        // Strictly after: an event exactly at the start is not the next one.
        ("*/15", "2024-03-15T10:45:00Z", "2024-03-15T11:00:00Z"),
        ("*/15", "2024-03-15T23:59:00Z", "2024-03-16T00:00:00Z"),
        // Working days at 02:30: from Friday morning, Monday.
        ("mon..fri 02:30", friday, "2024-03-18T02:30:00Z"),
        ("mon..fri 02:30", "2024-03-18T01:00:00Z", "2024-03-18T02:30:00Z"),
        ("daily", friday, "2024-03-16T00:00:00Z"),
        ("weekly", friday, "2024-03-18T00:00:00Z"),
        ("monthly", friday, "2024-04-01T00:00:00Z"),
        ("monthly", "2024-12-31T23:00:00Z", "2025-01-01T00:00:00Z"),
        ("sat,sun 12:00", friday, "2024-03-16T12:00:00Z"),
        ("sat,sun 12:00", "2024-03-16T12:00:00Z", "2024-03-17T12:00:00Z"),
        ("sat,sun 12:00", "2024-03-17T12:00:00Z", "2024-03-23T12:00:00Z"),
        ("*-1 0:0", friday, "2024-04-01T00:00:00Z"),
        ("1,7-1 0:0", friday, "2024-07-01T00:00:00Z"),
        ("1,7-1 0:0", "2024-07-01T00:00:00Z", "2025-01-01T00:00:00Z"),
        ("semiannually", friday, "2024-07-01T00:00:00Z"),
        ("quarterly", friday, "2024-04-01T00:00:00Z"),
        ("yearly", friday, "2025-01-01T00:00:00Z"),
        ("hourly", friday, "2024-03-15T11:00:00Z"),
        ("minutely", friday, "2024-03-15T10:08:00Z"),
        // A day that does not exist every year: the next 29 February.
        ("2-29 06:00", friday, "2028-02-29T06:00:00Z"),
        ("sun 3:15:30", friday, "2024-03-17T03:15:30Z"),
    ])
    func nextTimeInUTC(spec: String, start: String, expected: String) throws {
        #expect(try Self.next(spec, after: start) == expected)
    }

    @Test func theWordsAreShortHandsForTheirSpecs() throws {
        #expect(try CalendarEvent(parsing: "monthly") == CalendarEvent(parsing: "*-1 0:0"))
        #expect(try CalendarEvent(parsing: "semiannually") == CalendarEvent(parsing: "1,7-1 0:0"))
        #expect(try CalendarEvent(parsing: "weekly") == CalendarEvent(parsing: "mon 0:0"))
        #expect(try CalendarEvent(parsing: "daily") == CalendarEvent(parsing: "0:0"))
        #expect(try CalendarEvent(parsing: " Mon..Fri 02:30 ") == CalendarEvent(parsing: "mon..fri 02:30"))
        #expect(try CalendarEvent(parsing: "*/15") != CalendarEvent(parsing: "*/20"))
    }

    @Test func midnightIsLocalToTheTimeZone() throws {
        let berlin = try #require(TimeZone(identifier: "Europe/Berlin"))
        // CET is UTC+1 in March before the switch to summer time.
        #expect(try Self.next("daily", after: Self.friday, in: berlin) == "2024-03-15T23:00:00Z")
    }

    @Test func anEventThatNeverHappensHasNoNextTime() throws {
        // 31 February never comes.
        #expect(try Self.next("2-31 0:0", after: Self.friday) == nil)
    }

    @Test(arguments: [
        ("bogus", "unknown weekday 'bogus'"),
        ("25:00", "out of range 0..23"),
        ("mon..funday 1:00", "unknown weekday 'funday'"),
        ("", "empty"),
        ("   ", "empty"),
        ("*/0", "bad repetition"),
        ("mon 10:00 extra", "unexpected 'extra'"),
        ("1-2-3-4 0:0", "bad date"),
        ("12:61", "out of range 0..59"),
    ])
    func malformedEventsAreRefused(spec: String, reason: String) {
        let error = #expect(throws: VireoError.self) { try CalendarEvent(parsing: spec) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.hasPrefix("unable to parse calendar event '\(spec)': ") == true)
        #expect(error?.message.contains(reason) == true, "\(error?.message ?? "")")
    }

    @Test func aWordThatMerelyStartsWithAWeekdayIsNotAWeekday() {
        // systemd (and Proxmox's parser) accept `fri` and `friday` only; `friendly` is a typo.
        #expect(throws: VireoError.self) { try CalendarEvent(parsing: "friendly 10:00") }
    }
}
