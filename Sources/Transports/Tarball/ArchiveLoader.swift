import Engine
import Foundation
import Logging

/// Loads the images of an archive into registries in one sequential pass, without extracting it to disk.
///
/// The archive's head (`index.json`, manifests, configs — dray writes them first) is read to plan every image;
/// images whose destination tag already holds the saved digest are skipped. The rest of the archive is then
/// read once: each needed blob is uploaded as it passes, its digest checked while it streams, and mounted into
/// the other repositories that need it. Manifests follow, children before parents, and each tag last. An image
/// whose blob is missing, corrupt or fails to upload gets nothing tagged.
public struct ArchiveLoader: Sendable {
    /// One image to load: its name in the archive and where it goes.
    public struct Target: Sendable {
        public var id: Int
        public var name: String
        public var destination: Reference
        public init(id: Int, name: String, destination: Reference) {
            self.id = id
            self.name = name
            self.destination = destination
        }
    }

    let destinations: @Sendable (Reference) -> any ImageDestination
    let retry: Retrier
    let logger: Logger

    public init(destinations: @escaping @Sendable (Reference) -> any ImageDestination, retries: Int, logger: Logger) {
        self.destinations = destinations
        self.retry = Retrier(attempts: retries, logger: logger)
        self.logger = logger
    }

    /// Loads `targets` from the archive at `path` (parts found automatically); one result per target.
    public func load(_ path: String, targets: [Target], events: @escaping @Sendable (MirrorEvent) -> Void) async
        -> [MirrorResult]
    {
        let started = ContinuousClock.now
        var results: [Int: MirrorResult] = [:]
        func finish(_ t: Target, _ status: MirrorResult.Status, digest: Digest?, error: String? = nil, bytes: Int64 = 0) {
            let r = MirrorResult(id: t.id, source: t.name, destination: t.destination.description, line: t.name,
                                 status: status, digest: digest?.description, sourceDigest: digest?.description,
                                 platforms: [], rewritten: false, bytesCopied: bytes, blobsCopied: 0, blobsMounted: 0,
                                 blobsPresent: 0, seconds: (ContinuousClock.now - started).inSeconds, error: error,
                                 warning: nil)
            results[t.id] = r
            events(.finished(r))
        }
        do {
            let reader = TarReader(try ArchiveFormat.open(try FileSource(path: path)))
            // 1. The head: index.json and every manifest, plus the small blobs (configs) read on the way.
            let head = try ArchiveCatalog.readHead(reader, path: path)
            let index = head.catalog.index
            let small = head.blobs

            // 2. Plan: each target's manifests (children first) and blobs; skip what the destination has.
            struct Plan {
                var target: Target
                var manifests: [RawManifest]  // children before parents, the top last
                var blobs: [Descriptor]
                var destination: any ImageDestination
                var failed: String?
            }
            var plans: [Plan] = []
            for t in targets {
                events(.started(MirrorTarget(id: t.id, source: t.destination, destination: t.destination, line: t.name, origin: path)))
                guard let entry = OCILayout.entry(named: t.name, in: index) else {
                    finish(t, .failed, digest: nil, error: "\(t.name) is not in \(path)")
                    continue
                }
                do {
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
                    let dst = destinations(t.destination)
                    let tag = ManifestIdentifier.tag(t.destination.tag ?? "latest")
                    if try await retry.run("\(t.destination): check", { try await dst.manifestDigest(tag) }) == entry.digest {
                        finish(t, .skipped, digest: entry.digest)
                        continue
                    }
                    plans.append(Plan(target: t, manifests: manifests, blobs: Array(blobs.values), destination: dst))
                } catch {
                    finish(t, .failed, digest: entry.digest, error: "\(error)")
                }
            }

            // 3. Blobs: small ones from memory; the rest as the archive streams past, once per destination storage,
            //    then mounted into the other repositories that need them.
            var holders: [String: [Digest: String]] = [:]  // storage → digest → a repository holding it
            var bytesBy: [Int: Int64] = [:]
            func place(_ d: Descriptor, _ planIndex: Int, stream: () throws -> any BlobStream) async {
                let p = plans[planIndex]
                guard p.failed == nil else { return }
                let loc = p.destination.location
                do {
                    if try await retry.run("blob \(d.digest)", { try await p.destination.blobExists(d) }) {
                        holders[loc.storage, default: [:]][d.digest] = loc.repository
                        return
                    }
                    if let from = holders[loc.storage]?[d.digest],
                       try await p.destination.mountBlob(d, from: from) {
                        return
                    }
                    let s = VerifyingStream(try stream(), expecting: d)
                    try await p.destination.putBlob(d, from: s)
                    holders[loc.storage, default: [:]][d.digest] = loc.repository
                    bytesBy[p.target.id, default: 0] += d.size
                    events(.bytes(d.size))
                } catch {
                    plans[planIndex].failed = "blob \(d.digest): \(error)"
                }
            }
            var needs: [Digest: [Int]] = [:]
            for (i, p) in plans.enumerated() { for b in p.blobs { needs[b.digest, default: []].append(i) } }
            var done = Set<Digest>()
            for (digest, users) in needs {
                guard let bytes = small[digest] else { continue }
                for i in users {
                    let d = plans[i].blobs.first { $0.digest == digest }!
                    await place(d, i) { MemoryBlobStream(bytes) }
                }
                done.insert(digest)
            }
            while let e = try reader.next() {
                if e.kind == .file, let digest = ArchiveCatalog.blobDigest(e.name), let users = needs[digest], !done.contains(digest) {
                    // The first user streams it from the archive; the others find it, or mount it.
                    var consumed = false
                    var streamFailure: String?
                    for i in users {
                        if let streamFailure, plans[i].failed == nil {
                            // The archive's copy was bad: every image that needs it fails for that reason.
                            plans[i].failed = streamFailure
                            continue
                        }
                        let d = plans[i].blobs.first { $0.digest == digest }!
                        let wasStreamed = consumed
                        defer { if !wasStreamed, consumed { streamFailure = plans[i].failed } }
                        await place(d, i) {
                            guard !consumed else {
                                throw LayoutError(path: e.name, reason: "the registry refused to mount it and the archive cannot be read twice")
                            }
                            consumed = true
                            return TarEntryStream(reader)
                        }
                    }
                    done.insert(digest)
                }
            }
            for (digest, users) in needs where !done.contains(digest) {
                for i in users where plans[i].failed == nil { plans[i].failed = "blob \(digest) is missing from the archive" }
            }

            // 4. Manifests, children before parents, then the tag.
            for p in plans {
                if let failure = p.failed {
                    finish(p.target, .failed, digest: p.manifests.last?.digest, error: failure, bytes: bytesBy[p.target.id] ?? 0)
                    continue
                }
                do {
                    for m in p.manifests.dropLast() {
                        try await retry.run("put manifest \(m.digest)") { try await p.destination.putManifest(m, as: .digest(m.digest)) }
                    }
                    let top = p.manifests.last!
                    try await retry.run("put \(p.target.destination)") {
                        try await p.destination.putManifest(top, as: .tag(p.target.destination.tag ?? "latest"))
                    }
                    finish(p.target, .copied, digest: top.digest, bytes: bytesBy[p.target.id] ?? 0)
                } catch {
                    finish(p.target, .failed, digest: p.manifests.last?.digest, error: "\(error)", bytes: bytesBy[p.target.id] ?? 0)
                }
            }
        } catch {
            for t in targets where results[t.id] == nil { finish(t, .failed, digest: nil, error: "\(error)") }
        }
        return targets.map { results[$0.id]! }
    }

}

/// The content of the tar entry being read, as a blob stream.
final class TarEntryStream: BlobStream, @unchecked Sendable {
    private let reader: TarReader
    init(_ reader: TarReader) { self.reader = reader }
    func next() async throws -> [UInt8]? { try reader.readContent(max: 256 * 1024) }
    func cancel() {}
}
