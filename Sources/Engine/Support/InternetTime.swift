#if canImport(Glibc)
import Glibc
#endif
import FoundationEssentials

/// Times as Internet formats write them, parsed and printed by dray: RFC 3339 (`2021-01-12T11:53:27Z`,
/// fractions and offsets allowed) and HTTP's IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), without
/// Foundation's formatters (which load ICU's data).
public enum InternetTime {
    /// An RFC 3339 time: `YYYY-MM-DDTHH:MM:SS`, an optional fraction, then `Z` or `±HH:MM`.
    public static func parseRFC3339(_ text: String) -> Date? {
        var s = Scanner(text)
        guard let year = s.digits(4), s.take("-"), let month = s.digits(2), s.take("-"), let day = s.digits(2),
              s.take("T"), let hour = s.digits(2), s.take(":"), let minute = s.digits(2), s.take(":"),
              let second = s.digits(2)
        else { return nil }
        var fraction = 0.0
        if s.take(".") {
            var scale = 0.1
            var any = false
            while let d = s.digits(1) {
                fraction += Double(d) * scale
                scale /= 10
                any = true
            }
            guard any else { return nil }
        }
        var offset = 0
        if s.take("Z") {
        } else if let sign = s.one(of: "+-"), let oh = s.digits(2), s.take(":"), let om = s.digits(2), oh < 24, om < 60 {
            offset = (oh * 3600 + om * 60) * (sign == "-" ? -1 : 1)
        } else {
            return nil
        }
        guard s.atEnd, let t = epoch(year, month, day, hour, minute, second) else { return nil }
        return Date(timeIntervalSince1970: Double(t - offset) + fraction)
    }

    /// `date` as RFC 3339 in UTC, to the second (`2026-12-04T23:48:32Z`).
    public static func rfc3339(_ date: Date) -> String {
        var t = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&t, &parts)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))Z"
    }

    /// An HTTP date in the IMF-fixdate form (`Sun, 06 Nov 1994 08:49:37 GMT`), the one HTTP senders must use.
    public static func parseHTTPDate(_ text: String) -> Date? {
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
        let f = text.split(separator: " ", omittingEmptySubsequences: false)
        guard f.count == 6, f[0].count == 4, f[0].hasSuffix(","), days.contains(String(f[0].dropLast())),
              f[1].count == 2, let day = Int(f[1]), let month = months.firstIndex(of: String(f[2])),
              f[3].count == 4, let year = Int(f[3]), f[5] == "GMT"
        else { return nil }
        var s = Scanner(String(f[4]))
        guard let hour = s.digits(2), s.take(":"), let minute = s.digits(2), s.take(":"), let second = s.digits(2), s.atEnd,
              let t = epoch(year, month + 1, day, hour, minute, second)
        else { return nil }
        return Date(timeIntervalSince1970: Double(t))
    }

    /// Seconds since 1970 of a UTC calendar time, or nil when a field is out of range.
    private static func epoch(_ year: Int, _ month: Int, _ day: Int, _ hour: Int, _ minute: Int, _ second: Int) -> Int? {
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        let lengths = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard (1...12).contains(month), (1...lengths[month - 1]).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        // Days from 1970-01-01 to the date (civil calendar, proleptic Gregorian).
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146_097 + doe - 719_468
        return days * 86_400 + hour * 3600 + minute * 60 + second
    }

    /// A cursor over ASCII text.
    private struct Scanner {
        let bytes: [UInt8]
        var i = 0
        init(_ text: String) { bytes = Array(text.utf8) }
        var atEnd: Bool { i == bytes.count }
        mutating func take(_ c: Character) -> Bool {
            guard i < bytes.count, bytes[i] == c.asciiValue! else { return false }
            i += 1
            return true
        }
        mutating func one(of set: String) -> Character? {
            guard i < bytes.count, set.utf8.contains(bytes[i]) else { return nil }
            i += 1
            return Character(UnicodeScalar(bytes[i - 1]))
        }
        mutating func digits(_ n: Int) -> Int? {
            guard i + n <= bytes.count else { return nil }
            var v = 0
            for b in bytes[i..<i + n] {
                guard (48...57).contains(b) else { return nil }
                v = v * 10 + Int(b - 48)
            }
            i += n
            return v
        }
    }
}
