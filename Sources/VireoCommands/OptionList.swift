/// `pvesh`-style arguments: positionals and `--key value` pairs (a `--flag` alone means `1`).
struct OptionList {
    var positionals: [String] = []
    var options: [(String, String)] = []

    init(_ arguments: [String]) {
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if argument.hasPrefix("--"), argument.count > 2 {
                var key = String(argument.dropFirst(2))
                if let equals = key.firstIndex(of: "=") {
                    options.append((String(key[..<equals]), String(key[key.index(after: equals)...])))
                    key = ""
                } else if index + 1 < arguments.count, !arguments[index + 1].hasPrefix("--") {
                    options.append((key, arguments[index + 1]))
                    index += 1
                } else {
                    options.append((key, "1"))
                }
            } else if argument.hasPrefix("-"), argument.count > 1, Int(argument) == nil {
                // Single-dash options as Proxmox's CLI also accepts them (`-password x`).
                let key = String(argument.dropFirst())
                if index + 1 < arguments.count, !arguments[index + 1].hasPrefix("-") {
                    options.append((key, arguments[index + 1]))
                    index += 1
                } else {
                    options.append((key, "1"))
                }
            } else {
                positionals.append(argument)
            }
            index += 1
        }
    }

    /// Removes and returns an option's value.
    mutating func take(_ key: String) -> String? {
        guard let index = options.firstIndex(where: { $0.0 == key }) else { return nil }
        return options.remove(at: index).1
    }
}
