/// Anchors, aliases, tags and the directives that name tag handles.
extension YAMLReader {
    /// An anchor and a tag read before a node, and where they start.
    struct Properties {
        var anchor: String?
        var tag: String?
        var line: Int
        var column: Int
        /// Index of the first property.
        var start: Int
    }

    /// `&anchor` and `!tag` at the position, in either order, one of each, separated by blanks; added to `earlier`
    /// (read on an earlier line) when given.
    func properties(flow: Bool, adding earlier: Properties? = nil) throws(YAMLError) -> Properties {
        var p = earlier ?? Properties(line: line, column: column, start: i)
        while true {
            if peek() == c("&") {
                guard p.anchor == nil else { throw error("a node with two anchors") }
                i += 1
                p.anchor = try anchorName()
            } else if peek() == c("!") {
                guard p.tag == nil else { throw error("a node with two tags") }
                p.tag = try tag(flow: flow)
            } else {
                return p
            }
            skipBlanks()
        }
    }

    /// The node with its properties: their line, the tag, and the anchor (now naming it) registered with the
    /// node's height.
    func attach(_ p: Properties, to node: YAMLNode, height: Int) -> YAMLNode {
        var node = node
        node.line = p.line
        if let tag = p.tag { node.tag = tag }
        if let anchor = p.anchor { anchors[anchor] = (node, height) }
        return node
    }

    /// `*name`: the node the anchor names (its line included, as Yams gives it).
    func alias() throws(YAMLError) -> YAMLNode {
        let aliasLine = line
        i += 1
        let name = try anchorName()
        guard let (node, height) = anchors[name] else { throw error("undefined alias *\(name)", line: aliasLine) }
        guard depth + height <= Self.maxDepth else {
            throw error("nested deeper than \(Self.maxDepth) levels through alias *\(name)", line: aliasLine)
        }
        deepest = max(deepest, depth + height)
        return node
    }

    /// An anchor's name after `&` or `*`: letters, digits, `-` and `_` (libyaml's set), ended by white space or an
    /// indicator.
    func anchorName() throws(YAMLError) -> String {
        let start = i
        while isWordCharacter(peek()) { i += 1 }
        let b = peek()
        guard i > start, atSpace(0) || [c("?"), c(":"), c(","), c("]"), c("}"), c("%"), c("@"), c("`")].contains(b) else {
            throw error("an anchor's name is letters, digits, '-' and '_'")
        }
        return String(decoding: bytes[start..<i], as: UTF8.self)
    }

    /// A tag at its `!`: `!<verbatim>`, `!` (non-specific), `!suffix`, `!!suffix` or `!handle!suffix`, with the
    /// handle expanded and `%XX` escapes decoded.
    func tag(flow: Bool) throws(YAMLError) -> String {
        let tag: String
        if peek(1) == c("<") {
            i += 2
            tag = try tagURI(verbatim: true)
            guard peek() == c(">") else { throw error("a verbatim tag '!<…>' without its '>'") }
            i += 1
        } else {
            var j = i + 1
            while j < bytes.count, isWordCharacter(bytes[j]) { j += 1 }
            var handle = "!"
            if j < bytes.count, bytes[j] == c("!") {
                handle = String(decoding: bytes[i...j], as: UTF8.self)
                i = j + 1
            } else {
                i += 1
            }
            let suffix = atSpace(0) && handle == "!" ? "" : try tagURI(verbatim: false)
            if handle == "!" && suffix.isEmpty {
                tag = "!"
            } else {
                guard let prefix = handles[handle] else { throw error("undefined tag handle \(handle)") }
                tag = prefix + suffix
            }
        }
        guard atSpace(0) || (flow && peek() == c(",")) else { throw error("a tag must be followed by a space") }
        return tag
    }

    /// The characters of a tag (URI characters; in a verbatim tag also `,`, `[` and `]`), `%XX` decoded.
    func tagURI(verbatim: Bool) throws(YAMLError) -> String {
        var out: [UInt8] = []
        while true {
            let b = peek()
            if b == c("%") {
                guard let hi = Hex.value(of: peek(1)), let lo = Hex.value(of: peek(2)) else { throw error("a '%' in a tag without two hex digits") }
                out.append(hi << 4 | lo)
                i += 3
            } else if isWordCharacter(b) || Array(";/?:@&=+$.!~*'()".utf8).contains(b)
                        || (verbatim && (b == c(",") || b == c("[") || b == c("]"))) {
                out.append(b)
                i += 1
            } else {
                break
            }
        }
        guard !out.isEmpty else { throw error("a tag without a name") }
        guard let text = String(validating: out, as: UTF8.self) else { throw error("a tag's %-escapes are not UTF-8") }
        return text
    }

    /// `%YAML 1.1` (or `1.2`) or `%TAG !handle! prefix` on a line of its own, before `---`.
    func directive() throws(YAMLError) {
        i += 1
        let start = i
        while isWordCharacter(peek()) { i += 1 }
        let name = String(decoding: bytes[start..<i], as: UTF8.self)
        guard isBlank(peek()) else { throw error("found unknown directive name") }
        skipBlanks()
        switch name {
        case "YAML":
            guard !sawVersion else { throw error("a second %YAML directive") }
            let versionStart = i
            while !atSpace(0) { i += 1 }
            let version = String(decoding: bytes[versionStart..<i], as: UTF8.self)
            guard version == "1.1" || version == "1.2" else { throw error("YAML version \(version): only 1.1 and 1.2 are read") }
            sawVersion = true
        case "TAG":
            guard peek() == c("!") else { throw error("a %TAG handle is !, !! or !name!") }
            var j = i + 1
            while j < bytes.count, isWordCharacter(bytes[j]) { j += 1 }
            if j < bytes.count, bytes[j] == c("!") { j += 1 }
            let handle = String(decoding: bytes[i..<j], as: UTF8.self)
            guard handle == "!" || handle.hasSuffix("!") else { throw error("a %TAG handle is !, !! or !name!") }
            i = j
            guard isBlank(peek()) else { throw error("a %TAG handle is !, !! or !name!") }
            skipBlanks()
            let prefix = try tagURI(verbatim: true)
            guard !declaredHandles.contains(handle) else { throw error("a second %TAG directive for \(handle)") }
            declaredHandles.insert(handle)
            handles[handle] = prefix
        default:
            throw error("found unknown directive name")
        }
        skipBlanks()
        if peek() == c("#") { while !atEnd && !isBreak(peek()) { i += 1 } }
        guard atEnd || isBreak(peek()) else { throw error("expected the end of the line after the directive") }
    }

    /// Letters, digits, `-` and `_`.
    @inline(__always) func isWordCharacter(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b | 0x20 >= 0x61 && b | 0x20 <= 0x7A) || b == c("-") || b == c("_")
    }
}
