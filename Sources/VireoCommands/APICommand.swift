import ArgumentParser
import VireoClient
import VireoCore

/// `vireo api` (also `pvesh`): any API call by path.
struct APICommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "api",
        abstract:
            "Call the API: get|create|set|delete|ls PATH [--key value ...] [--output-format text|json|json-pretty|yaml]."
    )

    @Argument(parsing: .captureForPassthrough)
    var arguments: [String] = []

    func run() async throws {
        var list = OptionList(arguments)
        let format = try outputFormat(list.take("output-format"))
        guard list.positionals.count >= 2 else {
            throw ValidationError("usage: vireo api get|create|set|delete|ls PATH [--key value ...]")
        }
        let verb = list.positionals[0]
        let path = list.positionals[1]
        let method: APIClient.Method
        switch verb {
        case "get", "ls": method = .get
        case "create": method = .post
        case "set": method = .put
        case "delete": method = .delete
        default: throw ValidationError("unknown verb '\(verb)' - use get, create, set, delete or ls")
        }
        let api = try LocalAPI.connect()
        let data = try await api.call(method, path, list.options)
        if verb == "ls" {
            let names = (data.arrayValue ?? []).compactMap { item in
                item["subdir"]?.stringValue ?? item["name"]?.stringValue ?? item.object?.values.first?.stringValue
            }
            print(names.joined(separator: "\n"))
            return
        }
        try await api.show(data, as: format)
    }
}

func outputFormat(_ value: String?) throws -> OutputFormat {
    guard let value else { return .text }
    guard let format = OutputFormat(rawValue: value) else {
        throw ValidationError("--output-format must be one of text, json, json-pretty, yaml")
    }
    return format
}

extension JSON {
    var object: [String: JSON]? {
        if case .object(let o) = self { return o }
        return nil
    }
}
