import FoundationEssentials

/// Which of a repository's tags a run takes, beyond naming them: a semver range, the newest N by semver, and
/// patterns to leave out (`--semver`, `--latest`, `--exclude-tag`).
///
/// Exclusions apply first. With a range or a count, tags that are not versions (`latest`, `main`) drop out, as do
/// pre-releases (`2.0.0-rc.1`, and variant tags such as `1.27-alpine`) unless the range names one, and the result
/// is ordered newest first; otherwise the tags keep their order.
public struct TagSelection: Sendable {
    public var range: SemverRange?
    public var latest: Int?
    /// Regular expressions; a tag any of them finds (anywhere: anchor with ^…$) is left out.
    public let excluded: [String]
    /// `excluded`, compiled once.
    private let patterns: [TextPattern]

    public init(range: SemverRange? = nil, latest: Int? = nil, excluded: [String] = []) throws(TagSelectionError) {
        if let latest, latest < 1 { throw .invalid("--latest must be at least 1") }
        var patterns: [TextPattern] = []
        for pattern in excluded {
            guard let re = try? TextPattern(pattern) else {
                throw .invalid("--exclude-tag: \"\(pattern.prefix(80))\" is not a regular expression")
            }
            patterns.append(re)
        }
        self.range = range
        self.latest = latest
        self.excluded = excluded
        self.patterns = patterns
    }

    /// Whether anything is selected beyond the tags themselves.
    public var isActive: Bool { range != nil || latest != nil || !excluded.isEmpty }

    /// The selected tags of `tags`; attachment tags (`sha256-<hex>`, `.sig`, `.att`, `.sbom`) are never selected.
    public func select(_ tags: [String]) -> [String] {
        var kept = tags.filter { tag in !AttachmentTag.isAttachmentTag(tag) && !patterns.contains { $0.finds(in: tag) } }
        guard range != nil || latest != nil else { return kept }
        var versions = kept.compactMap { tag in SemanticVersion(tag).map { (tag, $0) } }
        // Suffixed tags (2.0.0-rc.1, 1.27-alpine) are pre-releases in semver terms: only a range that names one
        // takes them.
        if let range { versions = versions.filter { range.contains($0.1) } } else { versions = versions.filter { !$0.1.isPrerelease } }
        // Newest first; equal versions (v1.2 and 1.2.0) by tag text, so the order is the same every run.
        versions.sort { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }
        kept = versions.map(\.0)
        if let latest { kept = Array(kept.prefix(latest)) }
        return kept
    }

    /// The selection in words, for messages ("--semver >=1.2 <2, --latest 3").
    public var summary: String {
        var parts: [String] = []
        if let range { parts.append("--semver \(range)") }
        if let latest { parts.append("--latest \(latest)") }
        for e in excluded { parts.append("--exclude-tag \(e)") }
        return parts.joined(separator: ", ")
    }
}

/// A tag selection dray cannot use.
public enum TagSelectionError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalid(String)
    public var description: String {
        switch self {
        case .invalid(let why): why
        }
    }
}
