import Testing

@testable import VireoAPI

@Suite struct MultipartParserTests {
    static let body = Array(
        ("--XyZ\r\nContent-Disposition: form-data; name=\"content\"\r\n\r\niso\r\n"
            + "--XyZ\r\nContent-Disposition: form-data; name=\"filename\"; filename=\"a.iso\"\r\n"
            + "Content-Type: application/octet-stream\r\n\r\nDATA\r\n--X not yet\r\n--XyZ--\r\n").utf8
    )

    func events(chunk: Int) throws -> (fields: [String: String], file: [UInt8], name: String?) {
        var parser = MultipartParser(boundary: "XyZ")
        var fields: [String: String] = [:]
        var file: [UInt8] = []
        var current: [String: String] = [:]
        var bytes: [UInt8] = []
        for start in stride(from: 0, to: Self.body.count, by: chunk) {
            for event in try parser.feed(Self.body[start..<min(start + chunk, Self.body.count)]) {
                switch event {
                case .partStart(let headers):
                    current = headers
                    bytes = []
                case .data(let data): bytes += data
                case .partEnd:
                    if current.dispositionParameter("filename") != nil {
                        file = bytes
                    } else if let name = current.dispositionParameter("name") {
                        fields[name] = String(decoding: bytes, as: UTF8.self)
                    }
                }
            }
        }
        #expect(parser.state == .done)
        return (fields, file, current.dispositionParameter("filename"))
    }

    @Test(arguments: [1, 3, 7, 64, 4096])
    func splitsPartsWhateverTheChunking(chunk: Int) throws {
        let result = try events(chunk: chunk)
        #expect(result.fields == ["content": "iso"])
        #expect(String(decoding: result.file, as: UTF8.self) == "DATA\r\n--X not yet")
        #expect(result.name == "a.iso")
    }

    @Test func readsTheBoundaryFromTheContentType() {
        #expect(MultipartParser.boundary(of: "multipart/form-data; boundary=\"abc\"") == "abc")
        #expect(MultipartParser.boundary(of: "application/json") == nil)
    }
}
