/// Flow collections (`[…]`, `{…}`) and the nodes that fit on a line: scalars, aliases, flow collections.
extension YAMLReader {
    /// A scalar, flow collection or alias at the position, with the properties read before it on its line.
    func inlineNode(blockIndent: Int, flow: Bool, props: Properties?) throws(YAMLError) -> YAMLNode {
        let measure = props?.anchor != nil ? beginMeasure() : nil
        let node: YAMLNode
        switch peek() {
        case c("*"):
            guard props == nil else { throw error("an alias cannot have an anchor or a tag") }
            return try alias()
        case c("\""), c("'"):
            node = try quotedScalar(single: peek() == c("'"))
        case c("["), c("{"):
            node = try flowCollection(blockIndent: blockIndent)
        default:
            guard startsPlain(flow: flow) else { throw cannotStartValue() }
            node = try plainScalar(blockIndent: blockIndent, flow: flow)
        }
        guard let props else { return node }
        return attach(props, to: node, height: endMeasure(measure))
    }

    /// Whether a plain scalar may start here: not an indicator, except `-` (and `?`, `:` outside flow collections)
    /// before a non-space.
    func startsPlain(flow: Bool) -> Bool {
        let b = peek()
        if atEnd || isBlank(b) || isBreak(b) { return false }
        switch b {
        case c("-"): return !atSpace(1)
        case c("?"), c(":"): return !flow && !atSpace(1)
        case c(","), c("["), c("]"), c("{"), c("}"), c("#"), c("&"), c("*"), c("!"), c("|"), c(">"), c("'"), c("\""),
             c("%"), c("@"), c("`"):
            return false
        default: return true
        }
    }

    /// The error for a character no value starts with.
    func cannotStartValue() -> YAMLError {
        let b = peek()
        if b == 0x09 { return error("a tab where a value should start") }
        return error(b < 0x80 ? "found a character that cannot start a value ('\(Character(Unicode.Scalar(b)))')" : "found a character that cannot start a value")
    }

    /// `[…]` or `{…}` at the position, over as many lines as it takes.
    func flowCollection(blockIndent: Int) throws(YAMLError) -> YAMLNode {
        let isMapping = peek() == c("{")
        let close = isMapping ? c("}") : c("]")
        let startLine = line
        try enter()
        defer { depth -= 1 }
        i += 1
        var items: [YAMLNode] = []
        var pairs: [(key: YAMLNode, value: YAMLNode)] = []
        var keys = KeySet()
        while try flowEntryStarts(close: close) {
            let entryLine = line
            let entryStart = i
            let key = try flowNode(blockIndent: blockIndent)
            if try flowPairFollows(entryLine: entryLine, entryStart: entryStart, close: close) {
                let value = try flowValueFollows(close: close) ? try flowNode(blockIndent: blockIndent) : .empty(line: line)
                if isMapping {
                    try keys.insert(key)
                    pairs.append((key, value))
                } else {
                    // `[a: b]` holds a mapping of one pair.
                    items.append(YAMLNode(.mapping([(key, value)]), line: entryLine))
                }
            } else if isMapping {
                try keys.insert(key)
                pairs.append((key, .empty(line: atEnd ? endLine : line)))
            } else {
                items.append(key)
            }
            try flowEntryEnds(close: close)
        }
        i += 1
        return YAMLNode(isMapping ? .mapping(pairs) : .sequence(items), line: startLine)
    }

    /// Skips to the next entry; false at the closing bracket.
    func flowEntryStarts(close: UInt8) throws(YAMLError) -> Bool {
        try skipToToken(flow: true, tabs: true)
        return peek() != close
    }

    /// After an entry's first node: whether `:` follows (and steps over it). An implicit key fits on its line:
    /// like libyaml, a `:` after a longer one is refused.
    func flowPairFollows(entryLine: Int, entryStart: Int, close: UInt8) throws(YAMLError) -> Bool {
        try skipToToken(flow: true, tabs: true)
        guard peek() == c(":") else { return false }
        guard line == entryLine, keyLengthFits(from: entryStart) else { throw expectedCommaOr(close) }
        i += 1
        return true
    }

    /// After a `:`: whether a value follows (not `,` or the closing bracket).
    func flowValueFollows(close: UInt8) throws(YAMLError) -> Bool {
        try skipToToken(flow: true, tabs: true)
        return peek() != c(",") && peek() != close
    }

    /// After an entry: steps over its `,`, or stops at the closing bracket.
    func flowEntryEnds(close: UInt8) throws(YAMLError) {
        try skipToToken(flow: true, tabs: true)
        if peek() == c(",") {
            i += 1
        } else if peek() != close {
            throw expectedCommaOr(close)
        }
    }

    func expectedCommaOr(_ close: UInt8) -> YAMLError {
        error("expected ',' or '\(Character(Unicode.Scalar(close)))'", line: atEnd ? endLine : line)
    }

    /// A node inside a flow collection (the position is on it).
    func flowNode(blockIndent: Int) throws(YAMLError) -> YAMLNode {
        let props = try flowProperties()
        if let props, [c(","), c("]"), c("}"), c(":")].contains(peek()) {
            return attach(props, to: .empty(line: props.line), height: 0)
        }
        try checkFlowNodeStart()
        if props == nil && (peek() == c("[") || peek() == c("{")) {
            return try flowCollection(blockIndent: blockIndent)
        }
        return try inlineNode(blockIndent: blockIndent, flow: true, props: props)
    }

    /// The properties before a node in a flow collection, if any.
    func flowProperties() throws(YAMLError) -> Properties? {
        guard peek() == c("&") || peek() == c("!") else { return nil }
        var p = try properties(flow: true)
        try skipToToken(flow: true, tabs: true)
        while peek() == c("&") || peek() == c("!") {
            p = try properties(flow: true, adding: p)
            try skipToToken(flow: true, tabs: true)
        }
        return p
    }

    /// Refuses what cannot start a node inside a flow collection.
    func checkFlowNodeStart() throws(YAMLError) {
        let b = peek()
        if atEnd { throw error("expected a value, found the end", line: endLine) }
        if b == c("-") && atSpace(1) { throw error("block sequence entries are not allowed here") }
        if b == c("?") { throw error("explicit keys '?' are not supported") }
        if b == c(":") { throw error("a ':' without a key") }
        if b == c(",") || b == c("]") || b == c("}") { throw error("expected a value") }
        if atDocumentStart || atDocumentEnd { throw error("a document marker inside [ ] or { }") }
    }
}
