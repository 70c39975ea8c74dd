public import QMP
public import VireoCore

/// A QMP failure is the VM process's: its monitor did not answer, or answered with an error.
extension QMPError: FaultLocating {
    public var fault: Fault? { Fault(.vmProcess) }
}
