/// Block collections: mappings and sequences laid out by indentation.
///
/// The functions on the recursive path (`blockNode`, `blockMapping`, `blockSequence`) stay small and leave the
/// checks to helpers, so that each level of nesting costs little stack, also in debug builds.
extension YAMLReader {
    /// How a block node starts, as `blockHead` finds it.
    struct BlockHead {
        enum Kind { case empty, sequence, blockScalar, inline }
        var kind = Kind.empty
        /// The line of an empty node without properties.
        var emptyLine = 0
        /// Properties of the node as a whole: on a line of their own, before `-`, `|` or `>`, or of an empty node.
        var outer: Properties?
        /// Properties on the line of what may be a first key: they belong to that key (or scalar).
        var inner: Properties?
        /// A block collection may start here: the node starts on a later line than its indicator, or after `- `.
        var collectionAllowed = false
    }

    /// Where an implicit key starts: its properties, else its text.
    struct KeyStart {
        var column: Int
        var index: Int
        var line: Int
    }

    /// The node after `key:`, `- `, `---` or at the top; `indent` is the column of the enclosing block collection
    /// (-1 at the top). Nothing further right than `indent` (or only properties) makes an empty scalar.
    func blockNode(indent: Int, place: Place, indicatorLine: Int) throws(YAMLError) -> YAMLNode {
        let head = try blockHead(indent: indent, place: place, indicatorLine: indicatorLine)
        let measure = head.outer?.anchor != nil ? beginMeasure() : nil
        var node: YAMLNode
        switch head.kind {
        case .empty:
            node = .empty(line: head.emptyLine)
        case .sequence:
            node = try blockSequence(column: column, indentless: place == .mappingValue && column == indent)
        case .blockScalar:
            node = try blockScalar(indent: indent)
        case .inline:
            let key = keyStart(head.inner)
            node = try inlineNode(blockIndent: indent, flow: false, props: head.inner)
            if try atImplicitKey(key, allowed: head.collectionAllowed) {
                node = try blockMapping(column: key.column, line: key.line, firstKey: node)
            }
        }
        guard let outer = head.outer else { return node }
        return attach(outer, to: node, height: endMeasure(measure))
    }

    /// Skips to a block node's start, reads its properties and tells what kind of node follows.
    func blockHead(indent: Int, place: Place, indicatorLine: Int) throws(YAMLError) -> BlockHead {
        let tabs = place == .mappingValue || place == .documentStart
        var head = BlockHead()
        head.collectionAllowed = try skipToToken(flow: false, tabs: tabs) || place == .top || place == .sequenceEntry
        if endsBlockNode(indent: indent, place: place) {
            head.emptyLine = place == .mappingValue || place == .sequenceEntry ? indicatorLine : (atEnd ? endLine : line)
            return head
        }
        // Properties on a line of their own belong to the node below them; on the line of a key, to the key.
        var props: Properties?
        var ownLine = false
        if peek() == c("&") || peek() == c("!") {
            var p = try properties(flow: false)
            ownLine = try skipToToken(flow: false, tabs: true)
            while peek() == c("&") || peek() == c("!"), !endsBlockNode(indent: indent, place: place) {
                p = try properties(flow: false, adding: p)
                ownLine = try skipToToken(flow: false, tabs: true) || ownLine
            }
            if endsBlockNode(indent: indent, place: place) {
                head.outer = p
                return head
            }
            props = p
            head.collectionAllowed = head.collectionAllowed || ownLine
        }
        let b = peek()
        if b == c("?") && atSpace(1) { throw error("explicit keys '? ' are not supported") }
        if b == c(":") && atSpace(1) {
            throw error(props == nil || ownLine ? "a ':' without a key" : "mapping values are not allowed here")
        }
        if b == c("-") && atSpace(1) {
            guard head.collectionAllowed, props == nil || ownLine else { throw error("block sequence entries are not allowed here") }
            head.kind = .sequence
            head.outer = props
        } else if b == c("|") || b == c(">") {
            head.kind = .blockScalar
            head.outer = props
        } else {
            head.kind = .inline
            if ownLine { head.outer = props } else { head.inner = props }
        }
        return head
    }

    /// Whether the block node about to start is empty: the end, a document marker, or a line at or left of the
    /// enclosing collection. Two things at its column still belong to the node, as in libyaml: a sequence after
    /// `key:`, and a block scalar's `|` or `>`.
    func endsBlockNode(indent: Int, place: Place) -> Bool {
        if atEnd || atDocumentStart || atDocumentEnd { return true }
        if column > indent { return false }
        guard column == indent else { return true }
        if peek() == c("|") || peek() == c(">") { return false }
        return !(place == .mappingValue && peek() == c("-") && atSpace(1))
    }

    /// Where a key read with properties `props` (on its line) starts.
    func keyStart(_ props: Properties?) -> KeyStart {
        guard let props else { return KeyStart(column: column, index: i, line: line) }
        return KeyStart(column: props.column, index: props.start, line: props.line)
    }

    /// After a node that may be an implicit key: whether `: ` follows on its line. Throws where that `:` cannot
    /// make a mapping: the key spans lines or is too long, or a mapping may not start here (`a: b: c`).
    func atImplicitKey(_ key: KeyStart, allowed: Bool) throws(YAMLError) -> Bool {
        skipBlanks()
        guard peek() == c(":") && atSpace(1) else { return false }
        guard line == key.line, keyLengthFits(from: key.index), allowed else { throw error("mapping values are not allowed here") }
        return true
    }

    /// Whether an implicit key from `start` to the position (its `:`) is within libyaml's 1024 characters.
    func keyLengthFits(from start: Int) -> Bool {
        guard i - start > Self.maxKeyLength else { return true }
        return bytes[start..<i].lazy.filter { $0 & 0xC0 != 0x80 }.count <= Self.maxKeyLength
    }

    /// A block mapping at `column` whose first key starts on `line`; the position is at the `:` after `firstKey`.
    func blockMapping(column m: Int, line startLine: Int, firstKey: YAMLNode) throws(YAMLError) -> YAMLNode {
        try enter()
        defer { depth -= 1 }
        var pairs: [(key: YAMLNode, value: YAMLNode)] = []
        var keys = KeySet()
        var key = firstKey
        while true {
            let colonLine = line
            i += 1
            let value = try blockNode(indent: m, place: .mappingValue, indicatorLine: colonLine)
            try keys.insert(key)
            pairs.append((key, value))
            guard try mappingContinues(column: m) else { break }
            key = try blockKey(column: m)
        }
        return YAMLNode(.mapping(pairs), line: startLine)
    }

    /// After a mapping value: whether the next line holds a key of the mapping at column `m`.
    func mappingContinues(column m: Int) throws(YAMLError) -> Bool {
        try skipToToken(flow: false, tabs: true)
        if atEnd || atDocumentStart || atDocumentEnd || column < m { return false }
        guard column == m else { throw error("expected a key at column \(m + 1), the mapping's indentation") }
        guard !(peek() == c("-") && atSpace(1)) else { throw error("expected a key, found '-'") }
        return true
    }

    /// The next key of a block mapping at column `m` (the position is on it), up to its `:`.
    func blockKey(column m: Int) throws(YAMLError) -> YAMLNode {
        let start = KeyStart(column: column, index: i, line: line)
        var props: Properties?
        if peek() == c("&") || peek() == c("!") {
            props = try properties(flow: false)
            skipBlanks()
        }
        let b = peek()
        if b == c("?") && atSpace(1) { throw error("explicit keys '? ' are not supported") }
        if !(atEnd || isBreak(b) || b == c("#") || (b == c(":") && atSpace(1))) {
            let key = try inlineNode(blockIndent: m, flow: false, props: props)
            if try atImplicitKey(start, allowed: true) { return key }
        } else if b == c(":") && atSpace(1) {
            throw error("a ':' without a key")
        }
        // libyaml notices the missing ':' at the first token after the key's line.
        if line == start.line {
            while !atEnd && !isBreak(peek()) { i += 1 }
        }
        try skipToToken(flow: false, tabs: true)
        throw error("could not find expected ':'", line: atEnd ? endLine : line)
    }

    /// A block sequence at `column`; the position is at its first `-`. `indentless` when it is a mapping value at
    /// its key's column, where a line at that column that is not `- ` is the mapping's next key.
    func blockSequence(column s: Int, indentless: Bool) throws(YAMLError) -> YAMLNode {
        try enter()
        defer { depth -= 1 }
        let startLine = line
        var items: [YAMLNode] = []
        repeat {
            let dashLine = line
            i += 1
            items.append(try blockNode(indent: s, place: .sequenceEntry, indicatorLine: dashLine))
        } while try sequenceContinues(column: s, indentless: indentless)
        return YAMLNode(.sequence(items), line: startLine)
    }

    /// After a sequence entry: whether the next line holds another `- ` of the sequence at column `s`.
    func sequenceContinues(column s: Int, indentless: Bool) throws(YAMLError) -> Bool {
        try skipToToken(flow: false, tabs: true)
        if atEnd || atDocumentStart || atDocumentEnd || column < s { return false }
        guard column == s else { throw error("expected '-' at column \(s + 1), the sequence's indentation") }
        if peek() == c("-") && atSpace(1) { return true }
        if indentless { return false }
        // What libyaml reports: a key here is an entry without '-'; anything else, a key without ':'.
        let stray = line
        _ = try blockKey(column: s)
        throw error("expected '-' at column \(s + 1), the sequence's indentation", line: stray)
    }
}
