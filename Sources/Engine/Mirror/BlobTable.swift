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

    private enum State {
        case inFlight(Task<BlobOutcome, any Error>, repository: String)
        case present(repositories: Set<String>)
    }

    private var table: [Key: State] = [:]

    public init() {}

    /// Makes `descriptor` present in the destination's repository. `transfer` moves it there when nothing
    /// cheaper works (it is expected to check existence and mount from the source itself).
    public func ensure(_ descriptor: Descriptor, in destination: any ImageDestination,
                       transfer: @escaping @Sendable () async throws -> BlobOutcome) async throws -> BlobOutcome {
        let key = Key(storage: destination.location.storage, digest: descriptor.digest)
        let repository = destination.location.repository
        while true {
            switch table[key] {
            case .present(let repositories):
                if repositories.contains(repository) { return .present }
                let from = repositories.sorted().first!
                if try await destination.mountBlob(descriptor, from: from) {
                    record(key, repository)
                    return .mounted
                }
                return try await start(key, repository, transfer)
            case .inFlight(let task, let inRepository):
                // Wait for whoever is moving it. Whoever sees the outcome first records it (an awaited task that
                // has finished does not suspend, so waiting for the starter to record it could spin forever).
                let succeeded = (try? await task.value) != nil
                if case .inFlight(let t, _) = table[key], t == task {
                    if succeeded { record(key, inRepository) } else { table[key] = nil }
                }
            case nil:
                return try await start(key, repository, transfer)
            }
        }
    }

    private func start(_ key: Key, _ repository: String, _ transfer: @escaping @Sendable () async throws -> BlobOutcome)
        async throws -> BlobOutcome
    {
        let task = Task { try await transfer() }
        // While another repository's copy is recorded as present, keep that record; this copy just adds one.
        if case .present = table[key] {} else { table[key] = .inFlight(task, repository: repository) }
        do {
            let outcome = try await withTaskCancellationHandler { try await task.value } onCancel: { task.cancel() }
            record(key, repository)
            return outcome
        } catch {
            if case .inFlight(let t, _) = table[key], t == task { table[key] = nil }
            throw error
        }
    }

    private func record(_ key: Key, _ repository: String) {
        if case .present(var repositories) = table[key] {
            repositories.insert(repository)
            table[key] = .present(repositories: repositories)
        } else {
            table[key] = .present(repositories: [repository])
        }
    }
}
