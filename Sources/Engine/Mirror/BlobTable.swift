/// What it took to make a blob present in a destination repository.
public enum BlobOutcome: Sendable, Hashable {
    /// Streamed from the source; `bytes` were sent.
    case copied(bytes: Int64)
    /// Linked from another repository of the same registry.
    case mounted
    /// Already there.
    case present
}

/// The run-wide table of blobs per destination storage (registry) and digest.
///
/// A blob needed by many images is transferred once per run: the first image to need it copies it; others that
/// need it in the same repository wait and find it present; others in another repository of that registry wait
/// and then mount it from where it landed, falling back to a copy if the registry refuses the mount.
public actor BlobTable {
    private struct Key: Hashable {
        let storage: String
        let digest: Digest
    }

    /// What the run knows of one blob in one storage: the repositories holding it, and the operation (transfer
    /// or mount) under way for each repository that will.
    private struct Entry {
        var present: Set<String> = []
        var pending: [String: Task<BlobOutcome, any Error>] = [:]
    }

    private var table: [Key: Entry] = [:]

    public init() {}

    /// Makes `descriptor` present in the destination's repository. `transfer` moves it there when nothing
    /// cheaper works (it is expected to check existence and mount from the source itself).
    ///
    /// Exactly one operation runs per repository: the first caller for a repository either mounts (when another
    /// repository of the storage holds the blob), waits for the transfer under way elsewhere and then mounts, or
    /// transfers; later callers for that repository wait for it and find the blob present.
    public func ensure(_ descriptor: Descriptor, in destination: any ImageDestination,
                       transfer: @escaping @Sendable () async throws -> BlobOutcome) async throws -> BlobOutcome {
        let key = Key(storage: destination.location.storage, digest: descriptor.digest)
        let repository = destination.location.repository
        while true {
            let entry = table[key] ?? Entry()
            if entry.present.contains(repository) { return .present }
            if let mine = entry.pending[repository] {
                // Someone is already bringing it here. Whoever sees the outcome first records it (an awaited task
                // that has finished does not suspend, so waiting for its starter to record could spin forever).
                let succeeded = (try? await mine.value) != nil
                settle(key, repository, mine, succeeded: succeeded)
                continue  // present now, or failed: then this caller tries in turn
            }
            if let from = entry.present.sorted().first {
                return try await run(key, repository) {
                    // A refused or failed mount (a 429, a reset) falls back to the transfer, which retries and
                    // tries the mount again itself.
                    if (try? await destination.mountBlob(descriptor, from: from)) == true { return .mounted }
                    try Task.checkCancellation()
                    return try await transfer()
                }
            }
            if let (_, elsewhere) = entry.pending.first {
                // Another repository is receiving it: wait, then mount from there (or transfer if that failed).
                let succeeded = (try? await elsewhere.value) != nil
                if let (repo, _) = table[key]?.pending.first(where: { $0.value == elsewhere }) {
                    settle(key, repo, elsewhere, succeeded: succeeded)
                }
                if succeeded { continue }
            }
            return try await run(key, repository, transfer)
        }
    }

    /// Runs the operation for `repository` as the one pending there, and records its outcome.
    private func run(_ key: Key, _ repository: String, _ operation: @escaping @Sendable () async throws -> BlobOutcome)
        async throws -> BlobOutcome
    {
        let task = Task { try await operation() }
        table[key, default: Entry()].pending[repository] = task
        do {
            let outcome = try await withTaskCancellationHandler { try await task.value } onCancel: { task.cancel() }
            settle(key, repository, task, succeeded: true)
            return outcome
        } catch {
            settle(key, repository, task, succeeded: false)
            throw error
        }
    }

    /// Records the end of `task` for `repository` if it is still the pending one.
    private func settle(_ key: Key, _ repository: String, _ task: Task<BlobOutcome, any Error>, succeeded: Bool) {
        guard var entry = table[key], entry.pending[repository] == task else { return }
        entry.pending[repository] = nil
        if succeeded { entry.present.insert(repository) }
        table[key] = entry
    }
}
