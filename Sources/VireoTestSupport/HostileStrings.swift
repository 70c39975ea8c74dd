/// Values an attacker puts in a field of a config file: every control character inside otherwise
/// harmless text, line-injection payloads for each file format, separators, and seeded random mixes
/// of them. Codec tests write each one into each field and expect a refusal or an exact round trip.
public enum HostileStrings {
    /// Every C0 control character, DEL, NEL and the Unicode line and paragraph separators.
    public static let controlScalars: [Unicode.Scalar] =
        (0..<0x20).compactMap(Unicode.Scalar.init)
        + [
            Unicode.Scalar(0x7F), Unicode.Scalar(0x85), Unicode.Scalar(0x2028),
            Unicode.Scalar(0x2029),
        ].compactMap { $0 }

    /// Payloads that would add an entry if a writer let them through.
    public static let payloads = [
        "x\nacl:1:/:mallory@pve:Administrator:",
        "x\r\nuser:mallory@pve:1:0::::::",
        "x\rrole:evil:Sys.Modify:",
        "local\n\ndir: evil\n\tpath /",
        "x\n[PENDING]\nargs: -monitor stdio",
        "x\nargs: -monitor stdio",
        "vmbr0\niface evil inet manual\n\tup rm -rf /",
        "x\u{2028}y", "x\u{85}y", "x\0y", "x\u{1B}[2Jy",
        "a:b", "a,b", "a=b", "#a", "[a]", " a", "a ", "%0A", "a%3Ab",
    ]

    /// Each control character inside text, then the payloads, then `randomCount` seeded mixes.
    public static func all(randomCount: Int = 64, seed: UInt64 = 0x5EED) -> [String] {
        var values = controlScalars.map { "a" + String(Character($0)) + "b" } + payloads
        var generator = SplitMix64(seed: seed)
        let alphabet: [Character] = Array("az09:,=#[]%/ @!.-_") + controlScalars.map(Character.init)
        for _ in 0..<randomCount {
            let length = Int(generator.next() % 12) + 1
            values.append(String((0..<length).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] }))
        }
        return values
    }
}

/// A small seeded generator, so a failing value is found again on the next run.
public struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
