/// The one rule every writer of a Proxmox config file applies to the values it writes: a value that
/// lives on one line holds no control character, so no value can end its line and start another
/// entry (`user.cfg`, `storage.cfg`, VM configs, `interfaces`, `.fw` files).
public enum ConfigValue {
    /// The first control character (C0, DEL, or a Unicode line or paragraph separator) in the text.
    public static func controlCharacter(in text: some StringProtocol) -> Unicode.Scalar? {
        text.unicodeScalars.first(where: isControl)
    }

    /// Whether the text fits on one line of a config file.
    public static func isSingleLine(_ text: some StringProtocol) -> Bool {
        controlCharacter(in: text) == nil
    }

    /// Whether the scalar may not appear in a one-line value; tab is a control character too.
    public static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || scalar.value == 0x7F || (0x80...0x9F).contains(scalar.value)
            || scalar.value == 0x2028 || scalar.value == 0x2029
    }

    /// Throws `.invalidArgument` with `field` as the bad parameter when the text does not fit on one line.
    public static func checkSingleLine(_ text: some StringProtocol, field: String) throws {
        guard let scalar = controlCharacter(in: text) else { return }
        throw VireoError.parameter(field, "value contains a control character (\(describe(scalar)))")
    }

    /// `U+000A` style name of a scalar, for error messages.
    public static func describe(_ scalar: Unicode.Scalar) -> String {
        let hex = String(scalar.value, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }
}
