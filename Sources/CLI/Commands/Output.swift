import Engine

/// Writes to standard output as `Swift.print` does, with known secrets masked and control characters written out:
/// what dray prints can quote registries' error bodies, archive entries and list lines. (Byte-exact output, such as
/// `inspect --raw`, goes through `OutputFile.standardOutput` instead.)
func print(_ items: Any..., separator: String = " ", terminator: String = "\n") {
    let text = items.map { "\($0)" }.joined(separator: separator)
    Swift.print(Secrets.redact(text).escapingControlCharacters, terminator: terminator)
}
