/// A JSON document as a tree, for the few places that must edit JSON they do not model (an index whose unknown
/// fields must survive a rewrite, a Docker config file) or check each field's type themselves (Sigstore bundles).
///
/// Numbers keep the text they were written with, so a rewrite never changes `1.0` into `1` or loses a 64-bit
/// size to a `Double`. Objects are dictionaries: `serialized` writes their keys in order.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    /// A number as written (RFC 8259 grammar), or as `String(describing:)` of an integer made here.
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// The member `key` of an object; nil for a missing member and for anything that is not an object.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let o) = self else { return nil }
        return o[key]
    }

    public var string: String? {
        guard case .string(let s) = self else { return nil }
        return s
    }

    public var object: [String: JSONValue]? {
        guard case .object(let o) = self else { return nil }
        return o
    }

    public var array: [JSONValue]? {
        guard case .array(let a) = self else { return nil }
        return a
    }

    public var bool: Bool? {
        guard case .bool(let b) = self else { return nil }
        return b
    }

    public var isNull: Bool { self == .null }

    /// A number's value as a `Double` (nil for anything else).
    public var double: Double? {
        guard case .number(let text) = self else { return nil }
        return Double(text)
    }

    /// A number that is a whole number a `Double` holds exactly (below 2^53 in magnitude, as `1`, `1.0` or `1e3`);
    /// nil for anything else.
    public var integer: Int64? {
        guard case .number(let text) = self else { return nil }
        if let exact = Int64(text) { return exact.magnitude < 1 << 53 ? exact : nil }
        guard let d = Double(text), d == d.rounded(), abs(d) < 9.0e15 else { return nil }
        return Int64(d)
    }

    /// The array of strings this is, or nil when it is not one.
    public var strings: [String]? {
        guard case .array(let a) = self else { return nil }
        var out: [String] = []
        out.reserveCapacity(a.count)
        for v in a {
            guard case .string(let s) = v else { return nil }
            out.append(s)
        }
        return out
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int) { self = .number(String(value)) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(nilLiteral: ()) { self = .null }

    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }

    /// An integer.
    public init<T: BinaryInteger>(_ value: T) { self = .number(String(value)) }

    /// A string.
    public init(_ value: String) { self = .string(value) }
}
