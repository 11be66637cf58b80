extension StringProtocol {
    /// The text without the leading and trailing characters `drop` accepts.
    public func trimming(while drop: (Character) -> Bool) -> String {
        guard let first = firstIndex(where: { !drop($0) }) else { return "" }
        let last = lastIndex(where: { !drop($0) })!
        return String(self[first...last])
    }

    /// The text without leading and trailing spaces and tabs (`Character.isSpace`: Foundation's `.whitespaces`).
    public func trimmingSpaces() -> String { trimming(while: \.isSpace) }

    /// The text without leading and trailing white space and line breaks (Foundation's `.whitespacesAndNewlines`).
    public func trimmingWhitespace() -> String { trimming { $0.isSpace || $0.isNewline } }
}

extension Character {
    /// White space that is not a line break, or the zero-width space: the characters of Foundation's
    /// `.whitespaces`.
    public var isSpace: Bool { (isWhitespace && !isNewline) || self == "\u{200B}" }
}
