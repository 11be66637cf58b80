import Engine
import Foundation
import Testing

/// A value behind a lock, shareable between test tasks.
final class Locked<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: T
    init(_ v: T) { value = v }
    func withLock<R>(_ body: (inout T) -> R) -> R { lock.withLock { body(&value) } }
}

/// Blobs per repository of one in-memory storage.
typealias MemoryStorage = Locked<[String: Set<Digest>]>

/// An in-memory destination: repositories of blobs in one storage, with mount support.
final class MemoryDestination: ImageDestination {
    let repository: String
    let shared: MemoryStorage
    init(repository: String, shared: MemoryStorage) {
        self.repository = repository
        self.shared = shared
    }
    var location: RepositoryLocation { RepositoryLocation(storage: "mem", repository: repository) }
    func blobExists(_ d: Descriptor) async throws -> Bool { shared.withLock { $0[repository]?.contains(d.digest) ?? false } }
    func mountBlob(_ d: Descriptor, from other: String) async throws -> Bool {
        return shared.withLock { s in
            guard s[other]?.contains(d.digest) == true else { return false }
            s[repository, default: []].insert(d.digest)
            return true
        }
    }
    func putBlob(_ d: Descriptor, from stream: any BlobStream) async throws {
        while try await stream.next() != nil {}
        _ = shared.withLock { $0[repository, default: []].insert(d.digest) }
    }
    func manifestDigest(_ id: ManifestIdentifier) async throws -> Digest? { nil as Digest? }
    func manifest(_ id: ManifestIdentifier) async throws -> RawManifest { throw CancellationError() }
    func blob(_ d: Descriptor) async throws -> any BlobStream { throw CancellationError() }
    func putManifest(_ m: RawManifest, as id: ManifestIdentifier) async throws {}
}

@Suite("Blob dedupe table and transfer pool", .timeLimit(.minutes(1)))
struct BlobTableTests {
    @Test("50 concurrent requests for one blob across 5 repositories: one transfer, the rest present or mounted")
    func dedupe() async throws {
        let table = BlobTable()
        let shared = MemoryStorage([:])
        let bytes = [UInt8](repeating: 3, count: 1000)
        let d = Descriptor(mediaType: .ociLayerGzip, digest: .sha256(of: bytes), size: 1000)
        let transfers = Locked(0)
        let destinations = (0..<5).map { MemoryDestination(repository: "repo\($0)", shared: shared) }
        let outcomes = try await withThrowingTaskGroup(of: BlobOutcome.self) { group in
            for i in 0..<50 {
                let dst = destinations[i % 5]
                group.addTask {
                    try await table.ensure(d, in: dst) {
                        transfers.withLock { $0 += 1 }
                        try await Task.sleep(for: .milliseconds(50))
                        try await dst.putBlob(d, from: MemoryBlobStream(bytes))
                        return .copied(bytes: 1000)
                    }
                }
            }
            var all: [BlobOutcome] = []
            for try await o in group { all.append(o) }
            return all
        }
        #expect(transfers.withLock { $0 } == 1)
        #expect(outcomes.filter { $0 == BlobOutcome.copied(bytes: 1000) }.count == 1)
        #expect(outcomes.filter { $0 == BlobOutcome.mounted }.count == 4)
        #expect(outcomes.filter { $0 == BlobOutcome.present }.count == 45)
        #expect(shared.withLock { $0 }.values.allSatisfy { $0.contains(d.digest) })
    }

    @Test("a failed transfer lets the next caller try again")
    func failureRetried() async throws {
        let table = BlobTable()
        let shared = MemoryStorage([:])
        let dst = MemoryDestination(repository: "r", shared: shared)
        let d = Descriptor(mediaType: .ociLayerGzip, digest: .sha256(of: [1]), size: 1)
        struct Boom: Error {}
        await #expect(throws: Boom.self) { _ = try await table.ensure(d, in: dst) { throw Boom() } }
        let second = try await table.ensure(d, in: dst) {
            try await dst.putBlob(d, from: MemoryBlobStream([1]))
            return .copied(bytes: 1)
        }
        #expect(second == BlobOutcome.copied(bytes: 1))
    }

    @Test("the transfer pool never exceeds its limit and starts the largest waiting transfer first")
    func pool() async throws {
        let pool = TransferScheduler(limit: 2)
        let running = Locked((now: 0, peak: 0))
        let order = Locked([Int64]())
        let queued = Locked(false)
        // Occupy both slots, then queue sizes in a scrambled order.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for size: Int64 in [1_000_000, 999_999] {
                group.addTask {
                    // Hold the slot until all four transfers below are waiting (however slow the machine is).
                    try await pool.run(size: size) {
                        while !queued.withLock({ $0 }) {
                            if await pool.load.waiting >= 4 { queued.withLock { $0 = true } }
                            try await Task.sleep(for: .milliseconds(5))
                        }
                    }
                }
            }
            try await Task.sleep(for: .milliseconds(20))
            for size: Int64 in [5, 500, 50, 5000] {
                group.addTask {
                    try await pool.run(size: size) {
                        running.withLock { $0.now += 1; $0.peak = max($0.peak, $0.now) }
                        order.withLock { $0.append(size) }
                        try await Task.sleep(for: .milliseconds(10))
                        running.withLock { $0.now -= 1 }
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(running.withLock { $0.peak } <= 2)
        #expect(order.withLock { $0 }.prefix(2).sorted() == [500, 5000])
    }
}
