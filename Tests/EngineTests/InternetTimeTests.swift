import Engine
import Foundation
import Testing

/// dray's time parsing and printing without Foundation's formatters, checked against those formatters.
@Suite("Internet times")
struct InternetTimeTests {
    static func foundationRFC3339(_ s: String) -> Date? {
        let plain = ISO8601DateFormatter()
        plain.formatOptions = [.withInternetDateTime]
        if let d = plain.date(from: s) { return d }
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return fractional.date(from: s)
    }

    @Test("RFC 3339 times parse as Foundation's ISO 8601 formatter parses them", arguments: [
        "2021-01-12T11:53:27Z", "1970-01-01T00:00:00Z", "2000-02-29T23:59:59Z", "2026-12-04T23:48:32.123Z",
        "2026-12-04T23:48:32.5Z", "2026-12-04T23:48:32+01:00", "2026-12-04T23:48:32-05:30", "2038-01-19T03:14:08Z",
        "2100-03-01T00:00:00Z", "1999-12-31T23:59:59.999+00:00",
    ])
    func rfc3339(text: String) throws {
        let ours = try #require(InternetTime.parseRFC3339(text))
        let theirs = try #require(Self.foundationRFC3339(text))
        #expect(abs(ours.timeIntervalSince1970 - theirs.timeIntervalSince1970) < 0.001)
    }

    @Test("what is not an RFC 3339 time is refused", arguments: [
        "", "2021-01-12", "2021-01-12T11:53:27", "2021-13-12T11:53:27Z", "2021-02-29T11:53:27Z", "2021-01-12 11:53:27Z",
        "2021-01-12T24:00:00Z", "2021-01-12T11:53:27.Z", "2021-01-12T11:53:27+0100", "2021-01-12T11:53:27Zjunk", "21-01-12T11:53:27Z",
    ])
    func refused(text: String) {
        #expect(InternetTime.parseRFC3339(text) == nil)
    }

    @Test("times print as Foundation's ISO 8601 formatter prints them")
    func printing() {
        let start: Double = -94_608_000, end: Double = 2_522_880_000, step: Double = 3_226_391.7
        for t in stride(from: start, to: end, by: step) {
            let d = Date(timeIntervalSince1970: t)
            #expect(InternetTime.rfc3339(d) == ISO8601DateFormatter().string(from: d))
        }
    }

    @Test("HTTP dates parse as Foundation's formatter parses them; other forms are refused")
    func httpDate() throws {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "GMT")
        f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        for text in ["Sun, 06 Nov 1994 08:49:37 GMT", "Fri, 04 Dec 2026 23:48:32 GMT", "Thu, 29 Feb 2024 00:00:00 GMT"] {
            let ours = try #require(InternetTime.parseHTTPDate(text))
            #expect(ours == f.date(from: text))
        }
        for text in ["", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994", "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 31 Nov 1994 08:49:37 GMT"] {
            #expect(InternetTime.parseHTTPDate(text) == nil)
        }
    }
}
