import Foundation
import Testing

@testable import VireoCore

/// The hand parser against Foundation's decoder (what `JSON.parse` used before), and the
/// refusals RFC 8259 asks for.
struct JSONParserTests {
    static let documents: [String] = [
        #"{"a":1,"b":[true,false,null],"c":{"d":"e"}}"#,
        #"  [ 1 , -2 , 3.5 , -0.25 , 1e3 , 2E-2 , 0 , -0 ]  "#,
        #"{"header":{"revision":"218","raft_term":"2"},"kvs":[{"key":"L3ZpcmVvL3Q=","value":"","mod_revision":"12"}]}"#,
        #""\"quoted\" \\ \/ \b\f\n\r\t \u00e9 \u4e2d \ud83d\ude00""#,
        #""plain ascii, no escapes""#,
        #""unicode as is: é 中 😀""#,
        #"9223372036854775807"#,
        #"-9223372036854775808"#,
        #"9223372036854775808"#,
        #"123456789012345678901234567890"#,
        #"[[[[[]]]],{}]"#,
        #"{"dup":1,"dup":2}"#,
        "true", "false", "null", "0.1", "[]", "{}",
    ]

    @Test(arguments: documents) func agreesWithFoundation(_ text: String) throws {
        let expected = try JSONDecoder().decode(JSON.self, from: Data(text.utf8))
        #expect(try JSONParser.parse(text) == expected)
    }

    @Test func keepsIntegersApartFromDoubles() throws {
        #expect(try JSONParser.parse("[7, 7.5, 1e3, 1e-3, 1e300]") == [7, 7.5, 1000, 0.001, 1e300])
    }

    static let malformed: [String] = [
        "", " ", "{", "[1,]", "[1 2]", #"{"a" 1}"#, #"{"a":1,}"#, "{a:1}", "01", "1.", ".5", "-", "1e", "+1",
        "tru", "nul", #""unterminated"#, "\"tab\there\"", #""\x""#, #""\u12""#, #""\ud800""#, #""\udc00 ""#,
        "[1] 2", "NaN", "Infinity", String(repeating: "[", count: 600) + String(repeating: "]", count: 600),
    ]

    @Test(arguments: malformed) func refusesWhatIsNotJSON(_ text: String) {
        #expect(throws: JSONParser.Failure.self) { try JSONParser.parse(text) }
    }

    @Test func roundTripsWhatItSerializes() throws {
        let value: JSON = [
            "name": "vm \"one\"\n", "ids": [1, -2, 3], "ratio": 0.5, "on": true, "none": nil,
            "nested": ["deep": ["deeper": "é😀\u{1}"]],
        ]
        #expect(try JSONParser.parse(value.serialized()) == value)
    }
}
