import FoundationEssentials

/// `--immutable-tags REGEX` with `--state FILE`: tags that never move once published (`v1.2.3`), skipped with no
/// request at all when an earlier run recorded them as mirrored (source and destination digests, per target and
/// platform filter, in `MirrorRecords`' format).
public struct ImmutableTags: Sendable {
    /// Tags this pattern finds are treated as immutable.
    public let pattern: TextPattern
    /// What earlier runs mirrored.
    public let state: MirrorRecords

    public init(pattern: TextPattern, state: MirrorRecords) {
        self.pattern = pattern
        self.state = state
    }

    /// The result of `target` without asking anyone, when its tag is immutable and recorded; nil otherwise.
    public func recorded(_ target: MirrorTarget, platforms: PlatformFilter) -> MirrorResult? {
        guard target.source.digest == nil, let tag = target.source.tag, pattern.finds(in: tag),
              let entry = state.entry(source: target.source.description, destination: target.destination.description,
                                      platforms: platforms)
        else { return nil }
        return MirrorResult(id: target.id, source: target.source.description, destination: target.destination.description,
                            line: target.line, status: .skipped, digest: entry.destination, sourceDigest: entry.source,
                            platforms: [], rewritten: false, bytesCopied: 0, blobsCopied: 0, blobsMounted: 0,
                            blobsPresent: 0, seconds: 0, error: nil, warning: nil, recorded: true)
    }
}
