import Engine
import FoundationEssentials

/// Strict reading of the protobuf-JSON that Sigstore bundles and trusted roots are written in: every field is
/// checked for its type, base64 is decoded strictly, 64-bit integers may be strings (as protobuf-JSON writes
/// them), and each failure names the field's path.
struct SigstoreJSON {
    let object: [String: JSONValue]
    /// Where this object sits in the document (`verificationMaterial.tlogEntries[0]`), for errors.
    let path: String

    init(_ object: [String: JSONValue], path: String) {
        self.object = object
        self.path = path
    }

    /// Parses `bytes` as a JSON object of at most `limit` bytes.
    init(parsing bytes: [UInt8], limit: Int, what: String) throws {
        guard bytes.count <= limit else { throw SigstoreFormatError("\(what) is larger than \(limit >> 20) MiB") }
        let value: JSONValue
        do { value = try JSONValue(parsing: bytes) } catch {
            throw SigstoreFormatError("\(what) is not valid JSON")
        }
        guard let object = value.object else { throw SigstoreFormatError("\(what) is not a JSON object") }
        self.init(object, path: "")
    }

    func name(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func has(_ key: String) -> Bool { object[key].map { !$0.isNull } ?? false }

    func string(_ key: String) throws -> String {
        guard let s = try optionalString(key) else { throw SigstoreFormatError("\(name(key)) is missing") }
        return s
    }

    func optionalString(_ key: String) throws -> String? {
        guard has(key) else { return nil }
        guard let s = object[key]?.string else { throw SigstoreFormatError("\(name(key)) is not a string") }
        return s
    }

    /// A base64 field (standard alphabet, padding optional), decoded.
    func bytes(_ key: String) throws -> [UInt8] {
        guard let b = try optionalBytes(key) else { throw SigstoreFormatError("\(name(key)) is missing") }
        return b
    }

    func optionalBytes(_ key: String) throws -> [UInt8]? {
        guard let s = try optionalString(key) else { return nil }
        guard let d = Self.base64(s) else { throw SigstoreFormatError("\(name(key)) is not valid base64") }
        return d
    }

    /// A 64-bit integer written as a number or a decimal string.
    func int64(_ key: String) throws -> Int64 {
        guard let v = try optionalInt64(key) else { throw SigstoreFormatError("\(name(key)) is missing") }
        return v
    }

    func optionalInt64(_ key: String) throws -> Int64? {
        guard has(key) else { return nil }
        if let s = object[key]?.string {
            guard let v = Int64(s) else { throw SigstoreFormatError("\(name(key)) is not an integer") }
            return v
        }
        if let v = object[key]?.integer { return v }
        throw SigstoreFormatError("\(name(key)) is not an integer")
    }

    func object(_ key: String) throws -> SigstoreJSON {
        guard let o = try optionalObject(key) else { throw SigstoreFormatError("\(name(key)) is missing") }
        return o
    }

    func optionalObject(_ key: String) throws -> SigstoreJSON? {
        guard has(key) else { return nil }
        guard let o = object[key]?.object else { throw SigstoreFormatError("\(name(key)) is not an object") }
        return SigstoreJSON(o, path: name(key))
    }

    func objects(_ key: String) throws -> [SigstoreJSON] {
        guard has(key) else { return [] }
        guard let list = object[key]?.array else { throw SigstoreFormatError("\(name(key)) is not a list") }
        return try list.enumerated().map { i, v in
            guard let o = v.object else { throw SigstoreFormatError("\(name(key))[\(i)] is not an object") }
            return SigstoreJSON(o, path: "\(name(key))[\(i)]")
        }
    }

    func strings(_ key: String) throws -> [String] {
        guard has(key) else { return [] }
        guard let list = object[key]?.strings else { throw SigstoreFormatError("\(name(key)) is not a list of strings") }
        return list
    }

    /// An RFC 3339 time (`2021-01-12T11:53:27Z`, fractions allowed).
    func optionalTime(_ key: String) throws -> Date? {
        guard let s = try optionalString(key) else { return nil }
        guard let d = Self.time(s) else { throw SigstoreFormatError("\(name(key)) is not an RFC 3339 time") }
        return d
    }

    static func time(_ s: String) -> Date? { InternetTime.parseRFC3339(s) }

    /// Strict standard base64 (URL-safe characters refused; padding may be left out; line breaks skipped).
    static func base64(_ text: String) -> [UInt8]? {
        // Line breaks are allowed (some writers wrap base64 at 64 or 76 columns); nothing else outside the alphabet.
        let s = text.contains(where: { $0 == "\n" || $0 == "\r" }) ? text.filter { $0 != "\n" && $0 != "\r" } : text
        guard s.utf8.allSatisfy({ c in
            (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39) || c == 0x2B || c == 0x2F || c == 0x3D
        }) else { return nil }
        var padded = s
        while padded.utf8.count % 4 != 0 { padded += "=" }
        return Data(base64Encoded: padded).map { Array($0) }
    }
}

/// A Sigstore document that cannot be read: the reason names the field.
public struct SigstoreFormatError: Error, Sendable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
