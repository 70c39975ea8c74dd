public import VireoAccess

/// Namespace for the generated Proxmox schema table (see `scripts/gen-api-schema.py`).
public enum APISchema {
    /// The schema of `METHOD /path` as Proxmox declares it.
    public static func pveEndpoint(_ method: APIMethod, _ path: String) -> EndpointSchema? {
        pve["\(method.rawValue) \(path)"]
    }
}

public enum APIMethod: String, Sendable, CaseIterable {
    case get = "GET"
    case post = "POST"
    case put = "PUT"
    case delete = "DELETE"
}

extension EndpointSchema {
    /// This schema with Vireo's own extra parameters (documented as additions to Proxmox's API).
    public func adding(_ extra: [ParameterSpec]) -> EndpointSchema {
        var copy = self
        copy.parameters += extra
        return copy
    }
}

/// Everything about an endpoint except its handler.
public struct EndpointSchema: Sendable {
    public var parameters: [ParameterSpec]
    public var permission: PermissionCheck
    /// Runs with root privileges on the node (pvedaemon's methods); kept for the OpenAPI document.
    public var protected: Bool
    public var allowToken: Bool
    public var additionalProperties: Bool
    /// The JSON type of `data`: "null", "object", "array", "string", …
    public var returns: String
    /// The handler reads the body itself (multipart uploads); the responder checks only the URI.
    public var streamsBody = false
    /// The answer is a stream of this media type instead of the JSON envelope (the event stream).
    public var streamedResponse: String?
    /// What only root may send to this endpoint, from ``RootOnlyPolicy/rules`` (set at registration).
    var rootOnly: RootOnlyPolicy.Rule?
    /// Schema parameters the handler does not act on: refused when sent (set at registration).
    var unhandled: Set<String> = []
    /// The schema's defaults, parsed once (set at registration).
    var parsedDefaults: [String: ParameterValue] = [:]

    /// The schema with every parameter optional: what can be checked before a streamed body is read.
    var uriOnly: EndpointSchema {
        var copy = self
        copy.parameters = parameters.map { spec in
            var optional = spec
            optional.optional = true
            optional.requires = nil
            return optional
        }
        return copy
    }

    public init(
        parameters: [ParameterSpec],
        permission: PermissionCheck,
        protected: Bool = false,
        allowToken: Bool = true,
        additionalProperties: Bool = false,
        returns: String = "null"
    ) {
        self.parameters = parameters
        self.permission = permission
        self.protected = protected
        self.allowToken = allowToken
        self.additionalProperties = additionalProperties
        self.returns = returns
    }
}

/// One parameter's schema: the facts Proxmox validates before any handler runs.
public struct ParameterSpec: Sendable {
    public enum Kind: String, Sendable {
        case string, integer, number, boolean, array
    }
    public var name: String
    public var kind: Kind
    public var optional: Bool
    public var format: String?
    public var pattern: String?
    public var minLength: Int?
    public var maxLength: Int?
    public var minimum: Double?
    public var maximum: Double?
    public var enumValues: [String]?
    public var defaultValue: String?
    /// Free text that may span lines (a description, a file's content); other strings are one line.
    public var multiLine = false
    public var requires: String?

    public init(
        _ name: String,
        _ kind: Kind,
        optional: Bool = false,
        format: String? = nil,
        pattern: String? = nil,
        minLength: Int? = nil,
        maxLength: Int? = nil,
        minimum: Double? = nil,
        maximum: Double? = nil,
        enumValues: [String]? = nil,
        defaultValue: String? = nil,
        requires: String? = nil
    ) {
        self.name = name
        self.kind = kind
        self.optional = optional
        self.format = format
        self.pattern = pattern
        self.minLength = minLength
        self.maxLength = maxLength
        self.minimum = minimum
        self.maximum = maximum
        self.enumValues = enumValues
        self.defaultValue = defaultValue
        self.requires = requires
    }
}
