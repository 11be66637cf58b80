/// The reader's position in the text: bytes ahead, line breaks, white space and comments between tokens.
extension YAMLReader {
    /// The byte `k` places ahead; 0 past the end (`checkCharacters` has refused NUL in the text).
    @inline(__always) func peek(_ k: Int = 0) -> UInt8 {
        let j = i + k
        return j < bytes.count ? bytes[j] : 0
    }

    @inline(__always) func c(_ s: Unicode.Scalar) -> UInt8 { UInt8(ascii: s) }

    var atEnd: Bool { i >= bytes.count }
    /// The 0-based column of the position, in bytes (indentation is ASCII spaces, so bytes are characters there).
    var column: Int { i - lineStart }
    /// The line libyaml gives the end of the text: a last line without a line break counts as ended.
    var endLine: Int { column > 0 ? line + 1 : line }

    @inline(__always) func isBlank(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 }
    @inline(__always) func isBreak(_ b: UInt8) -> Bool { b == 0x0A || b == 0x0D }
    /// Whether `k` places ahead is a space, a tab, a line break or the end.
    @inline(__always) func atSpace(_ k: Int) -> Bool {
        let b = peek(k)
        return b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D || i + k >= bytes.count
    }

    /// `---` at the start of a line, before white space or the end.
    var atDocumentStart: Bool { column == 0 && peek() == c("-") && peek(1) == c("-") && peek(2) == c("-") && atSpace(3) }
    /// `...` at the start of a line, before white space or the end.
    var atDocumentEnd: Bool { column == 0 && peek() == c(".") && peek(1) == c(".") && peek(2) == c(".") && atSpace(3) }

    /// Steps over the line break at the position (CRLF, LF or CR).
    func takeBreak() {
        i += peek() == 0x0D && peek(1) == 0x0A ? 2 : 1
        line += 1
        lineStart = i
    }

    /// Skips spaces and tabs on this line.
    func skipBlanks() {
        while isBlank(peek()) { i += 1 }
    }

    /// Skips spaces, comments and line breaks up to the next token, and tells whether it crossed a line break.
    /// Tabs separate tokens in flow collections and after a token on a line, but never indent a line of the block
    /// structure, and not right after `- ` (`tabs` false): there, like libyaml, a tab is an error.
    @discardableResult
    func skipToToken(flow: Bool, tabs: Bool) throws(YAMLError) -> Bool {
        var crossed = false
        var tabsHere = tabs || flow
        while true {
            let b = peek()
            if b == 0x20 {
                i += 1
            } else if b == 0x09 {
                guard tabsHere else {
                    throw error(column == 0 || crossed ? "a tab indents this line: YAML indents with spaces" : "a tab after '-': use a space")
                }
                i += 1
            } else if b == c("#") {
                while !atEnd && !isBreak(peek()) { i += 1 }
            } else if isBreak(b) {
                takeBreak()
                crossed = true
                tabsHere = flow
            } else {
                return crossed
            }
        }
    }

    /// A problem at the position's line, or at `line`.
    func error(_ problem: String, line: Int? = nil) -> YAMLError {
        YAMLError(line: line ?? self.line, problem: problem)
    }

    /// Refuses the characters libyaml refuses (control characters other than tab and line breaks, DEL, C1 controls
    /// other than U+0085, U+FFFE and U+FFFF), with their line.
    func checkCharacters() throws(YAMLError) {
        var line = 1
        var k = 0
        let n = bytes.count
        while k < n {
            let b = bytes[k]
            if b < 0x80 {
                if b == 0x0A || (b == 0x0D && (k + 1 == n || bytes[k + 1] != 0x0A)) {
                    line += 1
                } else if b < 0x20 && b != 0x09 && b != 0x0D || b == 0x7F {
                    throw YAMLError(line: line, problem: "control characters are not allowed")
                }
            } else if b == 0xC2, k + 1 < n, bytes[k + 1] < 0xA0, bytes[k + 1] != 0x85 {
                throw YAMLError(line: line, problem: "control characters are not allowed")
            } else if b == 0xEF, k + 2 < n, bytes[k + 1] == 0xBF, bytes[k + 2] >= 0xBE {
                throw YAMLError(line: line, problem: "control characters are not allowed")
            }
            k += 1
        }
    }
}
