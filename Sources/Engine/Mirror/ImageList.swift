import FoundationEssentials

/// One usable line of an image list.
public struct ImageListEntry: Sendable, Hashable {
    /// 1-based line number in the file.
    public var lineNumber: Int
    /// The line as written (trimmed), kept for the failed list.
    public var line: String
    /// The source image, as written: the registry may still be overridden (`-s`).
    public var source: Reference
    /// Mirror format's destination repository (no tag), if the line gave one.
    public var destinationRepository: String?
}

/// A line of an image list that is neither format.
public struct ImageListError: Error, Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var lineNumber: Int
    public var line: String
    public var reason: String

    public init(file: String, lineNumber: Int, line: String, reason: String) {
        self.file = file
        self.lineNumber = lineNumber
        self.line = line
        self.reason = reason
    }

    public var description: String { "\(file):\(lineNumber): \(reason)" }
}

/// Hangar's image-list formats, detected per line.
///
/// - Default: `[REGISTRY/][PROJECT/]NAME[:TAG|@DIGEST]`, one per line.
/// - Mirror: `SOURCE DESTINATION TAG`, whitespace-separated, repositories without tags.
///
/// Blank lines and lines starting with `#` or `//` are ignored.
public enum ImageList {
    /// Parses a list; bad lines are returned as errors (with line numbers), good ones as entries.
    public static func parse(_ text: String, file: String) -> (entries: [ImageListEntry], errors: [ImageListError]) {
        var entries: [ImageListEntry] = []
        var errors: [ImageListError] = []
        var number = 0
        // Split on the scalar: as Characters, a Windows "\r\n" is one grapheme that is not "\n".
        for raw in text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false) {
            number += 1
            let line = String(raw).trimming { $0.isSpace || $0 == "\r" }
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix("//") { continue }
            func fail(_ reason: String) {
                errors.append(ImageListError(file: file, lineNumber: number, line: String(line.prefix(1000)), reason: reason))
            }
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            switch fields.count {
            case 1:
                do {
                    entries.append(ImageListEntry(lineNumber: number, line: line, source: try Reference(parsing: fields[0])))
                } catch {
                    fail(error.description)
                }
            case 3:
                let (src, dst, tag) = (fields[0], fields[1], fields[2])
                var source: Reference
                do { source = try Reference(parsing: src) } catch { fail(error.description); continue }
                if src.contains("@") || Self.hasTag(src) {
                    fail("mirror format: the source \"\(src)\" must not carry a tag or digest; the third field is the tag")
                    continue
                }
                if dst.contains("@") || Self.hasTag(dst) {
                    fail("mirror format: the destination \"\(dst)\" must not carry a tag or digest")
                    continue
                }
                if tag.hasPrefix("sha256:") || tag.hasPrefix("sha512:") {
                    do { source.digest = try Digest(parsing: tag); source.tag = nil } catch { fail("\(error)"); continue }
                } else {
                    guard Reference.isValidTag(tag) else { fail("mirror format: invalid tag \"\(tag.prefix(140))\""); continue }
                    source.tag = tag
                }
                entries.append(ImageListEntry(lineNumber: number, line: line, source: source, destinationRepository: dst))
            default:
                fail("expected an image (Default format) or SOURCE DESTINATION TAG (Mirror format), found \(fields.count) fields")
            }
        }
        return (entries, errors)
    }

    /// Whether a repository string ends in `:tag` (a colon after the last slash that is not a port).
    static func hasTag(_ s: String) -> Bool {
        let lastPart = s.split(separator: "/").last.map(String.init) ?? s
        guard lastPart.contains(":") else { return false }
        // `host:port` alone (no slash) is a registry, not a tagged name.
        return s.contains("/")
    }

    /// Whether the first path component of a repository string names a registry (has '.', ':' or is localhost).
    public static func namesRegistry(_ s: String) -> Bool {
        guard let slash = s.firstIndex(of: "/") else { return false }
        let first = s[..<slash]
        return first.contains(".") || first.contains(":") || first == "localhost"
    }
}
