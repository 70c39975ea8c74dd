import Foundation

/// `qm terminal` (the VM's serial console on this terminal, raw, until Ctrl-O) and `qm vncproxy`
/// (the VM's VNC stream on stdin/stdout, for a proxy).
enum SerialTerminal {
    static func attach(path: String, interface: String = "serial0") throws {
        let fd = try connectUnix(path) {
            "cannot connect to the serial console at \(path) - is the VM running with '\(interface): socket'?"
        }
        defer { close(fd) }
        FileHandle.standardError.write(
            Data("starting serial terminal on interface \(interface) (press Ctrl+O to exit)\n".utf8)
        )
        var saved = termios()
        let interactive = isatty(0) == 1
        if interactive {
            tcgetattr(0, &saved)
            var raw = saved
            cfmakeraw(&raw)
            tcsetattr(0, TCSANOW, &raw)
        }
        defer { if interactive { tcsetattr(0, TCSANOW, &saved) } }
        // Ctrl-O ends the session, as in Proxmox.
        pump(fd, escape: 0x0f)
    }

    /// Pipes stdin/stdout to the VM's VNC socket until either side ends.
    static func vncProxy(path: String) throws {
        let fd = try connectUnix(path) { "cannot connect to the VNC display at \(path) - is the VM running?" }
        defer { close(fd) }
        pump(fd, escape: nil)
    }

    private static func connectUnix(_ path: String, failure: () -> String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw CLIError("cannot create a socket") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            close(fd)
            throw CLIError("socket path too long: \(path)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in bytes.enumerated() { buffer[index] = byte }
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard connected == 0 else {
            close(fd)
            throw CLIError(failure())
        }
        return fd
    }

    private static func pump(_ fd: Int32, escape: UInt8?) {
        var fds = [pollfd(fd: 0, events: Int16(POLLIN), revents: 0), pollfd(fd: fd, events: Int16(POLLIN), revents: 0)]
        var buffer = [UInt8](repeating: 0, count: 4096)
        while poll(&fds, 2, -1) >= 0 {
            if fds[1].revents != 0 {
                let count = read(fd, &buffer, buffer.count)
                if count <= 0 { return }
                _ = write(1, buffer, count)
            }
            if fds[0].revents != 0 {
                let count = read(0, &buffer, buffer.count)
                if count <= 0 { return }
                if let escape, buffer[..<count].contains(escape) { return }
                _ = write(fd, buffer, count)
            }
        }
    }
}
