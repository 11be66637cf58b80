extension JSONValue {
    /// How `serialized` lays a document out.
    public enum Layout: Sendable {
        /// No white space at all.
        case compact
        /// One member or item per line, indented by two spaces, `"key" : value` (JSONSerialization's
        /// `.prettyPrinted`, so files dray wrote before keep their look).
        case pretty
    }

    /// The document as UTF-8 JSON. Object keys are in the order of their UTF-8 bytes (so equal trees always give
    /// equal bytes); `/` and non-ASCII characters are written as they are, `"`, `\` and control characters escaped.
    public func serialized(_ layout: Layout = .compact) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        write(into: &out, layout: layout, indent: 0)
        return out
    }

    /// The document as JSON text.
    public func serializedText(_ layout: Layout = .compact) -> String {
        String(decoding: serialized(layout), as: UTF8.self)
    }

    private func write(into out: inout [UInt8], layout: Layout, indent: Int) {
        switch self {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .number(let n): out.append(contentsOf: n.utf8)
        case .string(let s): Self.writeString(s, into: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            if layout == .pretty { out.append(0x0A) }
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(contentsOf: layout == .pretty ? [UInt8(ascii: ","), 0x0A] : [UInt8(ascii: ",")]) }
                if layout == .pretty { Self.pad(&out, indent + 2) }
                item.write(into: &out, layout: layout, indent: indent + 2)
            }
            if layout == .pretty {
                out.append(0x0A)
                Self.pad(&out, indent)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            if layout == .pretty { out.append(0x0A) }
            let keys = members.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            for (i, key) in keys.enumerated() {
                if i > 0 { out.append(contentsOf: layout == .pretty ? [UInt8(ascii: ","), 0x0A] : [UInt8(ascii: ",")]) }
                if layout == .pretty { Self.pad(&out, indent + 2) }
                Self.writeString(key, into: &out)
                out.append(contentsOf: layout == .pretty ? Array(" : ".utf8) : [UInt8(ascii: ":")])
                members[key]!.write(into: &out, layout: layout, indent: indent + 2)
            }
            if layout == .pretty {
                out.append(0x0A)
                Self.pad(&out, indent)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    private static func pad(_ out: inout [UInt8], _ n: Int) {
        out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: n))
    }

    private static func writeString(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x08: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "b")])
            case 0x0C: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "f")])
            case 0x0A: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0..<0x20: out.append(contentsOf: Array("\\u00".utf8) + Array(Hex.encode([b]).utf8))
            default: out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
