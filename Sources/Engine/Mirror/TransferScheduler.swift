/// The run's transfer scheduler: bounds blob transfers in flight across the whole run. Waiting transfers start
/// largest first, so long transfers begin early and small ones fill in around them. Only bulk transfers take a
/// slot: existence checks, mounts and manifests never wait here.
///
/// With a `ceiling` above `limit`, the bound follows the link (`FlowShare`): it rises to the ceiling while the
/// transfers that finish show each flow getting only a small share of a slow link, and falls back when flows
/// are fast again (loopback, a LAN, a fast link: where more flows only cost memory).
public actor TransferScheduler {
    private struct Waiter {
        let id: Int
        let size: Int64
        let continuation: CheckedContinuation<Void, any Error>
    }

    /// Slots when flows are fast (`--blob-jobs`).
    public let base: Int
    /// Slots at most, when flows are slow (`base` for a fixed bound).
    public let ceiling: Int
    /// Slots now.
    public private(set) var limit: Int
    private var share = FlowShare()
    private var active = 0
    private var waiters: [Waiter] = []
    private var nextID = 0
    private let changed: (@Sendable (_ limit: Int, _ medianRate: Double) -> Void)?

    /// A scheduler of `limit` slots, allowed to grow to `ceiling` on a slow link (fixed when nil); `changed` hears
    /// of every change of the bound, with the median flow rate (bytes/s) that caused it.
    public init(limit: Int, ceiling: Int? = nil,
                changed: (@Sendable (_ limit: Int, _ medianRate: Double) -> Void)? = nil) {
        self.changed = changed
        let slots = max(1, limit)
        base = slots
        self.ceiling = max(slots, ceiling ?? slots)
        self.limit = slots
    }

    /// The slot of the transfer running in this task, if any.
    @TaskLocal static var slot: Slot?

    /// A transfer's hold on a slot, for `bodySent()`.
    struct Slot: Sendable {
        let scheduler: TransferScheduler
        let id: Int
        let size: Int64
        let start: ContinuousClock.Instant
    }

    /// Transfers holding a slot, by id.
    private var holding = Set<Int>()

    /// Runs `body` once a slot is free. The slot is held until `body` returns, or until it calls `bodySent()`.
    public func run<T: Sendable>(size: Int64, _ body: @Sendable () async throws -> T) async throws -> T {
        try await acquire(size: size)
        let slot = Slot(scheduler: self, id: nextID, size: size, start: .now)
        nextID += 1
        holding.insert(slot.id)
        var completed = false
        defer { release(slot, completed: completed) }
        let value = try await Self.$slot.withValue(slot) { try await body() }
        completed = true
        return value
    }

    /// Tells the scheduler that the transfer running in this task has handed every byte of its blob to the
    /// destination. Behind a slow link (the bound raised by `FlowShare`) its slot passes to the next transfer
    /// while the destination confirms the blob, a round trip in which the link would otherwise idle; at most
    /// `limit` transfers wait for a confirmation so. Elsewhere the slot is kept until the transfer returns: on
    /// a fast link the confirmation is short against the transfer, and the waiting transfers' buffers (the
    /// splice ring, curl's) would pile up while a busy registry finishes its uploads.
    public static func bodySent() async {
        guard let slot else { return }
        await slot.scheduler.sent(slot)
    }

    /// Transfers that freed their slot at `bodySent()` and have not returned.
    private var confirming = Set<Int>()

    private func sent(_ slot: Slot) {
        guard limit > base, confirming.count < limit, holding.contains(slot.id) else { return }
        confirming.insert(slot.id)
        release(slot, completed: true)
    }

    private func release(_ slot: Slot, completed: Bool) {
        guard holding.remove(slot.id) != nil else {
            confirming.remove(slot.id)
            return
        }
        release(size: completed ? slot.size : nil, seconds: (ContinuousClock.now - slot.start).inSeconds)
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

    /// Frees a slot; a completed transfer of `size` bytes that took `seconds` also tells how fast flows are.
    private func release(size: Int64?, seconds: Double) {
        if ceiling > base, let size, let slow = share.record(bytes: size, seconds: seconds), limit != (slow ? ceiling : base) {
            limit = slow ? ceiling : base
            changed?(limit, share.median)
        }
        // The freed slot (and, after the bound rose, the new ones) go to the largest waiting transfers.
        active -= 1
        while active < limit, !waiters.isEmpty {
            active += 1
            waiters.removeFirst().continuation.resume()
        }
    }

    /// Transfers running and waiting (for progress displays and tests).
    public var load: (active: Int, waiting: Int) { (active, waiters.count) }
}
