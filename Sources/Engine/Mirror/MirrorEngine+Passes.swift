import Synchronization

/// Running images whose source is read in passes (`BlobPasses`: an archive streamed without extracting it).
///
/// Every image is planned first (`ImageGraph.plan`, from the source's manifests) and its destination tag checked;
/// an image whose tag already holds the digest has only its missing attachments carried. One pass then reads the
/// medium once, and each blob is placed for every image needing it through the run's `BlobTable` (uploaded once
/// per destination repository, mounted into the others of that registry). Blobs up to `bufferedBlobLimit` are read
/// into memory and placed concurrently (`blobJobs` at a time) while the pass reads on; larger ones are uploaded
/// straight from the medium as it passes. An image finishes (`finish`: its manifests children first, what is
/// attached, the tag, signing; `jobs` images at a time) as soon as its last blob is placed, so early images are
/// tagged while later blobs still stream. A blob whose mount is refused or whose upload from the medium failed
/// part-way with a temporary error is placed by another pass (up to `retries` more). An image whose blob is
/// missing, corrupt or cannot be uploaded gets nothing tagged. `timeout` does not apply: an image waits for
/// the pass that reaches its blobs.
extension MirrorEngine {
    /// Blobs up to this size are read into memory and placed concurrently; larger ones stream from the pass.
    public static let bufferedBlobLimit: Int64 = 8 << 20

    /// Mirrors every target, reading blobs from `passes` (what `sources` gives for the targets' sources serves
    /// their manifests); one result per target, in target order. `medium` names the medium in errors.
    public func run(_ targets: [MirrorTarget], passes: any BlobPasses, medium: String,
                    events: @escaping @Sendable (MirrorEvent) -> Void = { _ in }) async -> [MirrorResult] {
        let retry = Retrier(attempts: options.retries, firstDelay: options.retryDelay, logger: logger)
        let run = PassRun(events: events)

        // 1. Plan every image; each asks its destination once, a few at a time.
        var planned: [PassImage] = []
        await withTaskGroup(of: PassPlanned.self) { group in
            var pending = targets[...]
            func admit() {
                guard !Task.isCancelled, let t = pending.popFirst() else { return }
                events(.started(t))
                group.addTask { await self.plan(t, retry: retry) }
            }
            for _ in 0..<max(8, options.jobs) { admit() }
            while let outcome = await group.next() {
                switch outcome {
                case .image(let image): planned.append(image)
                case .done(let r): run.report(r)
                }
                admit()
            }
        }
        run.start(planned.sorted { $0.target.id < $1.target.id })

        // 2. Blobs as the passes reach them; 3. each image as soon as its last blob is placed.
        // Finishing tasks leave their outcome in `outcomes` and return the image's index. (Returned as a tuple
        // `(Int, Result<Outcome, any Error>)`, the index came out of `next()` out of range in release builds of
        // Swift 6.3, though debug builds and the tests were right: `dray load` of an archive trapped.)
        let outcomes = FinishedImages()
        await withTaskGroup(of: Int.self) { finishing in
            /// Finishes image `i`: reports its failure, or writes its manifests, attachments and tag.
            func complete(_ i: Int) async {
                guard run.started.insert(i).inserted else { return }
                if let why = run.images[i].failed {
                    run.finished(i, .failure(PassFailure(description: why)), engine: self)
                    return
                }
                if run.finishing >= max(1, options.jobs), let j = await finishing.next() {
                    run.finishing -= 1
                    run.finished(j, outcomes.take(j), engine: self)
                }
                let image = run.images[i]
                finishing.addTask {
                    let outcome: Result<Outcome, any Error>
                    do { outcome = .success(try await self.finish(image, retry: retry, events: events)) } catch { outcome = .failure(error) }
                    outcomes.put(i, outcome)
                    return i
                }
                run.finishing += 1
            }
            func record(_ p: Placed) async {
                for i in run.record(p) { await complete(i) }
            }
            do {
                // Images with nothing to place (every blob already there) finish at once.
                for i in run.images.indices where run.unplaced[i].isEmpty { await complete(i) }
                try await withThrowingTaskGroup(of: Placed.self) { placing in
                    func admit(_ d: Digest, _ content: PassContent, among list: [Need]) async throws {
                        if run.placing >= max(1, options.blobJobs), let p = try await placing.next() {
                            run.placing -= 1
                            await record(p)
                        }
                        let u = run.users(list)
                        placing.addTask { await self.place(d, users: u, content: content, retry: retry, events: events) }
                        run.placing += 1
                    }
                    /// Places a blob the pass reached: from memory alongside the pass, or from the medium as it passes.
                    func reached(_ d: Digest, size: Int64, content: any BlobStream, among list: [Need]) async throws {
                        if size <= Self.bufferedBlobLimit {
                            try await admit(d, .memory(try await content.chunks()), among: list)
                        } else {
                            await record(await place(d, users: run.users(list), content: .stream(content), retry: retry, events: events))
                        }
                    }
                    func drain() async throws {
                        while let p = try await placing.next() { await record(p) }
                        run.placing = 0
                    }
                    var done = Set<Digest>()
                    for (d, bytes) in passes.preread {
                        guard let list = run.needs[d] else { continue }
                        try await admit(d, .memory([bytes]), among: list)
                        done.insert(d)
                    }
                    let pass = try passes.pass(wanting: Set(run.needs.keys).subtracting(done))
                    while let (d, size, content) = try await pass.next() {
                        guard let list = run.needs[d], done.insert(d).inserted else { continue }
                        try await reached(d, size: size, content: content, among: list)
                    }
                    try await drain()
                    run.fail(run.needs.filter { !done.contains($0.key) }) { "blob \($0) is missing from \(medium)" }
                    // What could not be mounted or failed part-way: another pass, as often as retries allow.
                    var round = 0
                    while !run.deferred.isEmpty, round <= retry.attempts {
                        round += 1
                        let wanted = run.deferred
                        run.deferred = [:]
                        let again = try passes.pass(wanting: Set(wanted.keys))
                        while let (d, size, content) = try await again.next() {
                            guard let list = wanted[d] else { continue }
                            try await reached(d, size: size, content: content, among: list)
                        }
                        try await drain()
                    }
                }
                run.fail(run.deferred) { "blob \($0): could not be uploaded from \(medium)" }
            } catch {
                for i in run.images.indices where run.images[i].failed == nil && !run.started.contains(i) { run.images[i].failed = "\(error)" }
            }
            // Whatever has not finished yet: failures, and images whose last blob came on a later pass.
            for i in run.images.indices { await complete(i) }
            for await j in finishing { run.finished(j, outcomes.take(j), engine: self) }
        }
        return targets.map { t in run.results[t.id] ?? Self.failure(t, error: "cancelled before it started", seconds: 0) }
    }

    /// How finished images came out, by index, until the driver takes them.
    final class FinishedImages: Sendable {
        private let map = Mutex<[Int: Result<Outcome, any Error>]>([:])
        func put(_ i: Int, _ outcome: Result<Outcome, any Error>) { map.withLock { $0[i] = outcome } }
        func take(_ i: Int) -> Result<Outcome, any Error> {
            map.withLock { $0.removeValue(forKey: i) } ?? .failure(PassFailure(description: "finished without an outcome"))
        }
    }

    /// The state of one run in passes, kept by the task that drives it (never shared with child tasks).
    final class PassRun {
        let events: @Sendable (MirrorEvent) -> Void
        var images: [PassImage] = []
        /// Which images need each blob.
        var needs: [Digest: [Need]] = [:]
        /// Per image, the blobs not yet placed.
        var unplaced: [Set<Digest>] = []
        /// Blobs waiting for another pass, with the images still needing them.
        var deferred: [Digest: [Need]] = [:]
        /// Images whose finishing has begun (or whose failure is reported).
        var started = Set<Int>()
        var results: [Int: MirrorResult] = [:]
        /// Images finishing, and placements running.
        var finishing = 0, placing = 0

        init(events: @escaping @Sendable (MirrorEvent) -> Void) { self.events = events }

        func start(_ images: [PassImage]) {
            self.images = images
            for (i, image) in images.enumerated() { for b in image.blobs { needs[b.digest, default: []].append(Need(image: i, descriptor: b)) } }
            unplaced = images.map { Set($0.blobs.map(\.digest)) }
        }

        func report(_ r: MirrorResult) {
            results[r.id] = r
            events(.finished(r))
        }

        /// Reports how image `i` finished.
        func finished(_ i: Int, _ outcome: Result<Outcome, any Error>, engine: MirrorEngine) {
            let image = images[i]
            switch outcome {
            case .success(let o): report(engine.result(image.target, o, tally: image.tally, started: image.started))
            case .failure(let e): report(engine.failed(image.target, e, tally: image.tally, started: image.started))
            }
        }

        /// Takes in a placement; returns the images whose last blob it placed.
        func record(_ p: Placed) -> [Int] {
            for (i, why) in p.failures where images[i].failed == nil { images[i].failed = why }
            if !p.deferred.isEmpty { deferred[p.digest, default: []] += p.deferred }
            var ready: [Int] = []
            for i in p.placed {
                unplaced[i].remove(p.digest)
                if unplaced[i].isEmpty, images[i].failed == nil { ready.append(i) }
            }
            return ready
        }

        /// The images of `list` that have not failed, with where each needs the blob.
        func users(_ list: [Need]) -> [PassUser] {
            list.filter { images[$0.image].failed == nil }.map {
                PassUser(image: $0.image, descriptor: $0.descriptor, destination: images[$0.image].destination, tally: images[$0.image].tally)
            }
        }

        /// Fails the images still needing the blobs of `needs`, for the reason `why` gives.
        func fail(_ needs: [Digest: [Need]], _ why: (Digest) -> String) {
            for (d, list) in needs { for u in list where images[u.image].failed == nil { images[u.image].failed = why(d) } }
        }
    }

    // MARK: Planning

    /// One image of a run in passes, planned.
    struct PassImage: Sendable {
        var target: MirrorTarget
        var graph: ImageGraph
        /// What the tag will hold: the graph's top, or a filtered index merged into the destination's.
        var written: RawManifest
        var platforms: [String]
        var merged: Bool
        var admittedBy: String?
        var destination: any ImageDestination
        /// Whether the destination tag already holds `written` (only attachments are carried).
        var tagged: Bool
        /// What must be placed: the image's blobs (unless tagged) and its attachments'.
        var blobs: [Descriptor]
        var failed: String?
        let tally = Tally()
        let started: ContinuousClock.Instant
    }

    enum PassPlanned: Sendable {
        case image(PassImage)
        /// Finished at planning (failed, or nothing to do).
        case done(MirrorResult)
    }

    /// One image's need of one blob.
    struct Need: Sendable {
        var image: Int
        var descriptor: Descriptor
    }

    /// Plans `target`: its graph at the source and what its destination tag holds.
    func plan(_ target: MirrorTarget, retry: Retrier) async -> PassPlanned {
        let started = ContinuousClock.now
        do {
            let graph: ImageGraph
            do {
                graph = try await ImageGraph.plan(ManifestIdentifier(target.source), of: target.source, sources: sources,
                                                  filter: options.platforms, attachments: options.attachments, retry: retry,
                                                  tagLists: tagLists)
            } catch let error as CopyError where !options.failWhenNoPlatform {
                guard case .noMatchingPlatform = error else { throw error }
                let top = try? await sources(target.source).manifestDigest(ManifestIdentifier(target.source))
                var r = Self.failure(target, error: "", seconds: (ContinuousClock.now - started).inSeconds)
                (r.status, r.error, r.warning, r.digest, r.sourceDigest) = (.skipped, nil, "\(error); nothing copied", top?.description, top?.description)
                return .done(r)
            }
            let admittedBy = try await options.gate?.admit(target, top: graph.sourceDigest, kept: graph.entries, rewritten: graph.rewritten,
                                                           sources: sources)
            let dst = destinations(target.destination)
            let existing = try await retry.run("\(target.destination): check") { try await dst.manifestDigest(target.destinationIdentifier) }
            let (written, platforms, merged) = try await writing(graph.top, rewritten: graph.rewritten, platforms: graph.platforms.map(\.description),
                                                                 existing: existing, at: dst, retry: retry)
            let tagged = !options.force && existing == written.digest
            var blobs: [Digest: Descriptor] = [:]
            if !tagged { for b in graph.blobs { blobs[b.digest] = b } }
            for b in graph.attachmentBlobs { blobs[b.digest] = b }
            // An attachment that is an index: the blobs of the images it lists.
            let src = sources(target.source)
            for (_, m) in graph.attachments {
                guard case .index(let index) = try m.parsed() else { continue }
                for entry in index.manifests {
                    for child in try await ImageGraph.tree(entry.digest, depth: 2, src: src, retry: retry) {
                        if case .image(let im) = try child.parsed() { for b in im.blobs where !b.isForeign { blobs[b.digest] = b } }
                    }
                }
            }
            return .image(PassImage(target: target, graph: graph, written: written, platforms: platforms, merged: merged,
                                    admittedBy: admittedBy, destination: dst, tagged: tagged,
                                    blobs: blobs.values.sorted { $0.digest < $1.digest }, started: started))
        } catch {
            return .done(failed(target, error, tally: Tally(), started: started))
        }
    }

    /// Writes image `image` once its blobs are placed: its manifests below the top (children before parents),
    /// then what `finish` does.
    func finish(_ image: PassImage, retry: Retrier, events: @escaping @Sendable (MirrorEvent) -> Void) async throws -> Outcome {
        let dst = image.destination
        if !image.tagged {
            for m in image.graph.children {
                try await retry.run("put manifest \(m.digest)") { try await dst.putManifest(m, as: .digest(m.digest)) }
            }
        }
        // Every blob, the attachments' too, was placed and counted by the passes: what carrying finds present is not counted again.
        let attachments = try await finish(image.target, dst: dst, written: image.written, top: image.graph.sourceDigest,
                                           entries: image.graph.entries, discovery: image.graph.discovery, tagged: image.tagged,
                                           tally: Tally(), retry: retry, events: events)
        return Outcome(status: image.tagged ? .skipped : .copied, digest: image.written.digest, sourceDigest: image.graph.sourceDigest,
                       platforms: image.platforms, rewritten: image.graph.rewritten, warning: nil, attachments: attachments,
                       merged: image.merged, admittedBy: image.admittedBy)
    }

    // MARK: Placing

    /// One image needing a blob, with where it goes.
    struct PassUser: Sendable {
        var image: Int
        var descriptor: Descriptor
        var destination: any ImageDestination
        var tally: Tally
    }

    /// A blob's content as a pass gives it.
    enum PassContent: Sendable {
        /// Read into memory: uploaded as often as needed.
        case memory([[UInt8]])
        /// The medium's own stream: read once.
        case stream(any BlobStream)
    }

    /// What placing one blob came to, per image.
    struct Placed: Sendable {
        var digest: Digest
        var failures: [(Int, String)] = []
        /// Images still needing the blob, for another pass.
        var deferred: [Need] = []
        /// Images whose destination now holds the blob.
        var placed: [Int] = []
    }

    /// The bytes of one placement: memory opens as often as asked, a stream once.
    final class PassOpener: Sendable {
        let content: PassContent
        let used = Mutex(false)
        init(_ content: PassContent) { self.content = content }
        var repeatable: Bool { if case .memory = content { true } else { false } }
        func open() -> (any BlobStream)? {
            switch content {
            case .memory(let chunks): return MemoryBlobStream(chunks: chunks)
            case .stream(let s): return used.withLock { u in u ? nil : { u = true; return s }() }
            }
        }
    }

    /// Needs another pass: the medium's stream was used already.
    struct AnotherPass: Error {}

    /// Why an image of a run in passes failed before it could finish.
    struct PassFailure: Error, CustomStringConvertible {
        var description: String
    }

    /// Places one blob for each of `users`, through the run's `BlobTable`: present, mounted from a repository of
    /// the same registry that received it, or uploaded from `content`.
    func place(_ digest: Digest, users: [PassUser], content: PassContent, retry: Retrier,
               events: @escaping @Sendable (MirrorEvent) -> Void) async -> Placed {
        var out = Placed(digest: digest)
        let opener = PassOpener(content)
        var corrupt: String?
        for u in users {
            if let corrupt {
                out.failures.append((u.image, corrupt))
                continue
            }
            let (dst, d) = (u.destination, u.descriptor)
            let hashes = options.blobCheck.hashes(into: dst)
            let transfer: @Sendable () async throws -> BlobOutcome = {
                let attempt: @Sendable () async throws -> BlobOutcome = {
                    if try await retry.run("blob \(digest)", { try await dst.blobExistsOrPrepareUpload(d) }) { return .present }
                    guard let stream = opener.open() else { throw AnotherPass() }
                    try await dst.putBlob(d, from: VerifyingStream(stream, expecting: d, checkingDigest: hashes))
                    return .copied(bytes: d.size)
                }
                return opener.repeatable ? try await retry.run("blob \(digest)", attempt) : try await attempt()
            }
            do {
                let outcome = options.mount ? try await table.ensure(d, in: dst, transfer: transfer) : try await transfer()
                u.tally.add(outcome)
                if case .copied(let bytes) = outcome { events(.bytes(bytes)) }
                out.placed.append(u.image)
            } catch is AnotherPass {
                out.deferred.append(Need(image: u.image, descriptor: d))
            } catch let e as BlobVerificationError {
                // The medium's copy is bad: every image needing it fails for that reason.
                corrupt = "blob \(digest): \(e)"
                out.failures.append((u.image, corrupt!))
            } catch let e as any DigestRefusal where e.refusesDigest {
                // The registry hashed the medium's copy and refused it: the same verdict, from the other end.
                corrupt = "blob \(digest): digest mismatch: the destination refused the copy read from the source (\(e))"
                out.failures.append((u.image, corrupt!))
            } catch where error.isTemporaryFailure {
                out.deferred.append(Need(image: u.image, descriptor: d))
            } catch {
                out.failures.append((u.image, "blob \(digest): \(error)"))
            }
        }
        return out
    }

    /// What the tag will hold for a selection `selected`: itself, or (a filtered index, unless `overwrite`) merged
    /// with the index the destination tag holds; with the platforms it then names and whether it was merged.
    func writing(_ selected: RawManifest, rewritten: Bool, platforms: [String], existing: Digest?, at dst: any ImageDestination,
                 retry: Retrier) async throws -> (manifest: RawManifest, platforms: [String], merged: Bool) {
        guard rewritten, !options.overwrite, let existing, existing != selected.digest else { return (selected, platforms, false) }
        let combined = try await merge(selected, intoExisting: existing, at: dst, retry: retry)
        if combined.digest != selected.digest, case .index(let index) = try combined.parsed() {
            // What the tag will hold: the platforms written and the ones kept from the destination's index.
            return (combined, IndexSelection.platforms(of: index.manifests).map(\.description), true)
        }
        return (combined, platforms, false)
    }
}

extension BlobStream {
    /// The rest of the stream, as the chunks it gives.
    func chunks() async throws -> [[UInt8]] {
        var out: [[UInt8]] = []
        while let c = try await next() { out.append(c) }
        return out
    }
}
