/// YAML 1.1's core tags, and the type a plain scalar's text resolves to (the rules of Yams' default resolver, which
/// libyaml users share): used to tell duplicate mapping keys apart (`1` and `"1"` differ, `a` and `"a"` do not).
enum YAMLTag {
    static let prefix = "tag:yaml.org,2002:"
    static let str = prefix + "str"
    static let map = prefix + "map"
    static let seq = prefix + "seq"

    /// The tag of an untagged plain scalar: the first rule that matches, in the order bool, int, float, merge, null,
    /// timestamp, value; else `str`.
    static func implicit(_ text: String) -> String {
        let b = Array(text.utf8)
        let name: String
        if isBool(text) { name = "bool" }
        else if isInt(b) { name = "int" }
        else if isFloat(b) { name = "float" }
        else if text == "<<" { name = "merge" }
        else if ["", "~", "null", "Null", "NULL"].contains(text) { name = "null" }
        else if isTimestamp(b) { name = "timestamp" }
        else if text == "=" { name = "value" }
        else { name = "str" }
        return prefix + name
    }

    static func isBool(_ text: String) -> Bool {
        ["yes", "Yes", "YES", "no", "No", "NO", "true", "True", "TRUE", "false", "False", "FALSE",
         "on", "On", "ON", "off", "Off", "OFF"].contains(text)
    }

    /// `[-+]?` then binary `0b…`, octal `0…`/`0o…`, decimal, hexadecimal `0x…`, or base 60 `1:30:00`.
    static func isInt(_ b: [UInt8]) -> Bool {
        var s = Scan(b)
        s.sign()
        let digits = s.i
        if s.take("0") {
            if s.take("b") { return s.many(binary) && s.done }
            if s.take("x") { return s.many(hex) && s.done }
            if s.done { return true }
            _ = s.take("o")
            return s.many(octal) && s.done
        }
        s.i = digits
        guard s.one(nonZero) else { return false }
        s.any(digitOrUnderscore)
        if s.done { return true }
        return s.sexagesimal() && s.done
    }

    /// Decimal with optional fraction and exponent, `.5`, base 60 with a fraction, `.inf`, `.nan`.
    static func isFloat(_ b: [UInt8]) -> Bool {
        var s = Scan(b)
        s.sign()
        let afterSign = s.i
        if s.one(digit) {
            s.any(digitOrUnderscore)
            if s.peek == UInt8(ascii: ":") {
                return s.sexagesimal() && s.take(".") && { s.any(digitOrUnderscore); return s.done }()
            }
            if s.take(".") { s.any(digitOrUnderscore) }
            if s.take("e") || s.take("E") {
                _ = s.take("-") || s.take("+")
                guard s.many(digit) else { return false }
            }
            return s.done
        }
        s.i = afterSign
        guard s.take(".") else { return false }
        let rest = String(decoding: b[s.i...], as: UTF8.self)
        if ["inf", "Inf", "INF"].contains(rest) { return true }
        // `.5`, `.nan` take no sign.
        guard afterSign == 0 else { return false }
        if ["nan", "NaN", "NAN"].contains(rest) { return true }
        guard s.many(digitOrUnderscore) else { return false }
        if s.take("e") || s.take("E") {
            guard s.take("-") || s.take("+"), s.many(digit) else { return false }
        }
        return s.done
    }

    /// `2001-12-14`, or `2001-12-14t21:59:43.10-05:00` with `T`, `t` or spaces between date and time.
    static func isTimestamp(_ b: [UInt8]) -> Bool {
        var s = Scan(b)
        guard s.count(digit, 4), s.take("-") else { return false }
        let month = s.i
        if s.count(digit, 2), s.take("-"), s.count(digit, 2), s.done { return true }
        s.i = month
        guard s.oneOrTwoDigits(), s.take("-"), s.oneOrTwoDigits() else { return false }
        if !(s.take("T") || s.take("t")) {
            guard s.many(blank) else { return false }
        }
        guard s.oneOrTwoDigits(), s.take(":"), s.count(digit, 2), s.take(":"), s.count(digit, 2) else { return false }
        if s.take(".") { s.any(digit) }
        if s.done { return true }
        s.any(blank)
        if s.take("Z") { return s.done }
        guard s.take("-") || s.take("+"), s.oneOrTwoDigits() else { return false }
        if s.take(":") { guard s.count(digit, 2) else { return false } }
        return s.done
    }

    static func digit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
    static func nonZero(_ c: UInt8) -> Bool { c >= 0x31 && c <= 0x39 }
    static func digitOrUnderscore(_ c: UInt8) -> Bool { digit(c) || c == 0x5F }
    static func binary(_ c: UInt8) -> Bool { c == 0x30 || c == 0x31 || c == 0x5F }
    static func octal(_ c: UInt8) -> Bool { (c >= 0x30 && c <= 0x37) || c == 0x5F }
    static func hex(_ c: UInt8) -> Bool { digitOrUnderscore(c) || (c | 0x20 >= 0x61 && c | 0x20 <= 0x66) }
    static func blank(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 }

    /// A cursor over the text for the rules above.
    struct Scan {
        let b: [UInt8]
        var i = 0
        init(_ b: [UInt8]) { self.b = b }

        var done: Bool { i == b.count }
        var peek: UInt8 { i < b.count ? b[i] : 0 }

        mutating func take(_ c: Unicode.Scalar) -> Bool {
            guard peek == UInt8(ascii: c) else { return false }
            i += 1
            return true
        }
        mutating func sign() { _ = take("-") || take("+") }
        mutating func one(_ p: (UInt8) -> Bool) -> Bool {
            guard i < b.count, p(b[i]) else { return false }
            i += 1
            return true
        }
        mutating func any(_ p: (UInt8) -> Bool) { while one(p) {} }
        mutating func many(_ p: (UInt8) -> Bool) -> Bool {
            guard one(p) else { return false }
            any(p)
            return true
        }
        mutating func count(_ p: (UInt8) -> Bool, _ n: Int) -> Bool {
            for _ in 0..<n where !one(p) { return false }
            return true
        }
        mutating func oneOrTwoDigits() -> Bool {
            guard one(YAMLTag.digit) else { return false }
            _ = one(YAMLTag.digit)
            return true
        }
        /// `(:[0-5]?[0-9])+`
        mutating func sexagesimal() -> Bool {
            var groups = 0
            while take(":") {
                guard i < b.count, YAMLTag.digit(b[i]) else { return false }
                if b[i] <= 0x35, i + 1 < b.count, YAMLTag.digit(b[i + 1]) { i += 2 } else { i += 1 }
                groups += 1
            }
            return groups > 0
        }
    }
}
