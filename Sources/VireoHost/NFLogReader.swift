public import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Reads the packets nftables' `log group N` rules send (NFLOG over netlink), in a network
/// namespace, on a thread of its own that lives in that namespace (so interface indexes resolve
/// to the namespace's names).
public final class NFLogReader: Sendable {
    /// One logged packet.
    public struct Packet: Sendable {
        /// The rule's `log prefix`.
        public var prefix: String
        /// `AF_INET`, `AF_INET6`, `AF_BRIDGE`…
        public var family: Int32
        public var inInterface: String?
        public var outInterface: String?
        public var physicalIn: String?
        public var physicalOut: String?
        /// The packet from its network header (at most the copy range: headers).
        public var payload: [UInt8]
        public var time: Date
    }

    public enum Failure: Error, CustomStringConvertible {
        case namespace(String)
        case socket(String)

        public var description: String {
            switch self {
            case .namespace(let reason): "NFLOG: cannot enter network namespace: \(reason)"
            case .socket(let reason): "NFLOG: \(reason)"
            }
        }
    }

    private let namespace: NetworkNamespace
    private let group: UInt16

    public init(namespace: NetworkNamespace, group: UInt16 = 0) {
        self.namespace = namespace
        self.group = group
    }

    /// Starts the reader thread; `deliver` is called on it for every packet. Returns once the
    /// socket is bound (or throws why it could not be), without blocking the caller's thread.
    public func start(_ deliver: @escaping @Sendable (Packet) -> Void) async throws {
        let namespace = self.namespace
        let group = self.group
        try await withCheckedThrowingContinuation { (ready: CheckedContinuation<Void, any Error>) in
            let thread = Thread {
                let socket: Int32
                do {
                    if let name = namespace.name {
                        let fd = open("/run/netns/\(name)", O_RDONLY | O_CLOEXEC)
                        guard fd >= 0 else { throw Failure.namespace(String(cString: strerror(errno))) }
                        defer { close(fd) }
                        // This thread stays in the namespace for its whole life.
                        guard Self.enterNamespace(fd, Self.cloneNewNet) == 0 else {
                            throw Failure.namespace(String(cString: strerror(errno)))
                        }
                    }
                    socket = try Self.openSocket(group: group)
                } catch {
                    ready.resume(throwing: error)
                    return
                }
                ready.resume()
                Self.readLoop(socket, deliver)
            }
            thread.name = "vireo-nflog"
            thread.start()
        }
    }

    // MARK: - Netlink

    /// `setns(2)`: Glibc's module does not declare it (it needs _GNU_SOURCE).
    @_silgen_name("setns") private static func enterNamespace(_ fd: Int32, _ type: Int32) -> Int32
    static let cloneNewNet: Int32 = 0x4000_0000

    /// `struct sockaddr_nl` (not in Glibc's module): family, pad, port id, groups.
    struct NetlinkAddress {
        var family = UInt16(AF_NETLINK)
        var pad: UInt16 = 0
        var portID: UInt32 = 0
        var groups: UInt32 = 0
    }

    static let netlinkNetfilter: Int32 = 12
    static let subsystemULog: UInt16 = 4
    static let messagePacket: UInt16 = 0
    static let messageConfig: UInt16 = 1

    static func openSocket(group: UInt16) throws -> Int32 {
        let fd = socket(AF_NETLINK, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), netlinkNetfilter)
        guard fd >= 0 else { throw Failure.socket("socket: \(String(cString: strerror(errno)))") }
        var address = NetlinkAddress()
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<NetlinkAddress>.size))
            }
        }
        guard bound == 0 else {
            close(fd)
            throw Failure.socket("bind: \(String(cString: strerror(errno)))")
        }
        var size: Int32 = 4 << 20
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        // Bind the log group, then ask for the packet's first 256 bytes (its headers).
        let bindCommand: [UInt8] = [1]  // NFULNL_CFG_CMD_BIND
        let copyMode: [UInt8] = [0, 0, 1, 0, 2, 0]  // copy_range 256 (big endian), NFULNL_COPY_PACKET, pad
        for (attribute, body) in [(UInt16(1), bindCommand), (UInt16(2), copyMode)] {
            let message = configMessage(group: group, attribute: attribute, body: body)
            guard send(fd, message, message.count, 0) == message.count else {
                close(fd)
                throw Failure.socket("send: \(String(cString: strerror(errno)))")
            }
            try expectAcknowledgement(fd)
        }
        return fd
    }

    static func configMessage(group: UInt16, attribute: UInt16, body: [UInt8]) -> [UInt8] {
        var attributeBytes = le16(UInt16(4 + body.count)) + le16(attribute) + body
        while attributeBytes.count % 4 != 0 { attributeBytes.append(0) }
        // nfgenmsg: family AF_UNSPEC, version 0, res_id (the group, big endian)
        let payload: [UInt8] = [0, 0, UInt8(group >> 8), UInt8(group & 0xff)] + attributeBytes
        let type = (subsystemULog << 8) | messageConfig
        let flags: UInt16 = 1 | 4  // NLM_F_REQUEST | NLM_F_ACK
        return le32(UInt32(16 + payload.count)) + le16(type) + le16(flags) + le32(1) + le32(0) + payload
    }

    /// Reads the kernel's answer to a config message: an error message with code 0, or a failure.
    static func expectAcknowledgement(_ fd: Int32) throws {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = recv(fd, &buffer, buffer.count, 0)
        guard count >= 20 else { throw Failure.socket("no acknowledgement from the kernel") }
        let type = UInt16(buffer[4]) | UInt16(buffer[5]) << 8
        guard type == 2 else { return }  // NLMSG_ERROR
        let code = Int32(
            bitPattern: UInt32(buffer[16]) | UInt32(buffer[17]) << 8 | UInt32(buffer[18]) << 16 | UInt32(buffer[19])
                << 24
        )
        guard code == 0 else { throw Failure.socket("config refused: \(String(cString: strerror(-code)))") }
    }

    static func readLoop(_ fd: Int32, _ deliver: (Packet) -> Void) {
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count < 0 {
                if errno == EINTR || errno == ENOBUFS { continue }
                return
            }
            var offset = 0
            while offset + 16 <= count {
                let length = Int(le32(buffer, offset))
                guard length >= 16, offset + length <= count else { break }
                let type = le16(buffer, offset + 4)
                if type == (subsystemULog << 8) | messagePacket, length >= 20 {
                    if let packet = parse(buffer, from: offset + 16, to: offset + length) { deliver(packet) }
                }
                offset += (length + 3) & ~3
            }
        }
    }

    static func parse(_ buffer: [UInt8], from start: Int, to end: Int) -> Packet? {
        var packet = Packet(prefix: "", family: Int32(buffer[start]), payload: [], time: Date())
        var offset = start + 4
        while offset + 4 <= end {
            let length = Int(le16(buffer, offset))
            let type = le16(buffer, offset + 2) & 0x3fff
            guard length >= 4, offset + length <= end else { break }
            let body = Array(buffer[(offset + 4)..<(offset + length)])
            switch type {
            case 4: packet.inInterface = interfaceName(body)
            case 5: packet.outInterface = interfaceName(body)
            case 6: packet.physicalIn = interfaceName(body)
            case 7: packet.physicalOut = interfaceName(body)
            case 9: packet.payload = body
            case 10: packet.prefix = String(decoding: body.prefix { $0 != 0 }, as: UTF8.self)
            case 3 where body.count == 16:
                let seconds = body[0..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
                let micros = body[8..<16].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
                packet.time = Date(timeIntervalSince1970: Double(seconds) + Double(micros) / 1e6)
            default: break
            }
            offset += (length + 3) & ~3
        }
        return packet
    }

    /// A big-endian interface index, named in this thread's namespace.
    static func interfaceName(_ body: [UInt8]) -> String? {
        guard body.count == 4 else { return nil }
        let index = body.reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        var name = [CChar](repeating: 0, count: Int(IF_NAMESIZE) + 1)
        guard if_indextoname(index, &name) != nil else { return "if\(index)" }
        return String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func le16(_ value: UInt16) -> [UInt8] { [UInt8(value & 0xff), UInt8(value >> 8)] }
    static func le32(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8((value >> (8 * $0)) & 0xff) } }
    static func le16(_ bytes: [UInt8], _ at: Int) -> UInt16 { UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8 }
    static func le32(_ bytes: [UInt8], _ at: Int) -> UInt32 {
        (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[at + $1]) << (8 * $1) }
    }
}
