extension StringProtocol {
    /// The text without the leading and trailing characters `drop` accepts.
    public func trimming(while drop: (Character) -> Bool) -> String {
        guard let first = firstIndex(where: { !drop($0) }) else { return "" }
        let last = lastIndex(where: { !drop($0) })!
        return String(self[first...last])
    }

    /// The text without leading and trailing spaces and tabs (white space that is not a line break, and the
    /// zero-width space: Foundation's `.whitespaces`).
    public func trimmingSpaces() -> String { trimming { ($0.isWhitespace && !$0.isNewline) || $0 == "\u{200B}" } }

    /// The text without leading and trailing white space and line breaks (Foundation's `.whitespacesAndNewlines`).
    public func trimmingWhitespace() -> String { trimming { $0.isWhitespace || $0 == "\u{200B}" } }
}
