/// The parser behind `YAML.compose`: recursive descent over the text's UTF-8 bytes, one pass, no tokens.
///
/// Block structure follows the columns: a block collection's column is where its first entry starts, a value
/// belongs to it while it is further right (a sequence may also sit at its key's column), and the first line back
/// at or left of it ends it. Errors carry the line libyaml reports for the same text where that is the line at
/// fault or the next token after it.
///
/// A class used once per text: the recursive functions then pass one reference rather than the reader's state
/// (which debug builds copy onto the stack at every call), so a level of nesting costs about 1 KB of stack in a
/// release build and 4 KB in a debug one, and `maxDepth` levels fit any thread's stack.
final class YAMLReader {
    /// Nested collections allowed, aliases counted with the depth of what they name.
    static let maxDepth = 256
    /// libyaml's limit for an implicit key: at most this many characters from the key's start to its `:`.
    static let maxKeyLength = 1024

    let bytes: [UInt8]
    /// Index of the next byte.
    var i = 0
    /// The line of `bytes[i]`, and where that line starts.
    var line = 1
    var lineStart = 0
    /// Collections open around the position, and the most reached since `deepest` was last reset.
    var depth = 0
    var deepest = 0
    var anchors: [String: (node: YAMLNode, height: Int)] = [:]
    /// Tag handles and their prefixes; `%TAG` adds or replaces them.
    var handles = ["!": "!", "!!": YAMLTag.prefix]
    var declaredHandles: Set<String> = []
    var sawVersion = false

    init(_ text: String) { bytes = Array(text.utf8) }

    /// Where a block node sits: what came before it decides whether a block collection may start on its line.
    enum Place {
        /// The top of a document without `---`.
        case top
        /// After `---` on its line.
        case documentStart
        /// After `key:`.
        case mappingValue
        /// After `- `.
        case sequenceEntry
    }

    // MARK: Document

    /// The text's one document; nil when there is none.
    func document() throws(YAMLError) -> YAMLNode? {
        try checkCharacters()
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) {
            i = 3
            lineStart = 3
        }
        try skipToToken(flow: false, tabs: false)
        var directives = false
        while column == 0, peek() == c("%") {
            try directive()
            directives = true
            try skipToToken(flow: false, tabs: false)
        }
        if atDocumentEnd { throw error("'...' before any document") }
        if atEnd && !directives { return nil }
        let node: YAMLNode
        if atDocumentStart {
            let markerLine = line
            i += 3
            node = try blockNode(indent: -1, place: .documentStart, indicatorLine: markerLine)
        } else {
            guard !directives else { throw error("expected '---' after the directives", line: atEnd ? endLine : line) }
            node = try blockNode(indent: -1, place: .top, indicatorLine: line)
        }
        try skipToToken(flow: false, tabs: true)
        var ended = false
        while atDocumentEnd {
            i += 3
            ended = true
            try skipToToken(flow: false, tabs: true)
        }
        if atEnd { return node }
        if ended || atDocumentStart || (column == 0 && peek() == c("%")) {
            throw error("a second document: a config file holds one")
        }
        throw error("expected the end of the document")
    }

    // MARK: Depth

    /// Opens a collection.
    func enter() throws(YAMLError) {
        depth += 1
        guard depth <= Self.maxDepth else { throw error("nested deeper than \(Self.maxDepth) levels") }
        deepest = max(deepest, depth)
    }

    /// Starts measuring the height of the node about to be read (for an anchor: its aliases add that height).
    func beginMeasure() -> Int {
        let saved = deepest
        deepest = depth
        return saved
    }

    /// The height of the node read since `beginMeasure` (0 when nothing was measured).
    func endMeasure(_ saved: Int?) -> Int {
        guard let saved else { return 0 }
        let height = deepest - depth
        deepest = max(saved, deepest)
        return height
    }

    // MARK: Keys

    /// The scalar keys of one mapping, to refuse a repeated one as Yams does: the same text with the same resolved
    /// tag (`a` and `"a"` are the same key, `1` and `"1"` are not). Collection keys are not compared.
    struct KeySet {
        struct Key: Hashable {
            let text: String
            let tag: String
        }
        var lines: [Key: Int] = [:]

        mutating func insert(_ node: YAMLNode) throws(YAMLError) {
            guard let s = node.scalar else { return }
            let key = Key(text: s.string, tag: node.resolvedTag)
            if let first = lines[key] {
                throw YAMLError(line: node.line, problem: "duplicate key \"\(s.string.prefix(100))\", first on line \(first)")
            }
            lines[key] = node.line
        }
    }
}

extension YAMLNode {
    /// The empty plain scalar of a key or entry without a value (null, for Yams).
    static func empty(line: Int) -> YAMLNode { YAMLNode(.scalar(.init(string: "", style: .plain)), line: line) }
}
