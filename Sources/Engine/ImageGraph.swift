/// An image as one graph, built from any source: the top manifest as it will be written, every manifest below
/// it, the blobs, what the platform filter kept, and what is attached (with its subjects and manifests).
///
/// Planners that must know everything before anything moves (`save` writing its archive while downloading)
/// build it with `plan`; the mirror engine, which every command runs, makes the same decisions as it goes
/// (`PlatformSelection` for the platforms, `AttachmentFinder` for the attachments), so a plan and a run agree.
public struct ImageGraph: Sendable {
    /// The manifest written under the destination tag: the source's exact bytes, or a filtered index.
    public var top: RawManifest
    /// The source's top manifest digest (differs from `top.digest` only when an index was filtered).
    public var sourceDigest: Digest
    /// Every manifest below the top, children before parents.
    public var children: [RawManifest]
    /// The digests of the top index's entries the platform filter kept (empty for an image).
    public var entries: [Digest]
    /// Unique blobs of the image's manifests, largest first.
    public var blobs: [Descriptor]
    public var platforms: [Platform]
    /// Whether an index was rewritten without some of its entries.
    public var rewritten: Bool
    /// What is attached and travels: each attachment whose subject the destination will hold, after its subject,
    /// with its manifest.
    public var attachments: [(attachment: Attachment, manifest: RawManifest)]
    /// Everything the finder met, the attachments left out by the policy and its warnings included (an executor
    /// carries and reports from this).
    public var discovery: AttachmentFinder.Discovery

    /// Plans the image `identifier` of `image` at the source.
    public static func plan(_ identifier: ManifestIdentifier, of image: Reference, sources: @escaping @Sendable (Reference) -> any ImageSource,
                            filter: PlatformFilter, attachments policy: AttachmentPolicy, retry: Retrier,
                            tagLists: TagListCache = TagListCache()) async throws -> ImageGraph
    {
        let src = sources(image)
        let top = try await retry.run("\(image): manifest") { try await src.manifest(identifier) }
        if case .schema1 = try top.parsed() { throw CopyError.schema1(image.description) }
        let selection = try await PlatformSelection.decide(top, pinned: identifier.isDigest, filter: filter) { config in
            try await retry.run("\(image): config") { try await src.smallBlob(config) }
        }
        // The kept children and everything below them, fetched concurrently.
        let children = try await withThrowingTaskGroup(of: (Int, [RawManifest]).self) { group in
            for (i, d) in selection.children.enumerated() {
                group.addTask { (i, try await tree(d.digest, depth: 1, src: src, retry: retry)) }
            }
            var out = [[RawManifest]](repeating: [], count: selection.children.count)
            for try await (i, ms) in group { out[i] = ms }
            return out.flatMap { $0 }
        }
        var blobs: [Digest: Descriptor] = [:]
        for m in [top] + children {
            if case .image(let im) = try m.parsed() { for b in im.blobs where !b.isForeign { blobs[b.digest] = b } }
        }
        // Attachments whose subject will be at the destination, after it.
        let subjects = [top.digest] + selection.children.map(\.digest)
        let discovery = try await AttachmentFinder(policy: policy, tagLists: tagLists, retry: retry).find(subjects, image: image, sources: sources)
        var available = Set(selection.children.map(\.digest) + (selection.rewritten ? [] : [top.digest]))
        var attached: [(Attachment, RawManifest)] = []
        for f in discovery.found.sorted(by: { $0.depth < $1.depth }) where available.contains(f.attachment.subject) {
            let a = f.attachment
            let tagged = a.legacy.map { sources(image.withTag(AttachmentTag.legacy($0, for: a.subject))) } ?? src
            guard let m = try await retry.run("\(image.name)@\(a.descriptor.digest)", { try await tagged.manifestIfPresent(.digest(a.descriptor.digest)) })
            else { continue }
            if a.legacy == nil, ReferrersIndex.subject(of: m) != a.subject { continue }
            attached.append((a, m))
            available.insert(a.descriptor.digest)
        }
        return ImageGraph(top: selection.written, sourceDigest: top.digest, children: children, entries: selection.children.map(\.digest),
                          blobs: blobs.values.sorted { $0.size != $1.size ? $0.size > $1.size : $0.digest < $1.digest },
                          platforms: selection.platforms, rewritten: selection.rewritten, attachments: attached,
                          discovery: discovery)
    }

    /// A manifest by digest and, when it is an index, every manifest below it (children before parents).
    static func tree(_ digest: Digest, depth: Int, src: any ImageSource, retry: Retrier) async throws -> [RawManifest] {
        guard depth <= 4 else { throw CopyError.tooDeep }
        let m = try await retry.run("manifest \(digest)") { try await src.manifest(.digest(digest)) }
        switch try m.parsed() {
        case .schema1: throw CopyError.schema1("\(src.location)@\(digest)")
        case .image: return [m]
        case .index(let index):
            var all: [RawManifest] = []
            for d in index.manifests { all += try await tree(d.digest, depth: depth + 1, src: src, retry: retry) }
            return all + [m]
        }
    }

    /// The blobs of the attachments' manifests (an attachment that is an index: its image manifests' blobs
    /// are not listed here; they are fetched with it).
    public var attachmentBlobs: [Descriptor] {
        var out: [Digest: Descriptor] = [:]
        for (_, m) in attachments {
            if case .image(let im)? = try? m.parsed() { for b in im.blobs where !b.isForeign { out[b.digest] = b } }
        }
        return Array(out.values)
    }
}
