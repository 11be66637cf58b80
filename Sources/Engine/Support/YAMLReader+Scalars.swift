/// Scalars: plain (over several lines), single- and double-quoted (escapes and line folding), literal and folded
/// blocks (chomping and indentation indicators).
extension YAMLReader {
    /// A plain scalar at the position. Its lines are folded (one line break is a space, each further one a newline);
    /// in block context a line left of `blockIndent + 1` ends it. Like libyaml's scanner it leaves the position at
    /// the next non-blank character, possibly on a later line.
    func plainScalar(blockIndent: Int, flow: Bool) throws(YAMLError) -> YAMLNode {
        let startLine = line
        let minColumn = blockIndent + 1
        var out: [UInt8] = []
        var breaks = 0
        var blanks = i..<i
        var first = true
        while true {
            if atDocumentStart || atDocumentEnd || peek() == c("#") { break }
            let wordStart = i
            while !atEnd {
                let b = peek()
                if isBlank(b) || isBreak(b) { break }
                if b == c(":") {
                    if atSpace(1) { break }
                    if flow, [c(","), c("?"), c("["), c("]"), c("{"), c("}")].contains(peek(1)) {
                        throw error("a ':' before '\(Character(Unicode.Scalar(peek(1))))' in a plain scalar: quote it")
                    }
                } else if flow && (b == c(",") || b == c("[") || b == c("]") || b == c("{") || b == c("}")) {
                    break
                }
                i += 1
            }
            if i == wordStart { break }
            if !first { fold(breaks: breaks, blanks: blanks, into: &out) }
            out.append(contentsOf: bytes[wordStart..<i])
            first = false
            guard isBlank(peek()) || isBreak(peek()) else { break }
            breaks = 0
            let blanksStart = i
            var blanksEnd = i
            while true {
                let b = peek()
                if isBlank(b) {
                    if breaks > 0 && b == 0x09 && column < minColumn {
                        throw error("a tab indents this line: YAML indents with spaces")
                    }
                    i += 1
                    if breaks == 0 { blanksEnd = i }
                } else if isBreak(b) {
                    takeBreak()
                    breaks += 1
                } else {
                    break
                }
            }
            blanks = blanksStart..<blanksEnd
            if !flow && column < minColumn { break }
        }
        return YAMLNode(.scalar(.init(string: String(decoding: out, as: UTF8.self), style: .plain)), line: startLine)
    }

    /// A quoted scalar at its opening quote, up to the closing one: `''` is a quote in single quotes, escapes work
    /// in double quotes (`\` at a line end joins the lines), and lines fold as in plain scalars.
    func quotedScalar(single: Bool) throws(YAMLError) -> YAMLNode {
        let startLine = line
        let quote = peek()
        i += 1
        var out: [UInt8] = []
        while true {
            if atDocumentStart || atDocumentEnd { throw error("a document marker inside a quoted scalar") }
            if atEnd { throw error("a quoted scalar without its closing quote") }
            var escapedBreak = false
            while !atEnd {
                let b = peek()
                if isBlank(b) || isBreak(b) { break }
                if b == quote {
                    if single && peek(1) == quote {
                        out.append(quote)
                        i += 2
                        continue
                    }
                    i += 1
                    let text = String(decoding: out, as: UTF8.self)
                    return YAMLNode(.scalar(.init(string: text, style: single ? .singleQuoted : .doubleQuoted)), line: startLine)
                }
                if !single && b == c("\\") {
                    if isBreak(peek(1)) {
                        i += 1
                        takeBreak()
                        escapedBreak = true
                        break
                    }
                    try escape(into: &out)
                    continue
                }
                out.append(b)
                i += 1
            }
            var breaks = 0
            let blanksStart = i
            var blanksEnd = i
            while true {
                let b = peek()
                if isBlank(b) {
                    i += 1
                    if breaks == 0 && !escapedBreak { blanksEnd = i }
                } else if isBreak(b) {
                    takeBreak()
                    breaks += 1
                } else {
                    break
                }
            }
            if escapedBreak {
                out.append(contentsOf: repeatElement(0x0A, count: breaks))
            } else {
                fold(breaks: breaks, blanks: blanksStart..<blanksEnd, into: &out)
            }
        }
    }

    /// What the white space between two words of a plain or quoted scalar reads as: the `blanks` themselves on one
    /// line; across lines, one line break is a space and each further one a newline.
    func fold(breaks: Int, blanks: Range<Int>, into out: inout [UInt8]) {
        switch breaks {
        case 0: out.append(contentsOf: bytes[blanks])
        case 1: out.append(0x20)
        default: out.append(contentsOf: repeatElement(0x0A, count: breaks - 1))
        }
    }

    /// The escape at the position (a `\` in double quotes), appended as UTF-8.
    func escape(into out: inout [UInt8]) throws(YAMLError) {
        let e = peek(1)
        i += 2
        var width = 0
        switch e {
        case c("0"): out.append(0)
        case c("a"): out.append(0x07)
        case c("b"): out.append(0x08)
        case c("t"), 0x09: out.append(0x09)
        case c("n"): out.append(0x0A)
        case c("v"): out.append(0x0B)
        case c("f"): out.append(0x0C)
        case c("r"): out.append(0x0D)
        case c("e"): out.append(0x1B)
        case c(" "), c("\""), c("/"), c("\\"): out.append(e)
        case c("N"): out.append(contentsOf: [0xC2, 0x85])
        case c("_"): out.append(contentsOf: [0xC2, 0xA0])
        case c("L"): out.append(contentsOf: [0xE2, 0x80, 0xA8])
        case c("P"): out.append(contentsOf: [0xE2, 0x80, 0xA9])
        case c("x"): width = 2
        case c("u"): width = 4
        case c("U"): width = 8
        default:
            throw error(e == 0 || e >= 0x80 ? "unknown escape" : "unknown escape '\\\(Character(Unicode.Scalar(e)))'")
        }
        guard width > 0 else { return }
        var value: UInt32 = 0
        for _ in 0..<width {
            guard let h = Hex.value(of: peek()) else { throw error("'\\\(Character(Unicode.Scalar(e)))' needs \(width) hex digits") }
            value = value << 4 | UInt32(h)
            i += 1
        }
        guard let scalar = Unicode.Scalar(value) else { throw error("an escape for no Unicode character") }
        out.append(contentsOf: String(scalar).utf8)
    }

    /// A literal `|` or folded `>` block scalar at its indicator. `indent` is the column of the enclosing block
    /// collection: the content is further right, at the column the indentation indicator gives (`|2`) or the first
    /// non-empty line's.
    func blockScalar(indent n: Int) throws(YAMLError) -> YAMLNode {
        let startLine = line
        let literal = peek() == c("|")
        i += 1
        var chomping = 0
        var increment = 0
        func digit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
        for _ in 0..<2 {
            let b = peek()
            if chomping == 0 && (b == c("+") || b == c("-")) {
                chomping = b == c("+") ? 1 : -1
                i += 1
            } else if increment == 0 && digit(b) {
                guard b != c("0") else { throw error("a block scalar's indentation indicator is 1 to 9") }
                increment = Int(b - 0x30)
                i += 1
            }
        }
        skipBlanks()
        if peek() == c("#") { while !atEnd && !isBreak(peek()) { i += 1 } }
        guard atEnd || isBreak(peek()) else { throw error("expected a comment or a line break after '\(literal ? "|" : ">")'") }
        if !atEnd { takeBreak() }
        var indent = increment > 0 ? max(n, 0) + increment : 0
        var trailingBreaks = 0
        var maxIndent = 0
        try blockBreaks(indent: indent, breaks: &trailingBreaks, maxIndent: &maxIndent)
        if indent == 0 { indent = max(maxIndent, n + 1, 1) }
        var out: [UInt8] = []
        var leadingBreak = false
        var leadingBlank = false
        while column == indent && !atEnd {
            let trailingBlank = isBlank(peek())
            if !literal && leadingBreak && !leadingBlank && !trailingBlank {
                if trailingBreaks == 0 { out.append(0x20) }
            } else if leadingBreak {
                out.append(0x0A)
            }
            out.append(contentsOf: repeatElement(0x0A, count: trailingBreaks))
            trailingBreaks = 0
            leadingBlank = trailingBlank
            let start = i
            while !atEnd && !isBreak(peek()) { i += 1 }
            out.append(contentsOf: bytes[start..<i])
            leadingBreak = !atEnd
            guard !atEnd else { break }
            takeBreak()
            try blockBreaks(indent: indent, breaks: &trailingBreaks, maxIndent: &maxIndent)
        }
        if chomping != -1 && leadingBreak { out.append(0x0A) }
        if chomping == 1 { out.append(contentsOf: repeatElement(0x0A, count: trailingBreaks)) }
        let style: YAMLNode.Style = literal ? .literal : .folded
        return YAMLNode(.scalar(.init(string: String(decoding: out, as: UTF8.self), style: style)), line: startLine)
    }

    /// Empty lines and the indentation before a block scalar's next line (all spaces while `indent` is 0, still to
    /// be found; `maxIndent` then tracks the widest).
    func blockBreaks(indent: Int, breaks: inout Int, maxIndent: inout Int) throws(YAMLError) {
        while true {
            while (indent == 0 || column < indent) && peek() == 0x20 { i += 1 }
            maxIndent = max(maxIndent, column)
            if (indent == 0 || column < indent) && peek() == 0x09 {
                throw error("a tab indents a block scalar's line: YAML indents with spaces")
            }
            guard isBreak(peek()) else { return }
            takeBreak()
            breaks += 1
        }
    }
}
