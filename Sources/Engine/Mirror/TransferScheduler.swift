/// The run's transfer scheduler: bounds blob transfers in flight across the whole run. Waiting transfers start
/// largest first, so long transfers begin early and small ones fill in around them. Only bulk transfers take a
/// slot: existence checks, mounts and manifests never wait here.
public actor TransferScheduler {
    private struct Waiter {
        let id: Int
        let size: Int64
        let continuation: CheckedContinuation<Void, any Error>
    }

    public let limit: Int
    private var active = 0
    private var waiters: [Waiter] = []
    private var nextID = 0

    public init(limit: Int) { self.limit = max(1, limit) }

    /// Runs `body` once a slot is free.
    public func run<T: Sendable>(size: Int64, _ body: @Sendable () async throws -> T) async throws -> T {
        try await acquire(size: size)
        defer { release() }
        return try await body()
    }

    private func acquire(size: Int64) async throws {
        if active < limit {
            active += 1
            return
        }
        let id = nextID
        nextID += 1
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
                if Task.isCancelled {
                    c.resume(throwing: CancellationError())
                    return
                }
                let i = waiters.firstIndex { $0.size < size } ?? waiters.endIndex
                waiters.insert(Waiter(id: id, size: size, continuation: c), at: i)
            }
        } onCancel: {
            Task { await self.cancelWaiter(id) }
        }
    }

    private func cancelWaiter(_ id: Int) {
        guard let i = waiters.firstIndex(where: { $0.id == id }) else { return }
        waiters.remove(at: i).continuation.resume(throwing: CancellationError())
    }

    private func release() {
        if waiters.isEmpty {
            active -= 1
        } else {
            // The slot passes straight to the largest waiting transfer.
            waiters.removeFirst().continuation.resume()
        }
    }

    /// Transfers running and waiting (for progress displays and tests).
    public var load: (active: Int, waiting: Int) { (active, waiters.count) }
}
