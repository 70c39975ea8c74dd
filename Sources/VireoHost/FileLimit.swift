#if canImport(Glibc)
import Glibc
#endif

/// The process's open-file limit: a daemon that holds a socket per client raises its soft limit
/// to the hard one at start, so a burst of connections meets the timeouts, not `EMFILE`.
public enum FileLimit {
    /// Raises the soft limit to the hard limit; returns the soft limit now in force.
    @discardableResult
    public static func raise() -> UInt64 {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 0 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        return UInt64(limit.rlim_cur)
    }
}
