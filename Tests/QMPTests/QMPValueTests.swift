import Testing

@testable import QMP

@Suite struct QMPValueTests {
    @Test func decodesEachJSONKind() throws {
        let json = #"{"n":null,"t":true,"f":false,"i":42,"neg":-7,"d":1.5,"s":"a\/b","a":[1,"x"],"o":{"k":{}}}"#
        let value = try QMPValue(json: Array(json.utf8))
        #expect(
            value == [
                "n": nil, "t": true, "f": false, "i": 42, "neg": -7, "d": 1.5, "s": "a/b", "a": [1, "x"],
                "o": ["k": [:]],
            ]
        )
    }

    @Test func keepsBoolsAndNumbersApart() throws {
        #expect(try QMPValue(json: Array("[1,0,true,false]".utf8)) == [.int(1), .int(0), .bool(true), .bool(false)])
    }

    @Test func integersBeyondIntDecodeAsDouble() throws {
        let value = try QMPValue(json: Array("18446744073709551615".utf8))
        #expect(value.doubleValue == Double(UInt64.max))
        #expect(value.intValue == nil)
    }

    @Test func rejectsNonJSON() {
        #expect(throws: QMPError.self) { try QMPValue(json: Array("{not json".utf8)) }
    }

    @Test func encodesCompactlyWithSortedKeysAndPlainSlashes() throws {
        let value: QMPValue = ["uri": "unix:/run/x", "b": [true, nil], "a": 1]
        #expect(
            String(decoding: try value.jsonBytes(), as: UTF8.self) == #"{"a":1,"b":[true,null],"uri":"unix:/run/x"}"#
        )
        #expect(value.description == #"{"a":1,"b":[true,null],"uri":"unix:/run/x"}"#)
    }

    @Test func refusesToEncodeNaN() {
        #expect(throws: QMPError.self) { try QMPValue.double(.nan).jsonBytes() }
    }

    @Test func accessorsReturnNilForOtherKinds() {
        let value: QMPValue = ["list": [10, 2.0, 2.5], "flag": true, "name": "vm"]
        #expect(value["list"]?[0]?.intValue == 10)
        #expect(value["list"]?[1]?.intValue == 2)
        #expect(value["list"]?[2]?.intValue == nil)
        #expect(value["list"]?[2]?.doubleValue == 2.5)
        #expect(value["list"]?[3] == nil)
        #expect(value["flag"]?.boolValue == true)
        #expect(value["flag"]?.stringValue == nil)
        #expect(value["name"]?.stringValue == "vm")
        #expect(value["name"]?["x"] == nil)
        #expect(value["missing"] == nil)
        #expect(value.objectValue?.count == 3)
        #expect(value["list"]?.arrayValue?.count == 3)
        #expect(QMPValue.null.isNull)
    }

    @Test func eventTimestampCombinesSecondsAndMicroseconds() throws {
        let message: QMPValue = ["event": "RESET", "timestamp": ["seconds": 10, "microseconds": 500_000]]
        let event = try #require(QMPEvent(message: message))
        #expect(event == QMPEvent(name: QMPEvent.Name.reset, data: .null, timestamp: 10.5))
    }
}
