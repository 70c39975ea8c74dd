import Foundation

/// A size in bytes as Proxmox writes it in property strings: `\d+(\.\d+)?[KMGT]?` with binary units
/// (`32G`, `628M`, `104858K`, or plain bytes without a unit).
public struct ByteSize: Hashable, Comparable, Sendable, CustomStringConvertible, LosslessStringConvertible {
    public enum Unit: Sendable, CaseIterable {
        case byte, kibibyte, mebibyte, gibibyte, tebibyte

        public var multiplier: Int {
            switch self {
            case .byte: 1
            case .kibibyte: 1 << 10
            case .mebibyte: 1 << 20
            case .gibibyte: 1 << 30
            case .tebibyte: 1 << 40
            }
        }

        /// The letter after the number; empty for bytes.
        public var suffix: String {
            switch self {
            case .byte: ""
            case .kibibyte: "K"
            case .mebibyte: "M"
            case .gibibyte: "G"
            case .tebibyte: "T"
            }
        }
    }

    public let bytes: Int

    /// - Precondition: `bytes` is not negative.
    public init(bytes: Int) {
        precondition(bytes >= 0, "a byte size cannot be negative")
        self.bytes = bytes
    }

    /// `count` units, e.g. `ByteSize(32, .gibibyte)`.
    /// - Precondition: `count` is not negative and the product fits in `Int`.
    public init(_ count: Int, _ unit: Unit) {
        let (product, overflow) = count.multipliedReportingOverflow(by: unit.multiplier)
        precondition(!overflow, "byte size overflows Int")
        self.init(bytes: product)
    }

    /// Parses `\d+(\.\d+)?[KMGT]?`. A fraction is exact in binary units and truncated below one byte
    /// (`1.5K` = 1536, `0.3` = 0). Throws `VireoError` (`.invalidArgument`) otherwise.
    public init(parsing text: String) throws {
        guard let bytes = Self.parse(text) else {
            throw VireoError.invalid("invalid format - value '\(text)' does not look like a valid size")
        }
        self.init(bytes: bytes)
    }

    public init?(_ description: String) {
        try? self.init(parsing: description)
    }

    /// The size in the largest unit that divides it exactly: `32G`, `104858K`, `512` (bytes), `0`.
    public var description: String {
        // Zero divides by every unit; it reads best as a plain `0`.
        let exact = bytes == 0 ? .byte : Unit.allCases.reversed().first { bytes % $0.multiplier == 0 } ?? .byte
        return String(bytes / exact.multiplier) + exact.suffix
    }

    public static func < (lhs: ByteSize, rhs: ByteSize) -> Bool { lhs.bytes < rhs.bytes }

    /// For people, rounded to one decimal in binary units: `1.5 GiB`, `412 KiB`, `37 B`.
    public static func describe(_ bytes: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
        var value = Double(bytes)
        var unit = 0
        while abs(value) >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        if unit == 0 || value >= 100 { return "\(Int(value.rounded())) \(units[unit])" }
        return String(format: "%.1f", value) + " " + units[unit]
    }

    private static func parse(_ text: String) -> Int? {
        var digits = Substring(text)
        var unit = Unit.byte
        if let last = digits.last, let suffixed = Unit.allCases.first(where: { $0.suffix == String(last) }),
            suffixed != .byte
        {
            unit = suffixed
            digits = digits.dropLast()
        }
        let parts = digits.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let whole = parts.first, ASCII.all(whole, ASCII.isDigit) else { return nil }
        let fraction = parts.count == 2 ? parts[1] : ""
        guard parts.count == 1 || ASCII.all(fraction, ASCII.isDigit) else { return nil }

        guard let wholeValue = Int(whole) else { return nil }
        let (wholeBytes, overflow) = wholeValue.multipliedReportingOverflow(by: unit.multiplier)
        guard !overflow else { return nil }
        let (total, sumOverflow) = wholeBytes.addingReportingOverflow(fractionBytes(fraction, unit: unit))
        return sumOverflow ? nil : total
    }

    /// `0.<fraction>` units in whole bytes, in integer arithmetic so `1.5G` is exactly 1536 MiB.
    private static func fractionBytes(_ fraction: Substring, unit: Unit) -> Int {
        // 18 digits keep 10^18 within Int; what later digits add is far below one byte.
        var numerator = 0
        var denominator = 1
        for byte in fraction.utf8.prefix(18) {
            numerator = numerator * 10 + Int(byte - UInt8(ascii: "0"))
            denominator *= 10
        }
        // numerator < 10^18 and multiplier ≤ 2^40: the product needs a double-width multiply.
        let product = numerator.multipliedFullWidth(by: unit.multiplier)
        return denominator.dividingFullWidth(product).quotient
    }
}
