import VireoAccess
import VireoCore

/// The OpenAPI 3 description of every registered endpoint, derived from the registry (served at
/// `/api2/openapi.json`), so schema-driven tools can test and call Vireo.
enum OpenAPIDocument {
    static func make(_ registry: APIRegistry) -> JSON {
        var paths: [String: [String: JSON]] = [:]
        for endpoint in registry.endpoints {
            let captures = Set(APIRegistry.captureNames(endpoint.path))
            let specs = endpoint.schema.parameters
            let inPath = specs.filter { captures.contains($0.name) }.map { parameter($0, location: "path") }
            // Parameters Vireo refuses are left out of the operation and listed apart.
            let rest = specs.filter { !captures.contains($0.name) && !endpoint.schema.unhandled.contains($0.name) }
            var operation: [String: JSON] = [
                "operationId": .string("\(endpoint.method.rawValue.lowercased())\(endpoint.path)"),
                "responses": [
                    "200": [
                        "description": "success",
                        "content": [
                            "application/json": [
                                "schema": [
                                    "type": "object", "properties": ["data": schemaOfReturn(endpoint.schema.returns)],
                                ]
                            ]
                        ],
                    ],
                    "400": ["description": "Parameter verification failed."],
                    "401": ["description": "No ticket / authentication failed"],
                    "403": ["description": "Permission check failed"],
                ],
            ]
            // The declared permission in Proxmox's notation, and the root-only rule, for tools and
            // for the permission-matrix test.
            operation["x-pve-permissions"] = permissionJSON(endpoint.schema.permission)
            operation["x-pve-allowtoken"] = .flag(endpoint.schema.allowToken)
            // Vireo's own endpoints (diagnose, events, …): Proxmox has no schema for them.
            if APISchema.pveEndpoint(endpoint.method, endpoint.path) == nil {
                operation["x-vireo-addition"] = true
            }
            if let media = endpoint.schema.streamedResponse {
                operation["responses"] = [
                    "200": ["description": "a stream", "content": .object([media: ["schema": ["type": "string"]]])],
                    "401": ["description": "No ticket / authentication failed"],
                ]
                operation["x-vireo-stream"] = .string(media)
            }
            if let rule = endpoint.schema.rootOnly {
                operation["x-vireo-root-only"] = .string("\(rule)")
            }
            if !endpoint.schema.unhandled.isEmpty {
                operation["x-vireo-not-implemented"] = .array(endpoint.schema.unhandled.sorted().map { .string($0) })
            }
            if endpoint.method == .get || endpoint.method == .delete {
                operation["parameters"] = .array(inPath + rest.map { parameter($0, location: "query") })
            } else {
                operation["parameters"] = .array(inPath)
                if !rest.isEmpty {
                    let properties = Dictionary(uniqueKeysWithValues: rest.map { ($0.name, schema(of: $0)) })
                    let required = rest.filter { !$0.optional }.map { JSON.string($0.name) }
                    var body: [String: JSON] = ["type": "object", "properties": .object(properties)]
                    if !required.isEmpty { body["required"] = .array(required) }
                    operation["requestBody"] = [
                        "content": [
                            "application/x-www-form-urlencoded": ["schema": .object(body)],
                            "application/json": ["schema": .object(body)],
                        ]
                    ]
                }
            }
            paths["/api2/json" + endpoint.path, default: [:]][endpoint.method.rawValue.lowercased()] = .object(
                operation
            )
        }
        return [
            "openapi": "3.0.3",
            "info": ["title": "Vireo API (Proxmox VE compatible)", "version": .string(NodeEndpoints.version)],
            "components": [
                "securitySchemes": [
                    "ticket": ["type": "apiKey", "in": "cookie", "name": "PVEAuthCookie"],
                    "token": ["type": "apiKey", "in": "header", "name": "Authorization"],
                ]
            ],
            "security": [["ticket": []], ["token": []]],
            "paths": .object(paths.mapValues { .object($0) }),
        ]
    }

    /// A permission check as Proxmox's schema writes it: `{"user": "all"}`, `{"check": [...]}`, or
    /// `{"user": "root@pam"}` for root only.
    static func permissionJSON(_ check: PermissionCheck) -> JSON {
        switch check {
        case .rootOnly: ["user": "root@pam"]
        case .world: ["user": "world"]
        case .anyUser: ["user": "all"]
        default: ["check": checkJSON(check)]
        }
    }

    private static func checkJSON(_ check: PermissionCheck) -> JSON {
        let strings = { (items: [String]) in JSON.array(items.map { .string($0) }) }
        switch check {
        case .rootOnly: return ["user-root"]
        case .world, .anyUser: return ["any-user"]
        case .perm(let path, let privileges, let any, let requireParam):
            var items: [JSON] = ["perm", .string(path), strings(privileges)]
            if any { items += ["any", 1] }
            if let requireParam { items += ["require_param", .string(requireParam)] }
            return .array(items)
        case .and(let checks): return .array(["and"] + checks.map(checkJSON))
        case .or(let checks): return .array(["or"] + checks.map(checkJSON))
        case .useridSelf: return ["userid-param", "self"]
        case .useridParam(let privilege): return ["userid-param", .string(privilege)]
        case .useridGroup(let privileges, let mode):
            var items: [JSON] = ["userid-group", strings(privileges)]
            if let mode { items += ["groups_param", .string(mode == .create ? "create" : "update")] }
            return .array(items)
        case .permModify(let path): return ["perm-modify", .string(path)]
        case .permEach(let list, let template, let privileges):
            return ["perm-each", .string(list), .string(template), strings(privileges)]
        }
    }

    static func parameter(_ spec: ParameterSpec, location: String) -> JSON {
        [
            "name": .string(spec.name), "in": .string(location),
            "required": .bool(location == "path" || !spec.optional), "schema": schema(of: spec),
        ]
    }

    static func schema(of spec: ParameterSpec) -> JSON {
        var schema: [String: JSON] = [:]
        switch spec.kind {
        // Proxmox booleans are 0/1 on the wire.
        case .boolean: schema = ["type": "integer", "enum": [0, 1]]
        case .integer: schema["type"] = "integer"
        case .number: schema["type"] = "number"
        case .string: schema["type"] = "string"
        case .array: schema = ["type": "array", "items": ["type": "string"]]
        }
        if let minimum = spec.minimum { schema["minimum"] = .double(minimum) }
        if let maximum = spec.maximum { schema["maximum"] = .double(maximum) }
        if let minLength = spec.minLength { schema["minLength"] = .int(minLength) }
        if let maxLength = spec.maxLength { schema["maxLength"] = .int(maxLength) }
        if let values = spec.enumValues { schema["enum"] = .array(values.map { .string($0) }) }
        if let format = spec.format { schema["x-pve-format"] = .string(format) }
        if spec.multiLine { schema["x-vireo-multi-line"] = true }
        if let pattern = spec.pattern { schema["pattern"] = .string(pattern) }
        return .object(schema)
    }

    static func schemaOfReturn(_ type: String) -> JSON {
        switch type {
        case "array": ["type": "array", "items": [:]]
        case "object": ["type": "object"]
        case "null": ["nullable": true]
        case "boolean": ["type": "integer"]
        default: ["type": .string(type)]
        }
    }
}
