import Testing
import VireoCore

@testable import VireoHost

/// `query-url-metadata`: the file name, size and type from `curl --head --location --write-out
/// '\n%{url_effective}'`.
@Suite struct URLFetcherTests {
    /// A download link that redirects to a mirror (HTTP/1.1 302, then HTTP/2 200), CRLF line ends.
    static let redirected =
        "HTTP/1.1 302 Found\r\n"
        + "Date: Fri, 15 Mar 2024 10:07:30 GMT\r\n"
        + "Content-Type: text/html; charset=iso-8859-1\r\n"
        + "Content-Length: 329\r\n"
        + "Location: https://mirror.example.net/debian-cd/12.5.0/amd64/iso-cd/debian-12.5.0-amd64-netinst.iso\r\n"
        + "\r\n"
        + "HTTP/2 200 \r\n"
        + "server: nginx\r\n"
        + "date: Fri, 15 Mar 2024 10:07:31 GMT\r\n"
        + "content-type: application/x-iso9660-image; charset=binary\r\n"
        + "content-length: 659554304\r\n"
        + "content-disposition: attachment; filename=\"debian-12.5.0-amd64-netinst.iso\"; size=659554304\r\n"
        + "last-modified: Sat, 10 Feb 2024 12:20:41 GMT\r\n"
        + "accept-ranges: bytes\r\n"
        + "\r\n"
        + "\nhttps://mirror.example.net/debian-cd/12.5.0/amd64/iso-cd/debian-12.5.0-amd64-netinst.iso"

    @Test func theLastResponseAfterTheRedirectsCounts() throws {
        let metadata = try NodeHost.parseHead(Self.redirected)
        #expect(metadata.size == 659_554_304)
        #expect(metadata.mimeType == "application/x-iso9660-image")
        #expect(metadata.filename == "debian-12.5.0-amd64-netinst.iso")
    }

    @Test func withoutADispositionTheNameIsTheLastPathComponentOfTheFinalURL() throws {
        let text =
            "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 2361393152\r\n\r\n"
            + "\nhttps://cloud-images.example.com/jammy/current/jammy-server-cloudimg-amd64.img?sig=abc"
        let metadata = try NodeHost.parseHead(text)
        #expect(metadata.filename == "jammy-server-cloudimg-amd64.img")
        #expect(metadata.size == 2_361_393_152)
        #expect(metadata.mimeType == "application/octet-stream")

        let encoded = try NodeHost.parseHead("HTTP/1.1 200 OK\r\n\r\n\nhttps://example.com/isos/my%20image.iso")
        #expect(encoded.filename == "my image.iso")
        #expect(encoded.size == nil)
        #expect(encoded.mimeType == nil)
    }

    @Test func aDirectoryURLHasNoFileName() throws {
        let metadata = try NodeHost.parseHead(
            "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n\nhttps://example.com/isos/"
        )
        #expect(metadata.mimeType == "text/html")
        // Proxmox offers no name here; the directory's name would be a wrong guess.
        #expect(metadata.filename == nil)
    }

    @Test func aFailedRequestNamesTheServersStatus() {
        let text =
            "HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\nContent-Length: 153\r\n\r\n"
            + "\nhttps://example.com/missing.iso"
        let error = #expect(throws: VireoError.self) { try NodeHost.parseHead(text) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message == "invalid server response: '404 Not Found'")

        // A redirect to a page that fails is a failure too, whatever came before.
        let redirectedToNothing =
            "HTTP/1.1 301 Moved Permanently\r\nLocation: https://example.com/gone\r\n\r\n"
            + "HTTP/1.1 410 Gone\r\n\r\n\nhttps://example.com/gone"
        let gone = #expect(throws: VireoError.self) { try NodeHost.parseHead(redirectedToNothing) }
        #expect(gone?.message == "invalid server response: '410 Gone'")
    }

    @Test func noResponseAtAllIsAFailure() {
        let error = #expect(throws: VireoError.self) { try NodeHost.parseHead("\nhttps://example.com/x.iso") }
        #expect(error?.message == "invalid server response: ''")
    }
}
