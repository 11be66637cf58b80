import Engine
import Foundation
import Logging

/// Loads the images of an archive into registries by streaming it, without extracting it to disk.
///
/// The archive's head (`index.json`, manifests, configs — dray writes them first) is read to plan every image;
/// images whose destination tag already holds the saved digest are skipped. The rest of the archive is then
/// read once: blobs up to 8 MiB are read into memory and uploaded concurrently (`blobJobs` at a time) while
/// reading goes on; larger ones are uploaded straight from the archive as they pass. Each blob's digest is
/// checked while it streams; it is uploaded once per destination storage and mounted into the other
/// repositories that need it. A blob whose mount is refused, or whose upload fails part-way with a temporary
/// error, is served by another read of the archive (up to `retries` more). Manifests follow, children before
/// parents, each tag last, images in parallel. An image whose blob is missing, corrupt or fails to upload
/// gets nothing tagged. What is attached to an image (saved referrers fallback indexes `REPO:sha256-<hex>` and
/// cosign tags `.sig`, `.att`, `.sbom`, found in the archive's head) has its blobs placed with the image's and is
/// written by the mirror engine's attachment step after the image's manifests and before its tag.
public struct ArchiveLoader: Sendable {
    /// One image to load: its name in the archive and where it goes.
    public struct Target: Sendable {
        public var id: Int
        public var name: String
        public var destination: Reference
        /// The input line (the failed list holds these); the name when nil.
        public var line: String?
        public init(id: Int, name: String, destination: Reference, line: String? = nil) {
            self.id = id
            self.name = name
            self.destination = destination
            self.line = line
        }
    }

    let destinations: @Sendable (Reference) -> any ImageDestination
    let retry: Retrier
    let blobJobs: Int
    /// Images finishing (manifests, attachments, tag) at once: `-j`, as in every command.
    let jobs: Int
    let blobCheck: BlobCheck
    let logger: Logger
    /// Attachments, referrers mode and merging (`overwrite`), as the mirror engine takes them.
    let attaching: MirrorOptions

    /// `blobJobs` bounds the blob uploads in flight at once, `jobs` the images finishing at once (`-j`). `attaching` says which
    /// attachments travel and how (its `overwrite` replaces cosign tags at the destination instead of merging).
    public init(destinations: @escaping @Sendable (Reference) -> any ImageDestination, retries: Int, blobJobs: Int = 8, jobs: Int = 8,
                attaching: MirrorOptions = MirrorOptions(), blobCheck: BlobCheck = .auto, logger: Logger) {
        self.destinations = destinations
        self.blobCheck = blobCheck
        var attaching = attaching
        attaching.retries = retries
        self.attaching = attaching
        self.retry = Retrier(attempts: retries, logger: logger)
        self.blobJobs = max(1, blobJobs)
        self.jobs = max(1, jobs)
        self.logger = logger
    }

    /// Loads `targets` from the archive at `path` (parts found automatically); one result per target.
    public func load(_ path: String, targets: [Target], events: @escaping @Sendable (MirrorEvent) -> Void) async
        -> [MirrorResult]
    {
        let started = ContinuousClock.now
        var results: [Int: MirrorResult] = [:]
        var blobs: [Int: Placement.Counts] = [:]  // by target id
        func finish(_ t: Target, _ status: MirrorResult.Status, digest: Digest?, error: String? = nil, bytes: Int64 = 0,
                    attachments: [AttachmentResult] = [], warning: String? = nil) {
            let n = blobs[t.id] ?? Placement.Counts()
            let r = MirrorResult(id: t.id, source: t.name, destination: t.destination.description, line: t.line ?? t.name,
                                 status: status, digest: digest?.description, sourceDigest: digest?.description,
                                 platforms: [], rewritten: false, bytesCopied: bytes, blobsCopied: n.copied, blobsMounted: n.mounted,
                                 blobsPresent: n.present, seconds: (ContinuousClock.now - started).inSeconds, error: error,
                                 warning: warning, signaturesCopied: attachments.filter { $0.status == .copied && $0.isSignature }.count,
                                 attachments: attachments.isEmpty ? nil : attachments)
            results[t.id] = r
            events(.finished(r))
        }
        do {
            let reader = TarReader(try ArchiveFormat.open(try FileSource(path: path)))
            // 1. The head: index.json and every manifest, plus the small blobs (configs) read on the way.
            let head = try ArchiveCatalog.readHead(reader, path: path)
            let index = head.catalog.index
            let small = head.blobs
            let headSources: @Sendable (Reference) -> any ImageSource = { ArchiveHeadSource.named($0, head: head, path: path) }
            let finder = AttachmentFinder(policy: attaching.attachments, retry: retry)
            let engine = MirrorEngine(options: attaching, sources: headSources, destinations: destinations, logger: logger)

            // 2. Plan: each target's manifests (children first) and blobs; skip what the destination has.
            struct Plan {
                var target: Target
                var digest: Digest
                var manifests: [RawManifest]  // children before parents, the top last; empty when already there
                var subjects: [Digest]  // the image's manifests, which attachments may name
                var hasAttachments: Bool
                var blobs: [Descriptor]
                var destination: any ImageDestination
                var failed: String?
            }
            var plans: [Plan] = []
            for t in targets {
                let saved = (try? Reference(parsing: t.name)) ?? t.destination
                events(.started(MirrorTarget(id: t.id, source: saved, destination: t.destination, line: t.line ?? t.name, origin: path)))
                guard let entry = OCILayout.entry(named: t.name, in: index) else {
                    finish(t, .failed, digest: nil, error: "\(t.name) is not in \(path)")
                    continue
                }
                do {
                    let saved = LayoutNaming.reference(for: t.name)
                    var manifests: [RawManifest] = []
                    var blobs: [Digest: Descriptor] = [:]
                    func walk(_ d: Digest) throws {
                        guard let m = head.catalog.manifests[d] else {
                            throw LayoutError(path: path, reason: "manifest \(d) is missing from the archive's head")
                        }
                        switch try m.parsed() {
                        case .index(let i): for c in i.manifests { try walk(c.digest) }
                        case .image(let im): for b in im.blobs where !b.isForeign { blobs[b.digest] = b }
                        case .schema1: throw CopyError.schema1(t.name)
                        }
                        manifests.append(m)
                    }
                    try walk(entry.digest)
                    // What is attached to the image's manifests in the archive: its blobs are placed with the image's.
                    let subjects = manifests.map(\.digest)
                    let found = try await finder.find(subjects, image: saved, sources: headSources)
                    var attachmentBlobs: [Digest: Descriptor] = [:]
                    for f in found.found {
                        guard let m = head.catalog.manifests[f.attachment.descriptor.digest] else { continue }
                        var queue = [m]
                        while let next = queue.popLast() {
                            switch try next.parsed() {
                            case .image(let im): for b in im.blobs where !b.isForeign { attachmentBlobs[b.digest] = b }
                            case .index(let i): queue += i.manifests.compactMap { head.catalog.manifests[$0.digest] }
                            case .schema1: break
                            }
                        }
                    }
                    let dst = destinations(t.destination)
                    let tag = ManifestIdentifier.tag(t.destination.tag ?? "latest")
                    if try await retry.run("\(t.destination): check", { try await dst.manifestDigest(tag) }) == entry.digest {
                        if found.found.isEmpty && found.excluded.isEmpty {
                            finish(t, .skipped, digest: entry.digest)
                            continue
                        }
                        manifests = []
                        blobs = [:]
                    }
                    blobs.merge(attachmentBlobs) { a, _ in a }
                    plans.append(Plan(target: t, digest: entry.digest, manifests: manifests, subjects: subjects,
                                      hasAttachments: !found.found.isEmpty || !found.excluded.isEmpty,
                                      blobs: Array(blobs.values), destination: dst))
                } catch {
                    finish(t, .failed, digest: entry.digest, error: "\(error)")
                }
            }

            // 3. Blobs, each handled by one placement for all the images that need it (uploaded once per
            //    destination storage, then mounted). Small blobs are read into memory and placed concurrently while
            //    the archive streams on; large ones are uploaded straight from the archive as it passes.
            // 4. Manifests, children before parents, then the tag: each image as soon as its last blob is placed
            //    (so the manifests of early images go up while later blobs still stream), at most `jobs`
            //    images at a time; images whose blobs needed another read of the archive after that.
            var needs: [Digest: [(plan: Int, descriptor: Descriptor)]] = [:]
            for (i, p) in plans.enumerated() { for b in p.blobs { needs[b.digest, default: []].append((i, b)) } }
            var unplaced = plans.map { Set($0.blobs.map(\.digest)) }
            var bytesBy: [Int: Int64] = [:]
            var deferred: [Digest: [(plan: Int, descriptor: Descriptor)]] = [:]
            var finished = Set<Int>()
            let retry = self.retry
            await withTaskGroup(of: (Int, Result<([AttachmentResult], [String]), LoadFailure>).self) { manifestGroup in
                var manifestsRunning = 0
                func report(_ j: Int, _ outcome: Result<([AttachmentResult], [String]), LoadFailure>) {
                    let q = plans[j]
                    switch outcome {
                    case .success(let (results, warnings)):
                        finish(q.target, q.manifests.isEmpty ? .skipped : .copied, digest: q.digest, bytes: bytesBy[q.target.id] ?? 0,
                               attachments: results, warning: warnings.isEmpty ? nil : warnings.joined(separator: "; "))
                    case .failure(let why):
                        finish(q.target, .failed, digest: q.digest, error: why.message, bytes: bytesBy[q.target.id] ?? 0,
                               attachments: why.attachments)
                    }
                }
                /// Finishes image `i`: reports its failure, or puts its manifests (and signatures).
                func complete(_ i: Int) async {
                    guard finished.insert(i).inserted else { return }
                    let p = plans[i]
                    if let failure = p.failed {
                        finish(p.target, .failed, digest: p.digest, error: failure, bytes: bytesBy[p.target.id] ?? 0)
                        return
                    }
                    if manifestsRunning >= jobs, let (j, outcome) = await manifestGroup.next() {
                        manifestsRunning -= 1
                        report(j, outcome)
                    }
                    let (manifests, destination, tag) = (p.manifests, p.destination, p.target.destination.tag ?? "latest")
                    let (subjects, digest, hasAttachments) = (p.subjects, p.digest, p.hasAttachments)
                    let attachTarget = MirrorTarget(id: p.target.id, source: LayoutNaming.reference(for: p.target.name),
                                                    destination: p.target.destination, line: p.target.line ?? p.target.name, origin: path)
                    manifestGroup.addTask {
                        do {
                            for m in manifests.dropLast() {
                                try await retry.run("put manifest \(m.digest)") { try await destination.putManifest(m, as: .digest(m.digest)) }
                            }
                            // What is attached goes after its subjects and before the tag moves.
                            var attached: (results: [AttachmentResult], warnings: [String]) = ([], [])
                            if hasAttachments {
                                if let top = manifests.last {
                                    try await retry.run("put manifest \(top.digest)") { try await destination.putManifest(top, as: .digest(top.digest)) }
                                }
                                attached = try await engine.attach(attachTarget, subjects: subjects, top: digest, written: digest)
                            }
                            if let top = manifests.last {
                                try await retry.run("put \(tag)") { try await destination.putManifest(top, as: .tag(tag)) }
                            }
                            return (i, .success(attached))
                        } catch let e as AttachmentsFailed {
                            return (i, .failure(LoadFailure(message: e.description, attachments: e.results)))
                        } catch {
                            return (i, .failure(LoadFailure(message: "\(error)")))
                        }
                    }
                    manifestsRunning += 1
                }
                func record(_ o: Placement.Outcome) async {
                    for (i, why) in o.failures where plans[i].failed == nil { plans[i].failed = why }
                    for (i, n) in o.bytes { bytesBy[plans[i].target.id, default: 0] += n; events(.bytes(n)) }
                    for i in o.copied { blobs[plans[i].target.id, default: Placement.Counts()].copied += 1 }
                    for i in o.mounted { blobs[plans[i].target.id, default: Placement.Counts()].mounted += 1 }
                    for i in o.present { blobs[plans[i].target.id, default: Placement.Counts()].present += 1 }
                    if !o.deferred.isEmpty { deferred[o.digest, default: []] += o.deferred }
                    for i in o.placed {
                        unplaced[i].remove(o.digest)
                        if unplaced[i].isEmpty, plans[i].failed == nil { await complete(i) }
                    }
                }
                do {
                    let placement = Placement(retry: retry, check: blobCheck)
                    let users = { (d: Digest) in (needs[d] ?? []).filter { plans[$0.plan].failed == nil }.map { u in
                        (plan: u.plan, descriptor: u.descriptor, destination: plans[u.plan].destination) } }
                    // Images with nothing left to place (every blob already there or shared) can finish at once.
                    for i in plans.indices where unplaced[i].isEmpty && plans[i].failed == nil { await complete(i) }
                    var done = Set<Digest>()
                    try await withThrowingTaskGroup(of: Placement.Outcome.self) { group in
                        var running = 0
                        func admit(_ d: Digest, chunks: [[UInt8]]) async throws {
                            if running >= blobJobs, let o = try await group.next() { running -= 1; await record(o) }
                            let u = users(d)
                            group.addTask { await placement.place(d, users: u, chunks: chunks) }
                            running += 1
                        }
                        for (digest, bytes) in small where needs[digest] != nil {
                            try await admit(digest, chunks: [bytes])
                            done.insert(digest)
                        }
                        while let e = try reader.next() {
                            guard e.kind == .file, let digest = ArchiveCatalog.blobDigest(e.name), needs[digest] != nil,
                                  done.insert(digest).inserted
                            else { continue }
                            if e.size <= Self.bufferedBlobLimit {
                                try await admit(digest, chunks: try ArchiveCatalog.readChunks(reader))
                            } else {
                                await record(await placement.place(digest, users: users(digest), stream: TarEntryStream(reader)))
                            }
                        }
                        while let o = try await group.next() { await record(o) }
                    }
                    for (digest, list) in needs where !done.contains(digest) {
                        for u in list where plans[u.plan].failed == nil { plans[u.plan].failed = "blob \(digest) is missing from the archive" }
                    }
                    // Uploads that could not be mounted or failed part-way read the archive again, once per pass.
                    var pass = 0
                    while !deferred.isEmpty, pass <= retry.attempts {
                        pass += 1
                        let wanted = deferred
                        deferred = [:]
                        let again = TarReader(try ArchiveFormat.open(try FileSource(path: path)), allowSymlinks: true)
                        while let e = try again.next() {
                            guard e.kind == .file, let digest = ArchiveCatalog.blobDigest(e.name), let list = wanted[digest] else { continue }
                            let live = list.filter { plans[$0.plan].failed == nil }
                            guard let first = live.first else { continue }
                            await record(await placement.place(digest, users: [(first.plan, first.descriptor, plans[first.plan].destination)],
                                                               stream: TarEntryStream(again)))
                            if live.count > 1 { deferred[digest, default: []] += live.dropFirst() }
                        }
                    }
                    for (digest, list) in deferred {
                        for u in list where plans[u.plan].failed == nil { plans[u.plan].failed = "blob \(digest): could not be uploaded from the archive" }
                    }
                } catch {
                    for i in plans.indices where plans[i].failed == nil && !finished.contains(i) { plans[i].failed = "\(error)" }
                }
                // Whatever has not finished yet: failures, and images whose last blob came on a later pass.
                for i in plans.indices { await complete(i) }
                for await (j, outcome) in manifestGroup { report(j, outcome) }
            }
        } catch {
            for t in targets where results[t.id] == nil { finish(t, .failed, digest: nil, error: "\(error)") }
        }
        return targets.map { results[$0.id]! }
    }

}

/// Why finishing an image failed.
struct LoadFailure: Error {
    var message: String
    var attachments: [AttachmentResult] = []
}

extension ArchiveLoader {
    /// Blobs up to this size are read into memory and uploaded concurrently; larger ones stream from the archive.
    static let bufferedBlobLimit: Int64 = 8 << 20
}

/// Places one blob in every destination that needs it: found there, mounted from a repository of the same
/// storage that has it, or uploaded — from memory as often as needed, or from the archive stream once.
struct Placement: Sendable {
    typealias User = (plan: Int, descriptor: Descriptor, destination: any ImageDestination)

    /// What happened, per image (by plan index).
    struct Outcome: Sendable {
        var digest: Digest
        var failures: [(Int, String)] = []
        var bytes: [(Int, Int64)] = []
        /// Images still needing the blob, to be served by another read of the archive.
        var deferred: [(plan: Int, descriptor: Descriptor)] = []
        /// Images (by plan index) whose destination now holds the blob.
        var placed: [Int] = []
        /// Of those, the images it was uploaded for, mounted for, or already present for.
        var copied: [Int] = []
        var mounted: [Int] = []
        var present: [Int] = []
    }

    /// Blobs of one image by what placing them took.
    struct Counts: Sendable {
        var copied = 0, mounted = 0, present = 0
    }

    let retry: Retrier
    let check: BlobCheck

    func place(_ digest: Digest, users: [User], chunks: [[UInt8]]) async -> Outcome {
        await place(digest, users: users) { MemoryBlobStream(chunks: chunks) }
    }

    func place(_ digest: Digest, users: [User], stream: any BlobStream) async -> Outcome {
        var used = false
        return await place(digest, users: users) {
            guard !used else { return nil }
            used = true
            return stream
        }
    }

    /// `open` gives the bytes for an upload, or nil when they cannot be read again (the user is deferred).
    private func place(_ digest: Digest, users: [User], open: () throws -> (any BlobStream)?) async -> Outcome {
        var out = Outcome(digest: digest)
        var holders: [String: String] = [:]  // storage → a repository holding the blob
        var corrupt: String?
        for u in users {
            let loc = u.destination.location
            if let corrupt {
                out.failures.append((u.plan, corrupt))
                continue
            }
            do {
                // A mount from a repository already holding the blob also answers whether it is here; otherwise
                // one request asks and, when it is missing, opens the upload.
                if let from = holders[loc.storage], from != loc.repository {
                    if try await u.destination.mountBlob(u.descriptor, from: from) {
                        out.placed.append(u.plan)
                        out.mounted.append(u.plan)
                        continue
                    }
                } else if try await retry.run("blob \(digest)", { try await u.destination.blobExistsOrPrepareUpload(u.descriptor) }) {
                    holders[loc.storage] = holders[loc.storage] ?? loc.repository
                    out.placed.append(u.plan)
                    out.present.append(u.plan)
                    continue
                }
                guard let stream = try open() else {
                    out.deferred.append((u.plan, u.descriptor))
                    continue
                }
                try await u.destination.putBlob(u.descriptor, from: VerifyingStream(stream, expecting: u.descriptor,
                                                                                    checkingDigest: check.hashes(into: u.destination)))
                holders[loc.storage] = holders[loc.storage] ?? loc.repository
                out.bytes.append((u.plan, u.descriptor.size))
                out.placed.append(u.plan)
                out.copied.append(u.plan)
            } catch let e as BlobVerificationError {
                // The archive's copy is bad: every image needing it fails for that reason.
                corrupt = "blob \(digest): \(e)"
                out.failures.append((u.plan, corrupt!))
            } catch let e as RegistryError where e.codes.contains(.digestInvalid) {
                // The registry hashed the archive's copy and refused it: the same verdict, from the other end.
                corrupt = "blob \(digest): digest mismatch: the registry refused the archive's copy (\(e))"
                out.failures.append((u.plan, corrupt!))
            } catch where error.isTemporaryFailure {
                out.deferred.append((u.plan, u.descriptor))
            } catch {
                out.failures.append((u.plan, "blob \(digest): \(error)"))
            }
        }
        return out
    }
}

/// The content of the tar entry being read, as a blob stream.
final class TarEntryStream: BlobStream, @unchecked Sendable {
    private let reader: TarReader
    init(_ reader: TarReader) { self.reader = reader }
    func next() async throws -> [UInt8]? { try reader.readContent(max: 256 * 1024) }
    func cancel() {}
}
