/// Proxmox's `*-list` parameter values (`pve-vmid-list`, `pve-groupid-list`, …): items separated by
/// commas, semicolons, NULs or whitespace, empty items dropped. The one splitter for every reader.
public enum ListText {
    public static func items(_ text: String) -> [String] {
        text.split(whereSeparator: { (c: Character) in c == "," || c == ";" || c == "\0" || c.isWhitespace })
            .map(String.init)
    }
}
