import Foundation
import Testing
import VireoAccess
import VireoCore

@testable import VireoAPI

@Suite struct ParameterValidatorTests {
    let validator = ParameterValidator()
    let createUser: EndpointSchema

    init() throws {
        createUser = try #require(APISchema.pveEndpoint(.post, "/access/users"))
    }

    func form(_ text: String) -> RawParameters {
        var raw = RawParameters()
        raw.merge(formEncoded: Substring(text))
        return raw
    }

    @Test func acceptsAValidRequestAndCanonicalisesBooleans() throws {
        let p = try validator.validate(
            form("userid=alice%40pve&enable=0&expire=%2B5&groups=a&groups=b"),
            against: createUser
        )
        #expect(p["userid"] == "alice@pve")
        #expect(p.bool("enable") == false)
        #expect(p.int("expire") == 5)
        #expect(p.list("groups") == ["a", "b"])
    }

    @Test func namesEveryBadParameter() throws {
        do {
            _ = try validator.validate(form("userid=nobody&enable=yes&expire=-1&bogus=1"), against: createUser)
            Issue.record("expected a validation failure")
        } catch let error as VireoError {
            #expect(error.code == .invalidArgument)
            #expect(error.message == "Parameter verification failed.")
            #expect(error.parameterErrors["enable"] == "type check ('boolean') failed - got 'yes'")
            #expect(error.parameterErrors["expire"] == "value must have a minimum value of 0")
            #expect(error.parameterErrors["userid"]?.hasPrefix("invalid format") == true)
            #expect(error.parameterErrors["bogus"]?.contains("not defined in schema") == true)
        }
    }

    @Test func missingRequiredParameterIsNamed() {
        #expect(throws: VireoError.self) { try validator.validate(form(""), against: createUser) }
    }

    @Test func jsonBodyKeepsTypes() throws {
        var raw = RawParameters()
        try raw.merge(jsonBody: Array(#"{"userid":"a@pve","enable":true,"expire":7}"#.utf8))
        let p = try validator.validate(raw, against: createUser)
        #expect(p.bool("enable") == true)
        #expect(p.int("expire") == 7)
    }

    @Test func formDecodingFollowsProxmox() {
        let raw = form("a=1;b=x+y&c&_dc=123&d=%41")
        #expect(raw["a"] == .text("1"))
        #expect(raw["b"] == .text("x y"))
        #expect(raw["c"] == nil)
        #expect(raw["_dc"] == nil)
        #expect(raw["d"] == .text("A"))
    }
}

@Suite struct APIRegistryTests {
    @Test func everyRegisteredEndpointHasASchemaAndRoutes() {
        let registry = VireoAPI.makeRegistry()
        #expect(registry.endpoints.count >= 50)
        for endpoint in registry.endpoints {
            let path = endpoint.path.replacingOccurrences(of: "{", with: "").replacingOccurrences(of: "}", with: "")
            guard case .found(let found, _, _) = registry.match(endpoint.method, Substring(path)) else {
                Issue.record("\(endpoint.method) \(endpoint.path) does not route")
                continue
            }
            #expect(found.path == endpoint.path)
        }
    }

    @Test func unknownPathsDoNotMatch() {
        let registry = VireoAPI.makeRegistry()
        guard case .notFound = registry.match(.get, "/nope") else {
            Issue.record("expected notFound")
            return
        }
        guard case .found(_, let captures, _) = registry.match(.get, "/access/users/alice@pve") else {
            Issue.record("expected a match")
            return
        }
        #expect(captures["userid"] == "alice@pve")
    }

    @Test func credentialsAreExtractedAsProxmoxDoes() {
        typealias R = APIResponder<TestContext>
        #expect(
            R.credential(named: "PVEAuthCookie", in: "a=b; PVEAuthCookie=PVE%3Aroot@pam%3A1::x+y/z=")
                == "PVE:root@pam:1::x+y/z="
        )
        #expect(R.credential(named: "PVEAPIToken", in: "PVEAPIToken=a@pve!t=uuid") == "a@pve!t=uuid")
        #expect(R.credential(named: "PVEAPIToken", in: "PVEAPIToken a@pve!t=uuid") == "a@pve!t=uuid")
        #expect(R.credential(named: "PVEAuthCookie", in: "XPVEAuthCookie=1") == nil)
    }
}

extension ParameterValidatorTests {
    @Test(arguments: ["%0A", "%0D", "%00", "%1B", "%7F", "%C2%85", "%E2%80%A8", "%09"])
    func controlCharactersAreRefusedInOneLineStrings(encoded: String) throws {
        do {
            _ = try validator.validate(form("userid=alice%40pve&firstname=a\(encoded)b"), against: createUser)
            Issue.record("expected a validation failure for \(encoded)")
        } catch let error as VireoError {
            #expect(error.parameterErrors["firstname"]?.contains("control characters") == true)
        }
    }

    @Test func freeTextMayHoldLineBreaks() throws {
        let p = try validator.validate(form("userid=alice%40pve&comment=line%20one%0Aline%20two"), against: createUser)
        #expect(p["comment"] == "line one\nline two")
        #expect(throws: VireoError.self) {
            try validator.validate(form("userid=alice%40pve&comment=bell%07"), against: createUser)
        }
    }
}
