/// JSON that cannot be read: what is wrong and where (1-based line, byte offset).
public struct JSONError: Error, Sendable, CustomStringConvertible {
    public let reason: String
    public let line: Int
    public let offset: Int
    public var description: String { "\(reason) at line \(line)" }
}

extension JSONValue {
    /// The deepest nesting of arrays and objects read (as JSONSerialization's limit).
    public static let maximumDepth = 512

    /// Reads one JSON document (RFC 8259): any value, surrounded by white space only; a UTF-8 byte order mark is
    /// skipped. Strings must be valid UTF-8 and escapes complete (a lone surrogate is refused); a member named
    /// twice keeps its last value.
    public init(parsing bytes: some Collection<UInt8>) throws(JSONError) {
        let array = bytes as? [UInt8] ?? Array(bytes)
        let result: Result<JSONValue, JSONError> = array.withUnsafeBufferPointer { buffer in
            var reader = JSONReader(buffer)
            do throws(JSONError) { return .success(try reader.document()) } catch { return .failure(error) }
        }
        self = try result.get()
    }

    /// Reads `text` as one JSON document.
    public init(parsing text: String) throws(JSONError) {
        try self.init(parsing: Array(text.utf8))
    }
}

/// A single pass over a document's bytes.
private struct JSONReader {
    let bytes: UnsafeBufferPointer<UInt8>
    var at = 0
    var depth = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    func fail(_ reason: String) -> JSONError {
        let upTo = min(at, bytes.count)
        var line = 1
        for i in 0..<upTo where bytes[i] == 0x0A { line += 1 }
        return JSONError(reason: reason, line: line, offset: upTo)
    }

    mutating func document() throws(JSONError) -> JSONValue {
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { at = 3 }
        skipSpace()
        let value = try value()
        skipSpace()
        guard at == bytes.count else { throw fail("unexpected text after the JSON value") }
        return value
    }

    mutating func skipSpace() {
        while at < bytes.count {
            switch bytes[at] {
            case 0x20, 0x09, 0x0A, 0x0D: at += 1
            default: return
            }
        }
    }

    mutating func value() throws(JSONError) -> JSONValue {
        guard at < bytes.count else { throw fail("unexpected end of JSON") }
        switch bytes[at] {
        case UInt8(ascii: "{"): return try object()
        case UInt8(ascii: "["): return try array()
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try word("true"); return .bool(true)
        case UInt8(ascii: "f"): try word("false"); return .bool(false)
        case UInt8(ascii: "n"): try word("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
        default: throw fail("unexpected character '\(Self.shown(bytes[at]))'")
        }
    }

    static func shown(_ byte: UInt8) -> String {
        byte >= 0x20 && byte < 0x7F ? String(UnicodeScalar(byte)) : "\\x" + Hex.encode([byte])
    }

    mutating func word(_ w: StaticString) throws(JSONError) {
        let n = w.utf8CodeUnitCount
        guard at + n <= bytes.count else { throw fail("unexpected end of JSON") }
        for i in 0..<n where bytes[at + i] != w.utf8Start[i] { throw fail("invalid literal") }
        at += n
    }

    /// Steps into an object or array at its opening bracket; true when it closes at once (`{}`, `[]`), which it
    /// then also steps out of.
    mutating func enter(closing close: UInt8) throws(JSONError) -> Bool {
        depth += 1
        guard depth <= JSONValue.maximumDepth else { throw fail("nested deeper than \(JSONValue.maximumDepth) levels") }
        at += 1
        skipSpace()
        guard at < bytes.count, bytes[at] == close else { return false }
        at += 1
        depth -= 1
        return true
    }

    /// After a member or item: steps over `,` (true: another follows) or the closing bracket (false: the
    /// collection is done).
    mutating func another(closing close: UInt8, in what: String) throws(JSONError) -> Bool {
        skipSpace()
        guard at < bytes.count else { throw fail("unexpected end of JSON in \(what)") }
        if bytes[at] == UInt8(ascii: ",") {
            at += 1
            return true
        }
        guard bytes[at] == close else { throw fail("expected ',' or '\(Self.shown(close))' in \(what)") }
        at += 1
        depth -= 1
        return false
    }

    mutating func object() throws(JSONError) -> JSONValue {
        var members: [String: JSONValue] = [:]
        guard try !enter(closing: UInt8(ascii: "}")) else { return .object(members) }
        repeat {
            skipSpace()
            guard at < bytes.count else { throw fail("unexpected end of JSON in an object") }
            guard bytes[at] == UInt8(ascii: "\"") else { throw fail("expected a member name in quotes") }
            let key = try string()
            skipSpace()
            guard at < bytes.count, bytes[at] == UInt8(ascii: ":") else { throw fail("expected ':' after a member name") }
            at += 1
            skipSpace()
            members[key] = try value()
        } while try another(closing: UInt8(ascii: "}"), in: "an object")
        return .object(members)
    }

    mutating func array() throws(JSONError) -> JSONValue {
        var items: [JSONValue] = []
        guard try !enter(closing: UInt8(ascii: "]")) else { return .array(items) }
        repeat {
            skipSpace()
            items.append(try value())
        } while try another(closing: UInt8(ascii: "]"), in: "an array")
        return .array(items)
    }

    /// A number's text, checked against the grammar `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    mutating func number() throws(JSONError) -> String {
        let start = at
        func digits(_ r: inout JSONReader) -> Int {
            let s = r.at
            while r.at < r.bytes.count, r.bytes[r.at] >= 0x30, r.bytes[r.at] <= 0x39 { r.at += 1 }
            return r.at - s
        }
        if bytes[at] == UInt8(ascii: "-") { at += 1 }
        guard at < bytes.count, bytes[at] >= 0x30, bytes[at] <= 0x39 else { throw fail("invalid number") }
        if bytes[at] == UInt8(ascii: "0") {
            at += 1
            if at < bytes.count, bytes[at] >= 0x30, bytes[at] <= 0x39 { throw fail("invalid number (leading zero)") }
        } else {
            _ = digits(&self)
        }
        if at < bytes.count, bytes[at] == UInt8(ascii: ".") {
            at += 1
            guard digits(&self) > 0 else { throw fail("invalid number (no digits after '.')") }
        }
        if at < bytes.count, bytes[at] | 0x20 == UInt8(ascii: "e") {
            at += 1
            if at < bytes.count, bytes[at] == UInt8(ascii: "+") || bytes[at] == UInt8(ascii: "-") { at += 1 }
            guard digits(&self) > 0 else { throw fail("invalid number (no digits in the exponent)") }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<at]), as: UTF8.self)
        guard let d = Double(text), d.isFinite else { throw fail("number out of range") }
        return text
    }

    /// A string's value; `at` is on its opening quote.
    mutating func string() throws(JSONError) -> String {
        at += 1
        let start = at
        // The common case: no escapes, so the bytes are the value.
        while at < bytes.count {
            let b = bytes[at]
            if b == UInt8(ascii: "\"") {
                let slice = UnsafeBufferPointer(rebasing: bytes[start..<at])
                at += 1
                guard let s = String(validating: slice, as: UTF8.self) else { throw fail("string is not valid UTF-8") }
                return s
            }
            if b == UInt8(ascii: "\\") { break }
            guard b >= 0x20 else { throw fail("control character in a string") }
            at += 1
        }
        var out = Array(UnsafeBufferPointer(rebasing: bytes[start..<at]))
        while at < bytes.count {
            let b = bytes[at]
            switch b {
            case UInt8(ascii: "\""):
                at += 1
                guard let s = String(validating: out, as: UTF8.self) else { throw fail("string is not valid UTF-8") }
                return s
            case UInt8(ascii: "\\"):
                at += 1
                guard at < bytes.count else { throw fail("unexpected end of JSON in a string") }
                let e = bytes[at]
                at += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if scalar >= 0xD800, scalar < 0xDC00 {
                        guard at + 1 < bytes.count, bytes[at] == UInt8(ascii: "\\"), bytes[at + 1] == UInt8(ascii: "u") else {
                            throw fail("unpaired surrogate in a \\u escape")
                        }
                        at += 2
                        let low = try hex4()
                        guard low >= 0xDC00, low < 0xE000 else { throw fail("unpaired surrogate in a \\u escape") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if scalar >= 0xDC00, scalar < 0xE000 {
                        throw fail("unpaired surrogate in a \\u escape")
                    }
                    guard let u = Unicode.Scalar(scalar) else { throw fail("invalid \\u escape") }
                    out.append(contentsOf: UTF8.encode(u)!)
                default:
                    at -= 1
                    throw fail("invalid escape '\\\(Self.shown(e))'")
                }
            default:
                guard b >= 0x20 else { throw fail("control character in a string") }
                out.append(b)
                at += 1
            }
        }
        throw fail("unexpected end of JSON in a string")
    }

    mutating func hex4() throws(JSONError) -> UInt32 {
        guard at + 4 <= bytes.count else { throw fail("unexpected end of JSON in a \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            guard let d = Hex.value(of: bytes[at]) else { throw fail("invalid \\u escape") }
            v = v << 4 | UInt32(d)
            at += 1
        }
        return v
    }
}
