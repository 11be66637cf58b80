import Engine
import FoundationEssentials
import Glibc
import Logging
import Synchronization

/// Downloads images into a layout folder and archives the folder at the same time.
///
/// 1. Plan: every image's manifests are fetched (many at once; they are small) and its configs downloaded into
///    the folder, which fixes the folder's future `index.json` and the archive's head.
/// 2. Copy and archive: the mirror engine fills the folder (reading the planned manifests from memory, so what is
///    copied is what was planned) while a `LayoutStreamArchiver` writes each layer into the archive as soon as
///    it lands. Total time is close to the slower of downloading and compressing, not their sum.
///    What is attached (cosign tags, and the fallback indexes the engine will write) is planned too, with the
///    attachments' blobs stored in the folder, so they are in the head; the engine then finds them there.
/// 3. If the folder did not end up with the planned entries (an image failed, or changed between plan and copy),
///    the streamed archive is dropped and rebuilt from the folder's entries of the saved images.
/// The archive holds the listed images only (an `ArchiveSelection`), whatever else the folder (a cache) holds.
public struct ArchiveSaver: Sendable {
    public let layout: OCILayout
    public let output: ArchiveOutput
    public let options: MirrorOptions
    let sources: MirrorEngine.SourceFactory
    let logger: Logger

    /// What was written: the files, their size, and the number of images they hold.
    public struct Written: Sendable {
        public var files: [String]
        public var bytes: Int64
        public var images: Int
    }

    /// What happened to the archive.
    public enum Archive: Sendable {
        /// Written while downloading.
        case streamed(Written)
        /// Rebuilt from the folder after the download, for the reason given.
        case rebuilt(Written, reason: String)
        /// No image was saved, so no archive was written.
        case empty
        case failed(String)
    }

    public init(layout: OCILayout, output: ArchiveOutput, options: MirrorOptions,
                sources: @escaping MirrorEngine.SourceFactory, logger: Logger) {
        self.layout = layout
        self.output = output
        self.options = options
        self.sources = sources
        self.logger = logger
    }

    /// Saves `targets` (each named in the folder by its destination reference) and writes the archive, which holds
    /// the images of `targets` that were saved (with their signature attachments) and nothing else of the folder.
    public func run(_ targets: [MirrorTarget], events: @escaping @Sendable (MirrorEvent) -> Void) async
        -> (results: [MirrorResult], archive: Archive)
    {
        let memo = ManifestMemo()
        let sources = self.sources
        let planned = await plan(targets, sources: { memo.wrap(sources($0)) })

        var archiver: LayoutStreamArchiver?
        var streamed: ArchiveSink?
        var expected = ImageIndex(mediaType: .ociIndex, manifests: [])
        var manifests: [Digest: [UInt8]] = [:]
        for t in targets {
            guard let p = planned[t.id] else { continue }
            expected = OCILayout.naming(expected, p.top.descriptor(), t.destination.description)
            manifests[p.top.digest] = p.top.bytes
            for c in p.children { manifests[c.digest] = c.bytes }
            for (name, m) in p.entries {
                expected = OCILayout.naming(expected, m.descriptor(), name)
                manifests[m.digest] = m.bytes
            }
            for (_, m) in p.graph.attachments { manifests[m.digest] = m.bytes }
        }
        var why = "nothing could be planned"
        if !planned.isEmpty {
            do {
                let out = try output.open()
                let a = try LayoutStreamArchiver(layout: layout, sink: out.sink, index: expected, manifests: manifests)
                archiver = a
                streamed = out
                // What an earlier run left in the folder is ready now.
                for p in planned.values {
                    for b in p.blobs where layout.blobSize(b.digest) == b.size { a.ready(b.digest) }
                }
            } catch {
                why = "the archive could not be started: \(error)"
            }
        }
        func drop() {
            streamed?.stop()
            archiver?.abort()
            streamed?.discard()
        }

        let layout = self.layout
        let ready: @Sendable (Digest) -> Void = { [archiver] in archiver?.ready($0) }
        let engine = MirrorEngine(options: options, sources: { memo.wrap(sources($0)) }, destinations: {
            ObservedDestination(OCILayoutImageDestination(layout: layout, name: $0.description), present: ready)
        }, logger: logger)
        let results = await engine.run(targets, events: events)
        if Task.isCancelled {
            drop()
            return (results, .failed(ArchiveStopped().description))
        }
        let names = ArchiveSelection.names(of: targets, savedIn: results)
        guard !names.isEmpty else {
            drop()
            return (results, .empty)
        }
        let selection: ArchiveSelection
        do {
            selection = try ArchiveSelection(try layout.index(), names: names) { try layout.readBlob($0) }
        } catch {
            drop()
            return (results, .failed("\(layout.path): \(error)"))
        }

        if let archiver, let streamed {
            if Self.sameImages(selection.index, expected) {
                do {
                    try await Self.blocking(stopping: streamed) { try archiver.finish() }
                    return (results, .streamed(Written(files: streamed.files, bytes: streamed.bytes, images: selection.images)))
                } catch {
                    streamed.discard()
                    return (results, .failed("\(output.path): \(error)"))
                }
            }
            drop()
            why = results.contains { $0.status == .failed } ? "some images failed" : "the folder changed during the run"
        }
        let out: ArchiveSink
        do { out = try output.open() } catch { return (results, .failed("\(output.path): \(error)")) }
        do {
            try await Self.blocking(stopping: out) { [layout] in
                try LayoutArchiver.write(layout, selection: selection, to: TarWriter(out.sink))
            }
            return (results, .rebuilt(Written(files: out.files, bytes: out.bytes, images: selection.images), reason: why))
        } catch {
            out.discard()
            return (results, .failed("\(output.path): \(error)"))
        }
    }

    /// An image's graph and the attachment entries the folder will hold for it (name, manifest): cosign tags as
    /// the source has them, fallback indexes as the engine will write them.
    struct Planned: Sendable {
        var graph: ImageGraph
        var entries: [(name: String, manifest: RawManifest)]
        var top: RawManifest { graph.top }
        var children: [RawManifest] { graph.children }
        /// The image's blobs and its attachments' blobs.
        var blobs: [Descriptor] { graph.blobs + graph.attachmentBlobs }
    }

    /// Plans every target (its graph from the source; configs and attachment blobs stored in the folder); targets
    /// that cannot be planned are left to the engine, which reports why.
    private func plan(_ targets: [MirrorTarget], sources: @escaping MirrorEngine.SourceFactory) async -> [Int: Planned] {
        let layout = self.layout
        let retry = Retrier(attempts: options.retries, firstDelay: options.retryDelay, logger: logger)
        let width = min(32, max(8, options.jobs * 2))
        let (filter, policy) = (options.platforms, options.attachments)
        let tagLists = TagListCache()
        return await withTaskGroup(of: (Int, Planned?).self) { group in
            var pending = targets[...]
            var plans: [Int: Planned] = [:]
            func admit() {
                guard let t = pending.popFirst() else { return }
                group.addTask {
                    do {
                        let g = try await ImageGraph.plan(ManifestIdentifier(t.source), of: t.source, sources: sources, filter: filter,
                                                          attachments: policy, retry: retry, tagLists: tagLists)
                        var small: [Descriptor] = []
                        for m in [g.top] + g.children { if case .image(let im) = try m.parsed() { small.append(im.config) } }
                        for (d, src) in small.map({ ($0, sources(t.source)) }) + g.attachmentBlobs.map({ ($0, sources(t.source)) })
                        where layout.blobSize(d.digest) != d.size {
                            try await retry.run("blob \(d.digest)") {
                                try await layout.writeBlob(d, from: VerifyingStream(try await src.blob(d), expecting: d))
                            }
                        }
                        return (t.id, Planned(graph: g, entries: try Self.attachmentEntries(g, of: t, in: layout)))
                    } catch {
                        return (t.id, nil)
                    }
                }
            }
            for _ in 0..<width { admit() }
            while let (id, p) = await group.next() {
                plans[id] = p
                admit()
            }
            return plans
        }
    }

    /// The folder entries the engine will write for what is attached to the image `g` of `t`: each cosign tag
    /// (the source's manifest, when the folder holds none or the same), each subject's fallback index (what the
    /// folder has, with the referrers appended in digest order, as the engine appends them).
    static func attachmentEntries(_ g: ImageGraph, of t: MirrorTarget, in layout: OCILayout) throws -> [(name: String, manifest: RawManifest)] {
        var entries: [(String, RawManifest)] = []
        var referrers: [Digest: [RawManifest]] = [:]
        for (a, m) in g.attachments {
            guard let kind = a.legacy else {
                referrers[a.subject, default: []].append(m)
                continue
            }
            let name = t.destination.withTag(AttachmentTag.legacy(kind, for: a.subject)).description
            if let have = try layout.entry(named: name), have.digest != m.digest { continue }
            entries.append((name, m))
        }
        for (subject, list) in referrers.sorted(by: { $0.key < $1.key }) {
            let name = t.destination.withTag(AttachmentTag.fallback(for: subject)).description
            let existing = try layout.entry(named: name).map { e in
                try RawManifest(bytes: try layout.readBlob(e.digest), mediaType: nil, expecting: e.digest)
            }
            let added = try list.sorted { $0.digest < $1.digest }.map(ReferrersIndex.entry(for:))
            if let index = try ReferrersIndex.adding(added, to: existing) ?? existing { entries.append((name, index)) }
        }
        return entries
    }

    /// Whether two indexes name the same images with the same manifests (order aside).
    static func sameImages(_ a: ImageIndex, _ b: ImageIndex) -> Bool {
        func key(_ i: ImageIndex) -> Set<String> {
            Set(i.manifests.map { "\(OCILayout.name(of: $0) ?? "") \($0.digest) \($0.size)" })
        }
        return a.manifests.count == b.manifests.count && key(a) == key(b)
    }

    /// Runs blocking archive work off the cooperative thread pool; cancelling the task stops the archive `out`,
    /// whose writes then fail, so the work ends promptly.
    static func blocking<T: Sendable>(stopping out: ArchiveSink, _ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withTaskCancellationHandler {
            try await blocking(body)
        } onCancel: {
            out.stop()
        }
    }

    /// Runs blocking disk work off the cooperative thread pool.
    static func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { c in
            OSThread.start(name: "dray.disk") { c.resume(with: Result { try body() }) }
        }
    }
}
