import Engine
import Foundation
import Testing

/// dray's JSON reader and writer, checked against Foundation's JSONSerialization (what they replace): the same
/// documents are accepted and refused, read into the same trees, and written as the same bytes wherever
/// JSONSerialization's key order (case-insensitive, numeric) and dray's (UTF-8 bytes) agree.
@Suite("JSON values")
struct JSONValueTests {
    /// The tree Foundation reads, in JSONValue's terms (numbers compared by value).
    static func foundationTree(_ any: Any) -> JSONValue {
        switch any {
        case is NSNull: return .null
        case let s as String: return .string(s)
        case let n as NSNumber:
            if String(cString: n.objCType) == "c" { return .bool(n.boolValue) }
            return .number("\(n.doubleValue + 0.0)")
        case let a as [Any]: return .array(a.map(foundationTree))
        case let o as [String: Any]: return .object(o.mapValues(foundationTree))
        default: return .string("?\(type(of: any))")
        }
    }

    /// `value` with every number written as `Double`'s description, to compare with `foundationTree`.
    static func normalized(_ value: JSONValue) -> JSONValue {
        switch value {
        case .number(let n): .number("\(Double(n)! + 0.0)")  // -0 reads as 0 in Foundation
        case .array(let a): .array(a.map(normalized))
        case .object(let o): .object(o.mapValues(normalized))
        default: value
        }
    }

    static let accepted: [String] = [
        "{}", "[]", "0", "-0", "1.5e3", "-12.25E-2", "true", "false", "null", #""""#, " \t\r\n{ } \n",
        #"{"a":1,"b":[true,false,null],"c":{"d":"e"}}"#,
        #"{"s":"\"\\\/\b\f\n\r\t\u0041\u00e9\u20ac\ud83d\ude00"}"#,
        #"["é", "😀", "\u0000", "a\u001fb", "tab\there"]"#,
        #"{"big":12345678901234567890,"tiny":1e-300,"neg":-9007199254740993}"#,
        #"{"dup":1,"dup":2}"#,
        String(repeating: "[", count: 40) + "1" + String(repeating: "]", count: 40),
        "\u{FEFF}{\"bom\":true}",
        #"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:aa","size":528,"platform":{"architecture":"amd64","os":"linux"}}]}"#,
    ]

    static let refused: [String] = [
        "", " ", "{", "}", "[,1]", #"{"a" 1}"#, "{a:1}", "{'a':1}", "01", "1.", ".5", "-", "1e",
        "1e+", "+1", "tru", "nul", "NaN", "Infinity", "-Infinity", #""\x""#, #""\u12""#, #""\u12G4""#, "\"a\u{01}b\"",
        "\"unterminated", #"{"a":1} x"#, "[1] [2]", #""\ud800""#, #""\udc00""#, #""\ud800\u0041""#, "1e400",
        "[" + String(repeating: "[", count: 600) + String(repeating: "]", count: 601),
    ]

    @Test("Accepts what JSONSerialization accepts, into the same tree", arguments: accepted)
    func accepts(text: String) throws {
        let mine = try JSONValue(parsing: text)
        let theirs = try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
        #expect(Self.normalized(mine) == Self.foundationTree(theirs))
    }

    @Test("Refuses what JSONSerialization refuses", arguments: refused)
    func refuses(text: String) {
        #expect(throws: JSONError.self) { try JSONValue(parsing: text) }
        #expect(throws: (any Error).self) {
            try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
        }
    }

    @Test("Refuses trailing commas, which RFC 8259 (and Go, and Docker) refuse and JSONSerialization lets through")
    func trailingCommas() throws {
        for text in ["[1,]", #"{"a":1,}"#, #"{"a":[1,2,],"b":2}"#] {
            #expect(throws: JSONError.self) { try JSONValue(parsing: text) }
            _ = try JSONSerialization.jsonObject(with: Data(text.utf8))
        }
    }

    @Test("Refuses invalid UTF-8 in strings")
    func invalidUTF8() {
        #expect(throws: JSONError.self) { try JSONValue(parsing: [0x22, 0xC3, 0x28, 0x22]) }
        #expect(throws: JSONError.self) { try JSONValue(parsing: [0x22, 0x5C, 0x6E, 0xFF, 0x22]) }
    }

    @Test("Nesting is capped at 512 levels, as JSONSerialization caps it")
    func depth() throws {
        let ok = String(repeating: "[", count: 512) + String(repeating: "]", count: 512)
        _ = try JSONValue(parsing: ok)
        let deep = String(repeating: "[", count: 513) + String(repeating: "]", count: 513)
        let error = #expect(throws: JSONError.self) { try JSONValue(parsing: deep) }
        #expect(error?.reason.contains("512") == true)
    }

    @Test("Errors name the line")
    func errorLine() {
        let error = #expect(throws: JSONError.self) { try JSONValue(parsing: "{\n  \"a\": 1,\n  \"b\": tru\n}") }
        #expect(error?.line == 3)
    }

    @Test("Numbers keep the text they were written with")
    func numbers() throws {
        let v = try JSONValue(parsing: #"{"a":1.0,"b":12345678901234567890,"c":1e3,"d":-0}"#)
        #expect(v.serializedText() == #"{"a":1.0,"b":12345678901234567890,"c":1e3,"d":-0}"#)
        #expect(v["a"]?.integer == 1)
        #expect(v["c"]?.integer == 1000)
        #expect(v["b"]?.integer == nil)
        #expect(try JSONValue(parsing: "1.5").integer == nil)
        #expect(try JSONValue(parsing: "9007199254740991").integer == 9_007_199_254_740_991)
        // The smallest Int64 reads, but is no integer a Double holds (and its magnitude overflows `abs`).
        #expect(try JSONValue(parsing: "-9223372036854775808").integer == nil)
        #expect(try JSONValue(parsing: "-9007199254740991").integer == -9_007_199_254_740_991)
    }

    /// Trees whose keys sort the same in both orders (lowercase ASCII, no digit runs).
    static let written: [JSONValue] = [
        [:], [], ["a": 1, "b": "x/y", "c": [true, false, nil]],
        ["s": "quote\" backslash\\ slash/ bell\u{07} bs\u{08} ff\u{0C} nl\n cr\r tab\t us\u{1F} del\u{7F} é 😀 \u{2028}"],
        ["mediatype": "application/vnd.oci.image.manifest.v1+json", "size": JSONValue(Int64.max), "neg": -5,
         "nested": ["deeper": ["deepest": [], "empty": [:]], "list": [1, 2, ["x": "y"]]]],
        ["_type": "https://in-toto.io/Statement/v1", "predicate": [:], "predicatetype": "p",
         "subject": [["digest": ["sha256": "ab"], "name": "n"]]],
    ]

    @Test("Writes the bytes JSONSerialization writes (sorted keys, slashes as they are), compact and pretty",
          arguments: written)
    func writes(value: JSONValue) throws {
        func foundation(_ v: JSONValue) -> Any {
            switch v {
            case .null: NSNull()
            case .bool(let b): b
            case .number(let n): Int64(n)! as NSNumber
            case .string(let s): s
            case .array(let a): a.map(foundation)
            case .object(let o): o.mapValues(foundation)
            }
        }
        let object = foundation(value)
        let compact = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes, .fragmentsAllowed])
        #expect(value.serializedText() == String(decoding: compact, as: UTF8.self))
        let pretty = try JSONSerialization.data(withJSONObject: object,
                                                options: [.sortedKeys, .withoutEscapingSlashes, .prettyPrinted, .fragmentsAllowed])
        #expect(value.serializedText(.pretty) == String(decoding: pretty, as: UTF8.self))
        #expect(try JSONValue(parsing: value.serialized()) == value)
    }

    @Test("Keys are in UTF-8 byte order, so equal trees give equal bytes")
    func keyOrder() {
        let v: JSONValue = ["b": 1, "B": 2, "a10": 3, "a9": 4, "é": 5, "e": 6, "_": 7]
        #expect(v.serializedText() == #"{"B":2,"_":7,"a10":3,"a9":4,"b":1,"e":6,"é":5}"#)
    }

    @Test("Every JSON file among the tests' fixtures reads as JSONSerialization reads it")
    func fixtures() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        let walker = FileManager.default.enumerator(atPath: root.path)
        var count = 0
        while let relative = walker?.nextObject() as? String {
            guard relative.hasSuffix(".json") else { continue }
            let data = try Data(contentsOf: root.appendingPathComponent(relative))
            let theirs = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
            let mine = try? JSONValue(parsing: Array(data))
            #expect((mine == nil) == (theirs == nil), "\(relative)")
            if let mine, let theirs { #expect(Self.normalized(mine) == Self.foundationTree(theirs), "\(relative)") }
            count += 1
        }
        #expect(count > 100)
    }
}
