/// One node of a YAML document as `YAML.compose` reads it: a scalar, a mapping or a sequence, with the line it
/// starts on.
///
/// The accessors follow Yams' `Node`, which dray used before: `string` is a scalar's text whatever it looks like
/// (`~`, `null` and an empty value give `"~"`, `"null"` and `""`), and `bool` reads YAML 1.1's words (`true`, `yes`,
/// `on`, `false`, `no`, `off` in any case) from a scalar that is not a string by style or tag: `"true"`, `'yes'`,
/// `|` blocks and `!!str true` give nil. An alias is the node its anchor names (with that node's line).
public struct YAMLNode: Sendable {
    /// How a scalar was written.
    public enum Style: Sendable, Hashable {
        case plain, singleQuoted, doubleQuoted, literal, folded
    }

    /// A scalar's text (escapes, folding and chomping applied) and style.
    public struct Scalar: Sendable, Hashable {
        public var string: String
        public var style: Style

        public init(string: String, style: Style) {
            self.string = string
            self.style = style
        }
    }

    /// What a node holds. Mapping pairs keep the document's order.
    public enum Content: Sendable {
        case scalar(Scalar)
        case mapping([(key: YAMLNode, value: YAMLNode)])
        case sequence([YAMLNode])
    }

    public var content: Content
    /// The explicit tag with its handle expanded (`!!str` is `tag:yaml.org,2002:str`), `!` for the non-specific
    /// tag, nil without one.
    public var tag: String?
    /// The 1-based line the node starts on (its anchor or tag when it has one).
    public var line: Int

    public init(_ content: Content, tag: String? = nil, line: Int) {
        self.content = content
        self.tag = tag
        self.line = line
    }

    /// The scalar, if this is one.
    public var scalar: Scalar? {
        if case .scalar(let s) = content { return s }
        return nil
    }

    /// A scalar's text; nil for a mapping or a sequence (Yams also reads the value of a mapping's `=` key here, a
    /// YAML 1.1 oddity no config uses).
    public var string: String? { scalar?.string }

    /// The pairs of a mapping, in order.
    public var mapping: [(key: YAMLNode, value: YAMLNode)]? {
        if case .mapping(let pairs) = content { return pairs }
        return nil
    }

    /// The items of a sequence.
    public var sequence: [YAMLNode]? {
        if case .sequence(let items) = content { return items }
        return nil
    }

    /// A scalar read as a YAML 1.1 boolean (`true`/`yes`/`on`, `false`/`no`/`off`, any case); nil for other text and
    /// for a scalar that is a string by its quotes, block style or `!!str` tag.
    public var bool: Bool? {
        guard let s = scalar else { return nil }
        let isString = tag.map { $0 == YAMLTag.str } ?? (s.style != .plain)
        guard !isString else { return nil }
        switch s.string.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: return nil
        }
    }

    /// The node's tag as YAML 1.1's resolver sees it: the explicit tag, else `str` for a quoted or block scalar and
    /// the plain text's type (`bool`, `int`, `float`, `null`, `timestamp`, `merge`, `value` or `str`), `map` or `seq`.
    public var resolvedTag: String {
        switch content {
        case .scalar(let s):
            if let tag, tag != "!" { return tag }
            return tag == nil && s.style == .plain ? YAMLTag.implicit(s.string) : YAMLTag.str
        case .mapping: return tag.flatMap { $0 == "!" ? nil : $0 } ?? YAMLTag.map
        case .sequence: return tag.flatMap { $0 == "!" ? nil : $0 } ?? YAMLTag.seq
        }
    }
}
