/// dray's YAML reader for config files (image-syncer's `--config`/`--auth`/`--images`, registry profiles): what
/// users write in them, read into the trees Yams gave, refused where libyaml refuses, on the line it names.
///
/// Takes one document: block mappings and sequences (a sequence may sit at its key's column, and `- key: v` items
/// are mappings), flow `{…}` and `[…]` over any number of lines (so any JSON document), plain scalars over several
/// lines (`http://x`, `a:b`, `repo:/re.*/` and `host:5000/ns/repo:tag` are one scalar each), single- and
/// double-quoted scalars with every YAML escape (`\n \t \" \\ \/ \xXX \uXXXX \UXXXXXXXX \N \_ \L \P`, …) and line
/// folding, literal `|` and folded `>` block scalars with chomping (`-`, `+`) and indentation indicators, comments,
/// `---` and `...`, `%YAML 1.1`/`1.2` and `%TAG` directives, a UTF-8 byte order mark, CRLF line ends, anchors and
/// aliases, and tags (`!!str`, `!local`, `!<verbatim>`, `%TAG` handles).
///
/// Refuses, with the line: a second document, a tab in indentation, bad indentation, an unclosed quote or bracket,
/// `key: value: x`, an implicit key over one line or 1024 characters, a duplicate key in a mapping (Yams' rule:
/// same text and same resolved tag, so `a` and `"a"` repeat but `1` and `"1"` do not; collection keys are not
/// compared), an undefined alias, control characters, and more than 256 nested collections (an alias counts with
/// the depth of what it names).
///
/// Where it parts from Yams, on purpose: explicit `? key` entries and keys of properties only (`&a : x`) are
/// refused; a byte order mark is skipped (Yams counts it as a column and then refuses a second top-level key);
/// U+0085, U+2028 and U+2029 are not line breaks (YAML 1.2); a duplicate key is reported on its second line, not
/// its first; and when a text has two faults, the one reported can differ (libyaml reads ahead before some).
public enum YAML {
    /// The node tree of a one-document YAML (or JSON) text; nil when the text holds no document (nothing but white
    /// space and comments).
    public static func compose(_ text: String) throws(YAMLError) -> YAMLNode? {
        let reader = YAMLReader(text)
        return try reader.document()
    }
}

/// A text `YAML.compose` refuses: where, and what is wrong.
public struct YAMLError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The 1-based line of the problem (for an unexpected end, the line after the last, as libyaml counts it).
    public let line: Int
    /// What is wrong, in a few words.
    public let problem: String

    public init(line: Int, problem: String) {
        self.line = line
        self.problem = problem
    }

    public var description: String { "line \(line): \(problem)" }
}
