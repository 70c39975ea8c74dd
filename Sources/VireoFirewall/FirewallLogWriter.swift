import Foundation
import VireoHost

/// Turns the packets of log rules (NFLOG group 0, prefix `:<vmid>:<level>:<chain>: <what>: `)
/// into Proxmox's firewall log lines and appends them to the log file, which is cut to its
/// newer half when it grows past `maximumBytes`.
final class FirewallLogWriter: @unchecked Sendable {
    private let path: String
    private let maximumBytes: Int
    private let lock = NSLock()

    init(path: String, maximumBytes: Int = 8 << 20) {
        self.path = path
        self.maximumBytes = maximumBytes
        try? FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent,
            withIntermediateDirectories: true
        )
    }

    func write(_ packet: NFLogReader.Packet) {
        guard let line = Self.line(for: packet) else { return }
        lock.withLock {
            if let handle = FileHandle(forWritingAtPath: path) ?? create() {
                handle.seekToEndOfFile()
                handle.write(Data((line + "\n").utf8))
                let size = handle.offsetInFile
                try? handle.close()
                if size > UInt64(maximumBytes) { trim() }
            }
        }
    }

    private func create() -> FileHandle? {
        _ = FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o640])
        return FileHandle(forWritingAtPath: path)
    }

    private func trim() {
        guard let data = FileManager.default.contents(atPath: path) else { return }
        let half = data.suffix(from: data.count / 2)
        let start = half.firstIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? half.startIndex
        try? Data(data[start...]).write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    /// `100 6 guest-100-in 07/Dec/2026:10:00:01 +0000 policy DROP: IN=vmbr0 … SRC=… DST=… PROTO=TCP …`
    static func line(for packet: NFLogReader.Packet) -> String? {
        let fields = packet.prefix.split(separator: ":", maxSplits: 4, omittingEmptySubsequences: false)
        guard fields.count == 5, fields[0].isEmpty, let vmid = Int(fields[1]), let level = Int(fields[2]) else {
            return nil
        }
        var text = fields[4].trimmingCharacters(in: .whitespaces)
        var parts: [String] = []
        parts.append("IN=\(packet.inInterface ?? "")")
        parts.append("OUT=\(packet.outInterface ?? "")")
        if let physical = packet.physicalIn { parts.append("PHYSIN=\(physical)") }
        if let physical = packet.physicalOut { parts.append("PHYSOUT=\(physical)") }
        parts += headerFields(packet.payload)
        text += " " + parts.joined(separator: " ")
        return FirewallLogLine.format(vmid: vmid, level: level, chain: String(fields[3]), time: packet.time, text: text)
    }

    /// The network and transport headers as iptables' LOG target writes them.
    static func headerFields(_ bytes: [UInt8]) -> [String] {
        guard let first = bytes.first else { return [] }
        var parts: [String] = []
        let transport: Int
        let protocolNumber: UInt8
        if first >> 4 == 4, bytes.count >= 20 {
            let headerLength = Int(first & 0x0f) * 4
            parts.append(
                "SRC=\(IPNetwork.format(Array(bytes[12..<16]))) DST=\(IPNetwork.format(Array(bytes[16..<20])))"
            )
            parts.append(
                "LEN=\(Int(bytes[2]) << 8 | Int(bytes[3])) TTL=\(bytes[8]) ID=\(Int(bytes[4]) << 8 | Int(bytes[5]))"
            )
            if bytes[6] & 0x40 != 0 { parts.append("DF") }
            transport = headerLength
            protocolNumber = bytes[9]
        } else if first >> 4 == 6, bytes.count >= 40 {
            parts.append("SRC=\(IPNetwork.format(Array(bytes[8..<24]))) DST=\(IPNetwork.format(Array(bytes[24..<40])))")
            parts.append("LEN=\(40 + (Int(bytes[4]) << 8 | Int(bytes[5]))) HOPLIMIT=\(bytes[7])")
            transport = 40
            protocolNumber = bytes[6]
        } else {
            return parts
        }
        let l4 = bytes.count > transport ? Array(bytes[transport...]) : []
        func port(_ at: Int) -> Int { Int(l4[at]) << 8 | Int(l4[at + 1]) }
        switch protocolNumber {
        case 6 where l4.count >= 14:
            parts.append("PROTO=TCP SPT=\(port(0)) DPT=\(port(2))")
            let names = [(0x20, "URG"), (0x10, "ACK"), (0x08, "PSH"), (0x04, "RST"), (0x02, "SYN"), (0x01, "FIN")]
            parts += names.filter { Int(l4[13]) & $0.0 != 0 }.map(\.1)
        case 17 where l4.count >= 8: parts.append("PROTO=UDP SPT=\(port(0)) DPT=\(port(2)) LEN=\(port(4))")
        case 1 where l4.count >= 2: parts.append("PROTO=ICMP TYPE=\(l4[0]) CODE=\(l4[1])")
        case 58 where l4.count >= 2: parts.append("PROTO=ICMPv6 TYPE=\(l4[0]) CODE=\(l4[1])")
        default: parts.append("PROTO=\(protocolNumber)")
        }
        return parts
    }
}
