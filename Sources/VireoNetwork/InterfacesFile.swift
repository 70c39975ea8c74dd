import VireoCore

/// Proxmox's dialect of `/etc/network/interfaces`, read into ``NetworkInterface`` models and written back.
///
/// The file is kept as its lines: ``text`` of an unmodified file is the input byte for byte (comments, blank
/// lines, `source` and `mapping` stanzas, tabs or spaces). ``set(_:)`` and ``remove(_:)`` touch only the lines of
/// the interface they change, plus the `auto` lines naming it; a changed interface is re-rendered the way
/// Proxmox's writer prints it. The models are always read back from the lines, so they show what the file says.
public struct InterfacesFile: Hashable, Sendable {
    private var lines: [String]
    private var endsWithNewline: Bool
    private var layout: InterfacesLayout
    /// The interfaces with a stanza, in the order of their first stanza.
    public private(set) var interfaces: [NetworkInterface]

    /// Reads a file. Lenient like ifupdown2: unknown lines are kept, unknown options go to `options`.
    /// - Throws: `VireoError` (`.invalidArgument`) for an `iface` line without a name.
    public init(parsing text: String) throws {
        (lines, endsWithNewline) = LineText.lines(of: text)
        layout = try InterfacesLayout(lines: lines)
        interfaces = layout.interfaces(lines: lines)
    }

    /// The file's text.
    public var text: String {
        lines.joined(separator: "\n") + (endsWithNewline ? "\n" : "")
    }

    /// The interface with this name, if it has a stanza.
    public subscript(_ name: String) -> NetworkInterface? {
        interfaces.first { $0.name == name }
    }

    /// Adds an interface or replaces the one with its name. An unchanged interface leaves the file as it is.
    ///
    /// A replaced interface is written where its first stanza was; a new one after the last interface of its
    /// ordering bucket (loopback, NICs, bonds, bridges, VLANs, …), or at the end. `autostart` adds or removes the
    /// name on `auto` lines.
    /// - Throws: `VireoError.parameter` for a bad field (`mtu`, `vlan-id`, `cidr`, …) or a port that is already a
    ///   port of another bridge or bond (`bridge_ports`, `slaves`).
    public mutating func set(_ interface: NetworkInterface) throws {
        let current = self[interface.name]
        guard current != interface else { return }
        try interface.validate()
        try checkPorts(of: interface)
        guard var sameButAutostart = current else { return try insert(interface) }
        sameButAutostart.autostart = interface.autostart
        // Starting at boot or not is a matter of `auto` lines only: the stanzas stay as they are.
        if sameButAutostart == interface {
            try setAutostart(interface.autostart, of: interface.name)
        } else {
            try replace(interface)
        }
    }

    /// Removes an interface's stanzas and its name from `auto` lines; the rest of the file stays as it was.
    /// - Throws: `VireoError` (`.notFound`) when no stanza has this name.
    public mutating func remove(_ name: String) throws {
        guard self[name] != nil else { throw VireoError.notFound("interface \(name) does not exist") }
        while let stanza = layout.stanzas.last(where: { $0.name == name }) {
            try deleteLines(stanza.lines)
        }
        try setAutostart(false, of: name)
    }

    // MARK: - Checks

    private func checkPorts(of interface: NetworkInterface) throws {
        for (field, ports) in [("bridge_ports", interface.bridgePorts), ("slaves", interface.slaves)] {
            for port in ports ?? [] {
                if let owner = interfaces.first(where: { other in
                    other.name != interface.name && ((other.bridgePorts ?? []) + (other.slaves ?? [])).contains(port)
                }) {
                    throw VireoError.parameter(field, "interface '\(port)' is already used by '\(owner.name)'")
                }
            }
        }
    }

    // MARK: - Editing lines

    private mutating func replace(_ interface: NetworkInterface) throws {
        let name = interface.name
        // One block replaces all of the interface's stanzas, where the first one was.
        while layout.stanzas.filter({ $0.name == name }).count > 1,
            let last = layout.stanzas.last(where: { $0.name == name })
        {
            try deleteLines(last.lines)
        }
        guard let first = layout.stanzas.first(where: { $0.name == name }) else { return }
        lines.replaceSubrange(first.lines, with: interface.stanzaLines())
        try reread()
        try setAutostart(interface.autostart, of: name)
    }

    private mutating func insert(_ interface: NetworkInterface) throws {
        var block = interface.stanzaLines()
        if interface.autostart && !isAutostarted(interface.name) { block.insert("auto \(interface.name)", at: 0) }
        switch insertionPoint(for: interface) {
        case .after(let end):
            var inserted = [""] + block
            if end < lines.count && !LineText.isBlank(lines[end]) { inserted.append("") }
            if end == lines.count { endsWithNewline = true }
            lines.insert(contentsOf: inserted, at: end)
        case .before(let start):
            var inserted = block + [""]
            if start > 0 && !LineText.isBlank(lines[start - 1]) { inserted.insert("", at: 0) }
            lines.insert(contentsOf: inserted, at: start)
        case .end:
            if let last = lines.last, !LineText.isBlank(last) { lines.append("") }
            lines += block
            endsWithNewline = true
        }
        try reread()
    }

    private enum InsertionPoint {
        case after(Int)
        case before(Int)
        case end
    }

    /// After the last interface whose bucket is not later than the new one's; before the first interface when
    /// all come later; at the end when nothing has a bucket.
    private func insertionPoint(for interface: NetworkInterface) -> InsertionPoint {
        guard let bucket = orderBucket(of: interface) else { return .end }
        var after: Int?
        var before: Int?
        for other in interfaces {
            guard let otherBucket = orderBucket(of: other) else { continue }
            let spans = layout.stanzas.filter { $0.name == other.name }
            guard let first = spans.first, let last = spans.last else { continue }
            if otherBucket <= bucket {
                after = max(after ?? 0, last.lines.upperBound)
            } else {
                before = min(before ?? Int.max, leadingLine(of: other.name, header: first.lines.lowerBound))
            }
        }
        if let after { return .after(after) }
        if let before { return .before(before) }
        return .end
    }

    /// The writer sorts by the type of the root interface, so `vmbr0.5` sorts with the bridges.
    private func orderBucket(of interface: NetworkInterface) -> Int? {
        let root = NetworkInterface.rootName(of: interface.name)
        guard root != interface.name else { return interface.type.orderBucket }
        return (self[root] ?? NetworkInterface(name: root)).type.orderBucket
    }

    /// The stanza's header, or the `auto` line right above it when that line names this interface only.
    private func leadingLine(of name: String, header: Int) -> Int {
        let above = layout.autoLines.first { $0.index == header - 1 }
        return above?.names == [name] ? header - 1 : header
    }

    private func isAutostarted(_ name: String) -> Bool {
        layout.autoLines.contains { $0.names.contains(name) }
    }

    /// Adds `auto <name>` above the first stanza, or takes the name off every autostart line (dropping lines
    /// that name nothing else).
    private mutating func setAutostart(_ autostart: Bool, of name: String) throws {
        if autostart {
            guard !isAutostarted(name), let first = layout.stanzas.first(where: { $0.name == name }) else { return }
            lines.insert("auto \(name)", at: first.lines.lowerBound)
            try reread()
            return
        }
        while let line = layout.autoLines.last(where: { $0.names.contains(name) }) {
            let rest = line.names.filter { $0 != name }
            if rest.isEmpty {
                try deleteLines(line.index..<line.index + 1)
            } else {
                let indentation = LineText.indentation(of: lines[line.index])
                lines[line.index] = indentation + ([line.keyword] + rest).joined(separator: " ")
                try reread()
            }
        }
    }

    /// Deletes lines, and a blank line left doubled (or leading, or trailing) by the deletion.
    private mutating func deleteLines(_ range: Range<Int>) throws {
        lines.removeSubrange(range)
        let at = range.lowerBound
        if at < lines.count, LineText.isBlank(lines[at]), at == 0 || LineText.isBlank(lines[at - 1]) {
            lines.remove(at: at)
        } else if at == lines.count, at > 0, LineText.isBlank(lines[at - 1]) {
            lines.remove(at: at - 1)
        }
        if lines.isEmpty { endsWithNewline = false }
        try reread()
    }

    private mutating func reread() throws {
        layout = try InterfacesLayout(lines: lines)
        interfaces = layout.interfaces(lines: lines)
    }
}
