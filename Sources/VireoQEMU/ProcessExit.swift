import Glibc

/// How a child process ended, from `waitpid`.
enum ProcessExit: Equatable {
    case exited(Int32)
    case signaled(Int32)

    /// Reaps `pid` if it is a child of this process that has ended; nil while it runs, or when it is
    /// not this process's child (a QEMU started by an earlier vireod belongs to init).
    static func reap(_ pid: Int) -> ProcessExit? {
        var status: Int32 = 0
        guard waitpid(pid_t(pid), &status, WNOHANG) == pid_t(pid) else { return nil }
        return decode(status)
    }

    /// The wait status word: the low 7 bits are the signal (0 for a normal exit, whose code is in
    /// bits 8–15); Glibc's WIFEXITED family are macros Swift cannot see.
    static func decode(_ status: Int32) -> ProcessExit {
        let signal = status & 0x7f
        return signal == 0 ? .exited((status >> 8) & 0xff) : .signaled(signal)
    }

    static func signalName(_ signal: Int32) -> String {
        let names: [Int32: String] = [
            SIGKILL: "SIGKILL", SIGTERM: "SIGTERM", SIGSEGV: "SIGSEGV", SIGABRT: "SIGABRT", SIGBUS: "SIGBUS",
            SIGINT: "SIGINT", SIGHUP: "SIGHUP", SIGILL: "SIGILL", SIGFPE: "SIGFPE", SIGQUIT: "SIGQUIT",
        ]
        return names[signal] ?? "signal \(signal)"
    }
}
