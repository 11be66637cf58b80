import FoundationEssentials
import Logging
import Synchronization

/// Settings of a mirror run.
public struct MirrorOptions: Sendable {
    /// Images copying at once (Hangar's `-j`, 1–20); as many more are checked ahead (`ImageSlots`).
    public var jobs: Int = 1
    /// Blob transfers in flight at once across the run.
    public var blobJobs: Int = 8
    /// Whether the bound on blob transfers may double while flows are slow, as behind a slow link (`FlowShare`);
    /// off when `--blob-jobs` is given.
    public var adaptsBlobJobs = true
    public var platforms: PlatformFilter = .all
    public var retries: Int = 3
    public var retryDelay: Duration = .milliseconds(500)
    /// Bound on each image.
    public var timeout: Duration = .seconds(600)
    /// Copy even when the destination tag already has the digest that would be written.
    public var force = false
    /// Replace the destination's index instead of merging a filtered index into it.
    public var overwrite = false
    /// An index with no selected platform fails instead of being skipped with a warning.
    public var failWhenNoPlatform = false
    /// Which attachments (referrers, cosign tags) travel with images.
    public var attachments = AttachmentPolicy()
    /// How referrers are written at the destination.
    public var referrersMode: ReferrersMode = .auto
    /// Whether signatures travel (`--remove-signatures` leaves them, whatever `attachments` says).
    public var signatures: SignatureHandling {
        get { attachments.removeSignatures ? .remove : .copy }
        set { attachments.removeSignatures = newValue == .remove }
    }
    /// Mount a blob already sent to another repository of the same registry instead of sending it again.
    public var mount = true
    /// Download each blob into a temporary file in this folder before uploading it (instead of streaming).
    public var spool: String?
    /// Whether blobs streamed into a registry are hashed here too (`.always`) or left to the registry's own
    /// digest check (`.auto`).
    public var blobCheck: BlobCheck = .auto
    /// What earlier runs mirrored (`--records`): a target whose source digest is recorded is skipped without
    /// asking the destination (unless `force`).
    public var records: MirrorRecords?
    /// `--immutable-tags` with its state: a target whose immutable tag is recorded is skipped with no request
    /// (unless `force`).
    public var immutable: ImmutableTags?
    /// The check every image must pass at its source before anything of it is written (signatures: `--verify-key`).
    public var gate: (any ImageGate)?

    public init() {}
}

/// Mirrors many images with one graph for the whole run.
///
/// Images are checked `2 × jobs` at a time and copy `jobs` at a time (`ImageSlots`), so an image already at its
/// destination costs one wave of requests and no slot. Within an image every manifest is a node: a platform
/// manifest is pushed as soon as its own blobs are in, an index as soon as its children are, and the tag last.
/// Blob transfers from all images share one `TransferScheduler` (largest first) and one `BlobTable` (each blob
/// moved once per destination registry, then mounted). Before anything moves, the destination tag is checked: an
/// image whose tag already has the digest that would be written is skipped with no blob traffic.
///
/// What is attached to the image's manifests at the source (referrers and cosign tags, found while the destination
/// is checked) is carried after its subject is at the destination and before the tag moves, so a reader that sees
/// the tag sees its signatures; with a `DestinationSigner`, the image is then signed there.
public struct MirrorEngine: Sendable {
    public typealias SourceFactory = @Sendable (Reference) -> any ImageSource
    public typealias DestinationFactory = @Sendable (Reference) -> any ImageDestination

    public let options: MirrorOptions
    let sources: SourceFactory
    let destinations: DestinationFactory
    let logger: Logger
    let pool: TransferScheduler
    let table: BlobTable
    let signer: (any DestinationSigner)?
    /// Source tag lists, fetched once per repository for the run (attachment discovery).
    let tagLists = TagListCache()

    public init(options: MirrorOptions, sources: @escaping SourceFactory, destinations: @escaping DestinationFactory,
                signer: (any DestinationSigner)? = nil, logger: Logger = Logger(label: "dray.mirror")) {
        self.options = options
        self.sources = sources
        self.destinations = destinations
        self.signer = signer
        self.logger = logger
        self.pool = TransferScheduler(limit: options.blobJobs, ceiling: options.adaptsBlobJobs ? 3 * options.blobJobs : nil) {
            [logger] limit, rate in
            let mb = (rate / 1e5).rounded() / 10
            logger.info("blob transfers in flight: \(limit) (each recent transfer moved a median \(mb) MB/s)")
        }
        self.table = BlobTable()
    }

    /// Mirrors every target and returns one result per target, in target order. When the calling task is
    /// cancelled, no new image starts; running ones are cancelled and, like the ones never started, fail.
    public func run(_ targets: [MirrorTarget], events: @escaping @Sendable (MirrorEvent) -> Void = { _ in })
        async -> [MirrorResult]
    {
        var results: [Int: MirrorResult] = [:]
        let slots = ImageSlots(options.jobs)
        await withTaskGroup(of: MirrorResult.self) { group in
            var pending = targets[...]
            func admit() {
                while !Task.isCancelled, let t = pending.popFirst() {
                    events(.started(t))
                    // An immutable tag recorded as mirrored: answered here, without a request or a job slot.
                    if !options.force, let r = options.immutable?.recorded(t, platforms: options.platforms) {
                        results[r.id] = r
                        events(.finished(r))
                        continue
                    }
                    let ticket = slots.admitted()
                    group.addTask {
                        defer { slots.finished(ticket) }
                        return await self.mirror(t, slot: (slots, ticket), events: events)
                    }
                    return
                }
            }
            // As many images again are checked ahead of the -j slots (see `ImageSlots`).
            for _ in 0..<2 * max(1, options.jobs) { admit() }
            while let r = await group.next() {
                results[r.id] = r
                events(.finished(r))
                admit()
            }
        }
        return targets.map { t in
            results[t.id] ?? Self.failure(t, error: "cancelled before it started", seconds: 0)
        }
    }

    // MARK: One image

    final class Tally: Sendable {
        let state = Mutex((bytes: Int64(0), copied: 0, mounted: 0, present: 0))
        func add(_ o: BlobOutcome) {
            state.withLock { s in
                switch o {
                case .copied(let b): s.bytes += b; s.copied += 1
                case .mounted: s.mounted += 1
                case .present: s.present += 1
                }
            }
        }
    }

    struct Outcome: Sendable {
        var status: MirrorResult.Status
        var digest: Digest
        var sourceDigest: Digest
        var platforms: [String]
        var rewritten: Bool
        var warning: String?
        var attachments = AttachmentOutcome()
        var merged = false
        var recorded = false
        /// What let the image through the gate.
        var admittedBy: String?
    }

    /// The run's image slots and this image's ticket for one.
    typealias Slot = (slots: ImageSlots, ticket: Int)

    func mirror(_ target: MirrorTarget, slot: Slot, events: @escaping @Sendable (MirrorEvent) -> Void) async -> MirrorResult {
        let started = ContinuousClock.now
        let tally = Tally()
        do {
            let outcome = try await withTimeout(options.timeout) {
                try await self.work(target, slot: slot, tally: tally, events: events)
            }
            return result(target, outcome, tally: tally, started: started)
        } catch {
            return failed(target, error, tally: tally, started: started)
        }
    }

    /// The result of an image that finished with `outcome`.
    func result(_ target: MirrorTarget, _ outcome: Outcome, tally: Tally, started: ContinuousClock.Instant) -> MirrorResult {
        let t = tally.state.withLock { $0 }
        let warnings = [outcome.warning].compactMap { $0 } + outcome.attachments.warnings
        return MirrorResult(
            id: target.id, source: target.source.description, destination: target.destination.description,
            line: target.line, status: outcome.status, digest: outcome.digest.description,
            sourceDigest: outcome.sourceDigest.description, platforms: outcome.platforms,
            rewritten: outcome.rewritten, bytesCopied: t.bytes, blobsCopied: t.copied, blobsMounted: t.mounted,
            blobsPresent: t.present, seconds: (ContinuousClock.now - started).inSeconds, error: nil,
            warning: warnings.isEmpty ? nil : warnings.joined(separator: "; "),
            signaturesCopied: outcome.attachments.copiedSignatures, signaturesAdded: outcome.attachments.signed,
            merged: outcome.merged ? true : nil, recorded: outcome.recorded ? true : nil,
            attachments: outcome.attachments.results.isEmpty ? nil : outcome.attachments.results, admittedBy: outcome.admittedBy)
    }

    /// The result of an image that failed with `error`.
    func failed(_ target: MirrorTarget, _ error: any Error, tally: Tally, started: ContinuousClock.Instant) -> MirrorResult {
        var r = Self.failure(target, error: Task.isCancelled ? "cancelled" : "\(error)", seconds: (ContinuousClock.now - started).inSeconds)
        if let failure = error as? AttachmentsFailed {
            r.attachments = failure.results
            let w = failure.warnings
            r.warning = w.isEmpty ? nil : w.joined(separator: "; ")
        }
        let t = tally.state.withLock { $0 }
        r.bytesCopied = t.bytes
        r.blobsCopied = t.copied
        return r
    }

    private func work(_ target: MirrorTarget, slot: Slot, tally: Tally, events: @escaping @Sendable (MirrorEvent) -> Void)
        async throws -> Outcome
    {
        let retry = Retrier(attempts: options.retries, firstDelay: options.retryDelay, logger: logger)
        let src = sources(target.source)
        let dst = destinations(target.destination)
        let destID = target.destinationIdentifier
        // Everything an image's check needs goes out at once: the source manifest, the destination tag (unless
        // --records may answer without asking) and the source's tag list (for attachments).
        let asksDestination = options.records == nil || options.force
        async let early: Digest?? = asksDestination
            ? .some(try await retry.run("\(target.destination): check") { try await dst.manifestDigest(destID) }) : nil
        async let listed: Void = prefetchTags(of: target, retry: retry)
        let top = try await retry.run("\(target.source): manifest") {
            try await src.manifest(ManifestIdentifier(target.source))
        }

        let parsed = try top.parsed()
        if case .schema1 = parsed { throw CopyError.schema1(target.source.description) }
        // What to copy under the platform filter; nil when nothing matches (a skip, with `unmatched` saying why).
        // An index's entries name their platforms; an image's platform is in its config, read only once the
        // destination check says that image is not already there.
        var unmatched: CopyError?
        func choose(_ filter: PlatformFilter) async throws -> PlatformSelection? {
            do {
                return try await PlatformSelection.decide(top, pinned: target.source.digest != nil, filter: filter) { config in
                    try await retry.run("\(target.source): config") { try await src.smallBlob(config) }
                }
            } catch let error as CopyError where !options.failWhenNoPlatform {
                guard case .noMatchingPlatform = error else { throw error }
                unmatched = error
                return nil
            }
        }
        let skipped = { (e: CopyError?) in
            Outcome(status: .skipped, digest: top.digest, sourceDigest: top.digest, platforms: [], rewritten: false,
                    warning: "\(e.map { "\($0)" } ?? "no platform matches"); nothing copied")
        }
        let isImage = if case .image = parsed { true } else { false }
        let indexSelection = isImage ? nil : try await choose(options.platforms)
        if !isImage && indexSelection == nil { return skipped(unmatched) }
        let children = indexSelection?.children ?? []

        // Recorded by an earlier run with this source digest: trusted without asking the destination.
        if !options.force, let entry = options.records?.entry(source: target.source.description,
                                                              destination: target.destination.description,
                                                              platforms: options.platforms),
           entry.source == top.digest.description, let recordedDigest = try? Digest(parsing: entry.destination)
        {
            return Outcome(status: .skipped, digest: recordedDigest, sourceDigest: top.digest,
                           platforms: indexSelection?.platforms.map(\.description) ?? [],
                           rewritten: indexSelection?.rewritten ?? false, warning: nil, recorded: true)
        }

        // Incremental: what does the destination tag hold? (Asked while the source's attachments are looked up.)
        let childDigests = children.map(\.digest)
        async let found = discoverAttachments([top.digest] + childDigests, target: target, retry: retry)
        let existing: Digest?
        if let asked = try await early { existing = asked } else {
            existing = try await retry.run("\(target.destination): check") { try await dst.manifestDigest(destID) }
        }
        await listed
        let selection: PlatformSelection
        if let indexSelection {
            selection = indexSelection
        } else {
            // The very image already at the destination needs no platform check (and no config read).
            let alreadyThere = !options.force && existing == top.digest
            guard let chosen = try await choose(alreadyThere ? .all : options.platforms) else { return skipped(unmatched) }
            selection = chosen
        }
        if let why = selection.notApplied { logger.info("\(target.source): \(why)") }
        // The gate sees exactly what will be copied: this top manifest (resolved once) and its kept platforms.
        let admittedBy = try await options.gate?.admit(target, top: top.digest, kept: childDigests, rewritten: selection.rewritten,
                                                       sources: sources)
        let (written, platforms, merged) = try await writing(selection.written, rewritten: selection.rewritten,
                                                             platforms: selection.platforms.map(\.description), existing: existing,
                                                             at: dst, retry: retry)
        let rewritten = selection.rewritten
        if !options.force, existing == written.digest {
            let attachments = try await finish(target, dst: dst, written: written, top: top.digest, entries: childDigests,
                                               discovery: try await found, tagged: true, tally: tally, retry: retry, events: events)
            return Outcome(status: .skipped, digest: written.digest, sourceDigest: top.digest, platforms: platforms,
                           rewritten: rewritten, warning: nil, attachments: attachments, merged: merged, admittedBy: admittedBy)
        }

        // The image needs copying: it takes one of the -j slots now. The graph: children (each after its blobs),
        // then the tag.
        try await slot.slots.take(slot.ticket)
        defer { slot.slots.give() }
        if children.isEmpty {
            try await pushBlobs(of: top, src: src, dst: dst, tally: tally, retry: retry, events: events)
        } else {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for child in children {
                    group.addTask {
                        try await self.pushTree(child.digest, depth: 1, src: src, dst: dst, tally: tally, retry: retry,
                                                events: events)
                    }
                }
                try await group.waitForAll()
            }
        }
        let attachments = try await finish(target, dst: dst, written: written, top: top.digest, entries: childDigests,
                                           discovery: try await found, tagged: false, tally: tally, retry: retry, events: events)
        return Outcome(status: .copied, digest: written.digest, sourceDigest: top.digest, platforms: platforms,
                       rewritten: rewritten, warning: nil, attachments: attachments, merged: merged, admittedBy: admittedBy)
    }

    /// The end of an image once everything below its top manifest is at the destination: what is attached
    /// (`discovery`), each after its subject, with the top stored by digest first when something is attached to it;
    /// then the tag (unless `tagged`: it already holds `written`); then signing. `top` is the source's top digest,
    /// `entries` the kept entries of its index.
    func finish(_ target: MirrorTarget, dst: any ImageDestination, written: RawManifest, top: Digest, entries: [Digest],
                discovery: AttachmentFinder.Discovery, tagged: Bool, tally: Tally, retry: Retrier,
                events: @escaping @Sendable (MirrorEvent) -> Void) async throws -> AttachmentOutcome
    {
        // The manifests of this image the destination will hold, which attachments may name as their subject.
        let available = Set(entries + (written.digest == top ? [top] : []))
        let destID = target.destinationIdentifier
        let putFirst = !tagged && discovery.found.contains { $0.attachment.subject == written.digest }
        if putFirst {
            try await retry.run("\(target.destination): put manifest by digest") { try await dst.putManifest(written, as: .digest(written.digest)) }
        }
        var attachments = try await carryAttachments(discovery, target: target, available: available, top: top,
                                                     written: written.digest, tally: tally, retry: retry, events: events)
        if !tagged && !(putFirst && destID == .digest(written.digest)) {
            try await retry.run("\(target.destination): put manifest") { try await dst.putManifest(written, as: destID) }
        }
        attachments.signed = try await sign(target, written: written.digest, children: entries, retry: retry)
        return attachments
    }

    /// Pushes the manifest `digest` and everything below it, children before parents.
    func pushTree(_ digest: Digest, depth: Int, src: any ImageSource, dst: any ImageDestination, tally: Tally,
                          retry: Retrier, events: @escaping @Sendable (MirrorEvent) -> Void) async throws {
        guard depth <= 4 else { throw CopyError.tooDeep }
        // A manifest present by digest is complete: registries accept a manifest only once its blobs are in.
        if !options.force, try await retry.run("\(digest): check", { try await dst.manifestDigest(.digest(digest)) }) == digest {
            return
        }
        let m = try await retry.run("manifest \(digest)") { try await src.manifest(.digest(digest)) }
        try await pushContent(of: m, depth: depth, src: src, dst: dst, tally: tally, retry: retry, events: events)
        try await retry.run("put manifest \(digest)") { try await dst.putManifest(m, as: .digest(digest)) }
    }

    /// Makes every blob of an image manifest present at the destination (unless the manifest is an index).
    func pushBlobs(of manifest: RawManifest, src: any ImageSource, dst: any ImageDestination, tally: Tally,
                           retry: Retrier, events: @escaping @Sendable (MirrorEvent) -> Void) async throws {
        guard case .image(let m) = try manifest.parsed() else { return }
        let blobs = m.blobs.filter { !$0.isForeign }.sorted { $0.size > $1.size }
        let pool = self.pool
        try await withThrowingTaskGroup(of: BlobOutcome.self) { group in
            for d in blobs {
                group.addTask {
                    let transfer: @Sendable () async throws -> BlobOutcome = {
                        let outcome = try await retry.run("blob \(d.digest)") {
                            try await BlobTransfer.ensure(d, from: src, to: dst, scheduler: pool, spool: self.options.spool,
                                                          check: self.options.blobCheck)
                        }
                        if case .copied(let bytes) = outcome { events(.bytes(bytes)) }
                        return outcome
                    }
                    return self.options.mount ? try await self.table.ensure(d, in: dst, transfer: transfer) : try await transfer()
                }
            }
            for try await outcome in group { tally.add(outcome) }
        }
    }

    /// A filtered index merged with the destination's existing index: the destination's entries for platforms
    /// not being written stay; the new entries replace the ones for the same platforms.
    func merge(_ new: RawManifest, intoExisting digest: Digest, at dst: any ImageDestination, retry: Retrier)
        async throws -> RawManifest
    {
        let existing = try await retry.run("\(dst.location): existing index") { try await dst.manifest(.digest(digest)) }
        guard case .index(let old) = try existing.parsed(), case .index(let fresh) = try new.parsed() else { return new }
        let written = Set(fresh.manifests.compactMap { $0.platform.map(Self.platformKey) })
        let keptOld = old.manifests.filter { d in
            guard !IndexSelection.isAttestation(d), let p = d.platform else { return false }
            return !written.contains(Self.platformKey(p))
        }
        guard !keptOld.isEmpty else { return new }
        return try new.appendingIndexEntries(from: existing, digests: Set(keptOld.map(\.digest)))
    }

    private static func platformKey(_ p: Platform) -> String {
        "\(p.os)/\(p.architecture)/\(p.variant ?? "")/\(p.osVersion ?? "")"
    }

    // MARK: Helpers

    static func failure(_ t: MirrorTarget, error: String, seconds: Double) -> MirrorResult {
        MirrorResult(id: t.id, source: t.source.description, destination: t.destination.description, line: t.line,
                     status: .failed, digest: nil, sourceDigest: nil, platforms: [], rewritten: false, bytesCopied: 0,
                     blobsCopied: 0, blobsMounted: 0, blobsPresent: 0, seconds: seconds, error: error, warning: nil)
    }

}

/// An image that did not finish within `--timeout`.
public struct MirrorTimeout: Error, Sendable, CustomStringConvertible {
    public let limit: Duration
    public var description: String { "timed out after \(limit.components.seconds) s" }
}

/// Runs `body`, failing with `MirrorTimeout` after `limit` (plus the time `body` spent waiting for an image slot).
func withTimeout<T: Sendable>(_ limit: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    let deadline = ImageDeadline(.now + limit)
    return try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await ImageDeadline.$current.withValue(deadline) { try await body() } }
        group.addTask {
            while let due = deadline.due { try await Task.sleep(until: due, clock: .continuous) }
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else { throw MirrorTimeout(limit: limit) }
        return value
    }
}

/// When an image's `--timeout` runs out. The clock stops while the image waits for a slot, a wait not its own.
final class ImageDeadline: Sendable {
    private struct State {
        var until: ContinuousClock.Instant
        /// Since when the clock has been stopped, and by how many waits.
        var stoppedAt: ContinuousClock.Instant?
        var stops = 0
    }
    private let state: Mutex<State>
    /// The deadline of the image this task works on.
    @TaskLocal static var current: ImageDeadline?

    init(_ until: ContinuousClock.Instant) { state = Mutex(State(until: until)) }

    /// When to look again (the earliest the time can run out), or nil once it has.
    var due: ContinuousClock.Instant? {
        state.withLock { s in
            let now = ContinuousClock.now
            guard let stoppedAt = s.stoppedAt else { return s.until > now ? s.until : nil }
            return now + max(s.until - stoppedAt, .milliseconds(10))
        }
    }

    /// Stops the clock until `restart()`.
    func stop() {
        state.withLock { s in
            if s.stops == 0 { s.stoppedAt = .now }
            s.stops += 1
        }
    }

    /// Restarts the clock, moving the deadline by the time it was stopped.
    func restart() {
        state.withLock { s in
            s.stops -= 1
            if s.stops == 0, let stoppedAt = s.stoppedAt {
                s.until += .now - stoppedAt
                s.stoppedAt = nil
            }
        }
    }
}

extension RawManifest {
    /// This index with entries of `other` (an index) appended; a deliberate rewrite with a new digest.
    func appendingIndexEntries(from other: RawManifest, digests: Set<Digest>) throws -> RawManifest {
        guard case .object(var object) = try? JSONValue(parsing: bytes), let entries = object["manifests"]?.array,
              let otherEntries = (try? JSONValue(parsing: other.bytes))?["manifests"]?.array
        else { throw ManifestError.invalidJSON("index has no manifests array") }
        object["manifests"] = .array(entries + otherEntries.filter { $0.listsDigest(in: digests) })
        return try RawManifest(bytes: JSONValue.object(object).serialized(), mediaType: mediaType)
    }
}
