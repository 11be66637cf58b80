/// A regular expression from a flag or a config file, searched for anywhere in a text (anchor it with `^…$` to
/// match the whole text).
///
/// Swift's own regular expressions (the syntax PCRE, ICU and RE2 share in everyday use: classes, anchors,
/// groups, alternation, `{m,n}`, `(?i)`), so matching needs no Foundation.
///
/// Unchecked Sendable: a compiled `Regex` is an immutable value that is safe to match from any thread (the
/// standard library lowers its program once, atomically); it is not `Sendable` only because its untyped output
/// (`AnyRegexOutput`) could hold any value, and this type never hands an output out.
public struct TextPattern: @unchecked Sendable, CustomStringConvertible {
    /// The expression as given.
    public let source: String
    private let regex: Regex<AnyRegexOutput>

    /// Compiles `source`; throws when it is not a valid expression.
    public init(_ source: String) throws(TextPatternError) {
        do { regex = try Regex(source) } catch { throw TextPatternError(source: source) }
        self.source = source
    }

    /// Whether the expression matches anywhere in `text`.
    public func finds(in text: String) -> Bool { text.contains(regex) }

    public var description: String { "/\(source)/" }
}

/// A text that is not a valid regular expression.
public struct TextPatternError: Error, Sendable, CustomStringConvertible {
    public let source: String
    public var description: String { "\"\(source.prefix(80))\" is not a valid regular expression" }
}
