public import VireoCore

/// `let vmid: VMID = 100` in tests; an out-of-range literal fails the test run at once.
/// Only tests get this: production code builds VMIDs through their checks.
extension VMID: ExpressibleByIntegerLiteral {
    public init(integerLiteral value: Int) {
        guard let vmid = VMID(value) else { preconditionFailure("VMID literal \(value) is outside \(VMID.range)") }
        self = vmid
    }
}
