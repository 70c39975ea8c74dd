import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// One connect to a Unix socket, without the HTTP client's retries: whether a daemon listens
/// there now, for callers that must not wait to learn that it is down.
public enum SocketProbe {
    /// Nil when something accepts connections at `path`; else why not (`Connection refused`).
    public static func refusal(_ path: String) -> String? {
        guard FileManager.default.fileExists(atPath: path) else { return "no such socket" }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return String(cString: strerror(errno)) }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return "socket path too long" }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in bytes.enumerated() { buffer[index] = byte }
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        return connected == 0 ? nil : String(cString: strerror(errno))
    }
}
