/// A storage ID such as `local-lvm`: `^[a-z][a-z0-9\-_.]*[a-z0-9]$`, case-insensitive, at least 2 characters.
public struct StorageID: ValidatedIdentifier, Comparable {
    public let description: String

    public init(validating text: String) throws {
        guard Self.isValid(text) else {
            throw VireoError.invalidFormat("storage ID '\(text)' contains illegal characters")
        }
        description = text
    }

    static func isValid(_ text: String) -> Bool {
        let bytes = text.utf8
        guard let first = bytes.first, let last = bytes.last, bytes.count >= 2 else { return false }
        return ASCII.isLetter(first) && ASCII.isAlphanumeric(last) && bytes.allSatisfy(ASCII.isIDCharacter)
    }
}
