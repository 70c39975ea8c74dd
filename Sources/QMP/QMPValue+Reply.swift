extension QMPValue {
    /// Reads member `key` of a reply, or explains which command returned what instead.
    func member<T>(
        _ key: String,
        of command: String,
        as read: (QMPValue) -> T?
    ) throws(QMPError) -> T {
        guard let member = self[key] else {
            throw .unexpectedResponse(command: command, reason: "missing \"\(key)\" in \(self)")
        }
        guard let value = read(member) else {
            throw .unexpectedResponse(command: command, reason: "unexpected \"\(key)\": \(member)")
        }
        return value
    }

    /// The elements of an array reply, or an error naming the command.
    func elements(of command: String) throws(QMPError) -> [QMPValue] {
        guard let array = arrayValue else {
            throw .unexpectedResponse(command: command, reason: "expected an array, got \(self)")
        }
        return array
    }
}
