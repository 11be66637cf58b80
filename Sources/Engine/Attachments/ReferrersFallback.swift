import Synchronization

/// Keeps a subject's referrers fallback tag (`sha256-<hex>`) listing the referrers written for it, as the
/// distribution spec asks of clients when a registry does not index `subject` itself.
///
/// The update reads the tag (an absent tag is an empty list), appends descriptors it lacks (keeping every entry
/// already there), writes it back, and reads it again to check that nothing written meanwhile was lost: a
/// registry has no conditional PUT, so a concurrent writer can only be caught afterwards, and the update is then
/// merged again. Writers in one process take turns per tag, which leaves no window at all between them.
public enum ReferrersFallback {
    /// Rounds of read, merge, write and check before giving up.
    static let rounds = 6

    private static let turns = KeyedTurns()

    /// Adds `entries` (referrers of `subject`, already stored) to the fallback tag of `subject`; `tagged` is the
    /// destination for the tag (`repository:sha256-<hex>`). Returns whether the tag was written.
    @discardableResult
    public static func add(_ entries: [Descriptor], subject: Digest, tagged: any ImageDestination, retry: Retrier) async throws -> Bool {
        guard !entries.isEmpty else { return false }
        let tag = AttachmentTag.fallback(for: subject)
        let key = "\(tagged.location.storage) \(tagged.location.repository) \(tag)"
        try await turns.acquire(key)
        defer { Task { await turns.release(key) } }
        var wrote = false
        for round in 1...rounds {
            let started = ContinuousClock.now
            let current = try await read(tag, at: tagged, retry: retry)
            let readTime = ContinuousClock.now - started
            // The spec: a fallback tag holding anything but an image index is reported and left alone.
            if let current, ReferrersIndex.entries(of: current) == nil {
                throw ReferrersFallbackError(description: "\(tagged.location):\(tag) holds a \(current.mediaType), not an image index; left as it is")
            }
            guard let merged = try ReferrersIndex.adding(entries, to: current) else { return wrote }
            try await retry.run("\(tagged.location):\(tag)") { try await tagged.putManifest(merged, as: .tag(tag)) }
            wrote = true
            // Let a writer that read before our write finish its own (a read and a write take about two read
            // times), then check that ours survived it.
            if round < rounds {
                let wait = max(.milliseconds(40), readTime * 4) * Double.random(in: 1...1.5) * Double(round)
                try await Task.sleep(for: min(wait, .seconds(2)))
            }
        }
        let final = try await read(tag, at: tagged, retry: retry)
        let listed = Set(final.flatMap(ReferrersIndex.entries(of:))?.map(\.digest) ?? [])
        let lost = entries.filter { !listed.contains($0.digest) }
        guard lost.isEmpty else {
            throw ReferrersFallbackError(description: "\(tagged.location):\(tag): another writer kept replacing the fallback tag; \(lost.count) referrer\(lost.count == 1 ? " is" : "s are") not listed")
        }
        return wrote
    }

    /// The fallback index under `tag`, or nil when there is none.
    static func read(_ tag: String, at tagged: any ImageDestination, retry: Retrier) async throws -> RawManifest? {
        try await retry.run("\(tagged.location):\(tag)") { try await tagged.manifestIfPresent(.tag(tag)) }
    }
}

/// A fallback tag that could not be kept.
public struct ReferrersFallbackError: Error, Sendable, CustomStringConvertible {
    public let description: String
}

/// Turns per key: one holder at a time, the others wait in order; a waiter whose task is cancelled (its image
/// timed out) leaves the queue at once.
actor KeyedTurns {
    private var waiting: [String: [(id: Int, continuation: CheckedContinuation<Void, any Error>)]] = [:]
    private var held = Set<String>()
    private var next = 0

    func acquire(_ key: String) async throws {
        guard held.contains(key) else {
            held.insert(key)
            return
        }
        next += 1
        let id = next
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
                if Task.isCancelled { c.resume(throwing: CancellationError()) } else { waiting[key, default: []].append((id, c)) }
            }
        } onCancel: {
            Task { await self.leave(key, id) }
        }
    }

    func release(_ key: String) {
        if var queue = waiting[key], !queue.isEmpty {
            let first = queue.removeFirst()
            waiting[key] = queue.isEmpty ? nil : queue
            first.continuation.resume()
        } else {
            held.remove(key)
        }
    }

    private func leave(_ key: String, _ id: Int) {
        guard var queue = waiting[key], let i = queue.firstIndex(where: { $0.id == id }) else { return }
        let gone = queue.remove(at: i)
        waiting[key] = queue.isEmpty ? nil : queue
        gone.continuation.resume(throwing: CancellationError())
    }
}
