/// A bond's `bond-mode`, by name. Open-ended so that a parsed file keeps an unknown mode.
public struct BondMode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }

    public static let balanceRR = BondMode("balance-rr")
    public static let activeBackup = BondMode("active-backup")
    public static let balanceXOR = BondMode("balance-xor")
    public static let broadcast = BondMode("broadcast")
    public static let ieee8023ad = BondMode("802.3ad")
    public static let balanceTLB = BondMode("balance-tlb")
    public static let balanceALB = BondMode("balance-alb")

    /// The Linux bonding modes, in the kernel's numbering (`bond-mode 4` is 802.3ad).
    public static let linuxModes: [BondMode] = [
        .balanceRR, .activeBackup, .balanceXOR, .broadcast, .ieee8023ad, .balanceTLB, .balanceALB,
    ]

    /// The value of a `bond-mode` line: a kernel mode number becomes its name, anything else is kept.
    init(fileValue: String) {
        if let number = Int(fileValue), BondMode.linuxModes.indices.contains(number) {
            self = BondMode.linuxModes[number]
        } else {
            self.init(fileValue)
        }
    }

    public var description: String { rawValue }
}
