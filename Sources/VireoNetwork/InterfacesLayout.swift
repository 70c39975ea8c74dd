import VireoCore

/// Where things are in an interfaces file: its `iface` stanzas and autostart lines, by line index. Every other
/// line (comments, blank lines, `source`, `mapping` stanzas, stray text) is only kept in place.
struct InterfacesLayout: Hashable, Sendable {
    struct Stanza: Hashable, Sendable {
        var name: String
        /// `nil` for a family-less `iface x` stanza (ifupdown2 style).
        var family: AddressFamily?
        var method: InterfaceMethod?
        /// The header, then option and comment lines up to the next stanza keyword. Blank lines at the end, and
        /// anything after the first of them, stay outside: they separate this stanza from the next.
        var lines: Range<Int>
    }

    /// An `auto`, `allow-auto`, `allow-hotplug` or `allow-ovs` line.
    struct AutoLine: Hashable, Sendable {
        var index: Int
        var keyword: String
        var names: [String]
    }

    var stanzas: [Stanza] = []
    var autoLines: [AutoLine] = []

    static let autostartKeywords: Set<Substring> = ["auto", "allow-auto", "allow-hotplug", "allow-ovs"]

    /// - Throws: `VireoError` (`.invalidArgument`) for an `iface` line without a name.
    init(lines: [String]) throws {
        var index = 0
        while index < lines.count {
            let words = LineText.words(lines[index])
            guard let keyword = words.first else {
                index += 1
                continue
            }
            if Self.autostartKeywords.contains(keyword) {
                autoLines.append(
                    AutoLine(index: index, keyword: String(keyword), names: words.dropFirst().map(String.init))
                )
            }
            guard keyword == "iface" else {
                index += 1
                continue
            }
            guard words.count >= 2 else {
                throw VireoError.invalid("/etc/network/interfaces line \(index + 1): iface without a name")
            }
            var family: AddressFamily?
            if words.count >= 3 {
                // An unknown family (ipx, can) is not Proxmox's business: its stanza is kept as plain lines.
                guard let known = AddressFamily(rawValue: String(words[2])) else {
                    index += 1
                    continue
                }
                family = known
            }
            let method = words.count >= 4 ? InterfaceMethod(String(words[3])) : nil
            let end = Self.stanzaEnd(lines: lines, header: index)
            stanzas.append(Stanza(name: String(words[1]), family: family, method: method, lines: index..<end))
            index = end
        }
    }

    /// Stanza keywords end the previous stanza; blank lines do not (ifupdown2 reads options past them).
    static func isStanzaKeyword(_ word: Substring) -> Bool {
        ["iface", "auto", "mapping", "source", "source-directory"].contains(word) || word.hasPrefix("allow-")
    }

    private static func stanzaEnd(lines: [String], header: Int) -> Int {
        var next = header + 1
        while next < lines.count, !(LineText.words(lines[next]).first.map(isStanzaKeyword) ?? false) {
            next += 1
        }
        // Of the trailing run of blank and comment lines, the comments before its first blank line stay in.
        var runStart = next
        while runStart > header + 1, LineText.isBlank(lines[runStart - 1]) || LineText.isComment(lines[runStart - 1]) {
            runStart -= 1
        }
        return (runStart..<next).first { LineText.isBlank(lines[$0]) } ?? next
    }

    /// The interfaces with at least one stanza, in the order of their first stanza.
    func interfaces(lines: [String]) -> [NetworkInterface] {
        var result: [NetworkInterface] = []
        var positions: [String: Int] = [:]
        var familyLess: Set<String> = []
        for stanza in stanzas {
            let position = positions[stanza.name] ?? result.count
            if position == result.count {
                positions[stanza.name] = position
                result.append(NetworkInterface(name: stanza.name))
            }
            if stanza.family == nil { familyLess.insert(stanza.name) }
            result[position].apply(stanza, lines: lines)
        }
        let autostarted = Set(autoLines.flatMap(\.names))
        for index in result.indices {
            result[index].autostart = autostarted.contains(result[index].name)
            result[index].finishParsing(hadFamilyLessStanza: familyLess.contains(result[index].name))
        }
        return result
    }
}
