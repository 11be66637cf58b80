import Engine
import Foundation
import Logging
import Synchronization

/// Downloads images into a layout folder and archives the folder at the same time.
///
/// 1. Plan: every image's manifests are fetched (many at once; they are small) and its configs downloaded into
///    the folder, which fixes the folder's future `index.json` and the archive's head.
/// 2. Copy and archive: the mirror engine fills the folder (reading the planned manifests from memory, so what is
///    copied is what was planned) while a `LayoutStreamArchiver` writes each layer into the archive as soon as
///    it lands. Total time is close to the slower of downloading and compressing, not their sum.
///    Signature attachments (`REPO:sha256-<hex>.sig`) of the planned manifests are planned too, so they are in the
///    head; the engine then finds them already in the folder.
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
            for (tag, sig) in p.signatures {
                expected = OCILayout.naming(expected, sig.descriptor(), t.destination.withTag(tag).description)
                manifests[sig.digest] = sig.bytes
            }
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

    /// Plans every target (manifests fetched, configs stored in the folder); targets that cannot be planned are
    /// left to the engine, which reports why.
    /// An image's plan and the signature attachments that go with it (tag, manifest).
    struct Planned: Sendable {
        var plan: ImagePlan
        var signatures: [(tag: String, manifest: RawManifest)]
        var top: RawManifest { plan.top }
        var children: [RawManifest] { plan.children }
        var blobs: [Descriptor] { plan.blobs }
    }

    private func plan(_ targets: [MirrorTarget], sources: @escaping MirrorEngine.SourceFactory) async -> [Int: Planned] {
        let layout = self.layout
        let copyOptions = {
            var o = CopyOptions()
            o.platforms = options.platforms
            o.retries = options.retries
            o.retryDelay = options.retryDelay
            return o
        }()
        let retry = Retrier(attempts: options.retries, firstDelay: options.retryDelay, logger: logger)
        let logger = self.logger
        let width = min(32, max(8, options.jobs * 2))
        let signatures = options.signatures
        return await withTaskGroup(of: (Int, Planned?).self) { group in
            var pending = targets[...]
            var plans: [Int: Planned] = [:]
            func admit() {
                guard let t = pending.popFirst() else { return }
                group.addTask {
                    let src = sources(t.source)
                    let dst = OCILayoutImageDestination(layout: layout, name: t.destination.description)
                    do {
                        let p = try await ImageCopier(source: src, destination: dst, options: copyOptions, logger: logger)
                            .plan(ManifestIdentifier(t.source))
                        for m in [p.top] + p.children {
                            guard case .image(let im) = try m.parsed(), layout.blobSize(im.config.digest) != im.config.size else { continue }
                            try await retry.run("config \(im.config.digest)") {
                                try await layout.writeBlob(im.config, from: VerifyingStream(try await src.blob(im.config), expecting: im.config))
                            }
                        }
                        let sigs = signatures == .copy
                            ? try await Self.planSignatures(p, of: t, sources: sources, into: layout, retry: retry) : []
                        return (t.id, Planned(plan: p, signatures: sigs))
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

    /// Finds the source's signature attachments of the manifests a plan writes unchanged and stores their blobs
    /// (payloads and config, all small) in the folder.
    static func planSignatures(_ p: ImagePlan, of t: MirrorTarget, sources: @escaping MirrorEngine.SourceFactory, into layout: OCILayout,
                               retry: Retrier) async throws -> [(tag: String, manifest: RawManifest)] {
        var digests = p.filtered ? [] : [p.sourceDigest]
        if case .index(let index) = try p.top.parsed() {
            digests += index.manifests.filter { !IndexSelection.isAttestation($0) }.map(\.digest)
        }
        let found = try await SignatureAttachment.find(digests, of: t.source, in: sources, retry: retry)
        return try await withThrowingTaskGroup(of: (Int, String, RawManifest)?.self) { group in
            for (i, d) in digests.enumerated() {
                guard let digest = found[d] else { continue }
                group.addTask {
                    let tag = SignatureAttachment.tag(for: d)
                    let src = sources(t.source.withTag(tag))
                    let sig = try await retry.run("\(t.source): \(tag)") { try await src.manifest(.digest(digest)) }
                    guard case .image(let m) = try sig.parsed() else { return nil }
                    for b in [m.config] + m.layers where layout.blobSize(b.digest) != b.size {
                        try await retry.run("\(t.source): blob \(b.digest)") {
                            try await layout.writeBlob(b, from: VerifyingStream(try await src.blob(b), expecting: b))
                        }
                    }
                    return (i, tag, sig)
                }
            }
            var stored: [(Int, String, RawManifest)] = []
            for try await f in group { if let f { stored.append(f) } }
            return stored.sorted { $0.0 < $1.0 }.map { ($0.1, $0.2) }
        }
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
            Thread { c.resume(with: Result { try body() }) }.start()
        }
    }
}
