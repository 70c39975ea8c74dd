public import Foundation

/// A schedule in Proxmox's calendar-event format, a subset of systemd's:
/// `[WEEKDAYS] [[YYYY-]MM-DD] [HH:]MM[:SS]`, where each field is `*`, a number, a range `a..b`, a
/// repetition `start/step`, or a comma list of those; weekdays are `mon`…`sun` with ranges and
/// lists. A lone time value is the minute (`*/15`: every quarter of an hour). Also the words
/// `minutely hourly daily weekly monthly quarterly semiannually yearly annually`.
public struct CalendarEvent: Sendable, Equatable {
    /// Allowed values per field; nil means any.
    var weekdays: Set<Int>?  // 1 = Monday … 7 = Sunday
    var years: Set<Int>?
    var months: Set<Int>?
    var days: Set<Int>?
    var hours: Set<Int>
    var minutes: Set<Int>
    var seconds: Set<Int>

    public init(parsing text: String) throws {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        func fail(_ why: String) -> VireoError {
            VireoError.invalid("unable to parse calendar event '\(text)': \(why)")
        }
        guard !trimmed.isEmpty, trimmed.count <= 128 else { throw fail("empty or too long") }
        let words: [String: String] = [
            "minutely": "*:*", "hourly": "*:0", "daily": "0:0", "weekly": "mon 0:0", "monthly": "*-1 0:0",
            "yearly": "1-1 0:0", "annually": "1-1 0:0", "quarterly": "1,4,7,10-1 0:0", "semiannually": "1,7-1 0:0",
        ]
        let spec = words[trimmed] ?? trimmed
        var parts = spec.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        weekdays = nil
        if let first = parts.first, first.first?.isLetter == true {
            weekdays = try Self.weekdays(first, fail)
            parts.removeFirst()
        }
        years = nil
        months = nil
        days = nil
        if let first = parts.first, first.contains("-") {
            let fields = first.split(separator: "-", omittingEmptySubsequences: false).map(String.init)
            guard (2...3).contains(fields.count) else { throw fail("bad date '\(first)'") }
            if fields.count == 3 { years = try Self.values(fields[0], 1970...9999, fail) }
            months = try Self.values(fields[fields.count - 2], 1...12, fail)
            days = try Self.values(fields[fields.count - 1], 1...31, fail)
            parts.removeFirst()
        }
        hours = Set(0...23)
        minutes = [0]
        seconds = [0]
        if let time = parts.first {
            let fields = time.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            switch fields.count {
            case 1: minutes = try Self.values(fields[0], 0...59, fail)
            case 2, 3:
                hours = try Self.values(fields[0], 0...23, fail)
                minutes = try Self.values(fields[1], 0...59, fail)
                if fields.count == 3 { seconds = try Self.values(fields[2], 0...59, fail) }
            default: throw fail("bad time '\(time)'")
            }
            parts.removeFirst()
        } else if weekdays == nil, months == nil {
            throw fail("no time given")
        } else {
            hours = [0]
        }
        guard parts.isEmpty else { throw fail("unexpected '\(parts.joined(separator: " "))'") }
    }

    private static let weekdayNames = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    private static let fullWeekdayNames = [
        "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
    ]

    private static func weekdays(_ text: String, _ fail: (String) -> VireoError) throws -> Set<Int> {
        var result: Set<Int> = []
        for item in text.split(separator: ",") {
            let bounds = item.components(separatedBy: "..")
            let numbers = try bounds.map { name -> Int in
                guard let index = weekdayNames.firstIndex(of: name) ?? fullWeekdayNames.firstIndex(of: name) else {
                    throw fail("unknown weekday '\(name)'")
                }
                return index + 1
            }
            guard numbers.count <= 2 else { throw fail("bad weekday range '\(item)'") }
            let low = numbers[0]
            let high = numbers.count == 2 ? numbers[1] : low
            result.formUnion(low <= high ? Array(low...high) : Array(low...7) + Array(1...high))
        }
        return result
    }

    /// A field: `*`, `n`, `a..b`, `start/step` (start may be `*`), comma lists of those.
    private static func values(
        _ text: String,
        _ range: ClosedRange<Int>,
        _ fail: (String) -> VireoError
    ) throws
        -> Set<Int>
    {
        var result: Set<Int> = []
        for item in text.split(separator: ",", omittingEmptySubsequences: false).map(String.init) {
            let pieces = item.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            guard (1...2).contains(pieces.count) else { throw fail("bad value '\(item)'") }
            var low = range.lowerBound
            var high = range.upperBound
            if pieces[0] != "*" {
                let bounds = pieces[0].components(separatedBy: "..")
                guard (1...2).contains(bounds.count), let a = Int(bounds[0]), let b = Int(bounds.last ?? ""),
                    range.contains(a), range.contains(b), a <= b
                else { throw fail("value '\(item)' is out of range \(range.lowerBound)..\(range.upperBound)") }
                low = a
                high = bounds.count == 2 || pieces.count == 2 ? (bounds.count == 2 ? b : range.upperBound) : a
            }
            let step = pieces.count == 2 ? Int(pieces[1]) : 1
            guard let step, step > 0 else { throw fail("bad repetition in '\(item)'") }
            result.formUnion(stride(from: low, through: high, by: step))
        }
        return result
    }

    /// The first time strictly after `date` the event happens, in `timeZone`; nil if none within
    /// about ten years.
    public func next(after date: Date, in timeZone: TimeZone = .gmt) -> Date? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let startOfDay = calendar.startOfDay(for: date)
        let sortedHours = hours.sorted()
        let sortedMinutes = minutes.sorted()
        let sortedSeconds = seconds.sorted()
        for offset in 0..<(366 * 10) {
            guard let day = calendar.date(byAdding: .day, value: offset, to: startOfDay) else { return nil }
            let parts = calendar.dateComponents([.year, .month, .day, .weekday], from: day)
            guard let year = parts.year, let month = parts.month, let dayOfMonth = parts.day,
                let weekday = parts.weekday
            else { continue }
            // Calendar weekdays run Sunday = 1 … Saturday = 7.
            let isoWeekday = weekday == 1 ? 7 : weekday - 1
            if let years, !years.contains(year) { continue }
            if let months, !months.contains(month) { continue }
            if let days, !days.contains(dayOfMonth) { continue }
            if let weekdays, !weekdays.contains(isoWeekday) { continue }
            for hour in sortedHours {
                for minute in sortedMinutes {
                    for second in sortedSeconds {
                        var components = DateComponents()
                        (components.year, components.month, components.day) = (year, month, dayOfMonth)
                        (components.hour, components.minute, components.second) = (hour, minute, second)
                        if let candidate = calendar.date(from: components), candidate > date { return candidate }
                    }
                }
            }
        }
        return nil
    }
}
