import Synchronization

/// The `-j` bound of a run: images copying at once. An image's check (its source manifest, the destination tag, its
/// attachments) runs before it takes a slot, so the checks of the next images go out while earlier ones copy, and
/// an image already at its destination finishes without one.
///
/// Slots go in list order, as if every image held one from its admission: an image may start copying when the
/// images copying plus the earlier images still being checked leave a slot free. At `-j 1` images copy one after
/// another in list order; an earlier image whose check is slow (retrying) keeps one slot, not all of them.
final class ImageSlots: Sendable {
    private struct State {
        let limit: Int
        var active = 0
        var nextTicket = 0
        /// Images admitted that neither hold a slot nor have finished.
        var pending = Set<Int>()
        var waiters: [Int: CheckedContinuation<Void, any Error>] = [:]
    }
    private let state: Mutex<State>

    init(_ limit: Int) { state = Mutex(State(limit: max(1, limit))) }

    /// Registers the next image of the list; its ticket orders it.
    func admitted() -> Int {
        state.withLock { s in
            defer { s.nextTicket += 1 }
            s.pending.insert(s.nextTicket)
            return s.nextTicket
        }
    }

    /// The image of `ticket` finished (whether or not it took a slot).
    func finished(_ ticket: Int) {
        let ready = state.withLock { s in
            s.pending.remove(ticket)
            return Self.grants(&s)
        }
        for c in ready { c.resume() }
    }

    /// Waits for a slot for the image of `ticket`; the wait is not counted against the image's `--timeout`.
    /// Each slot taken is given back with `give()`.
    func take(_ ticket: Int) async throws {
        let deadline = ImageDeadline.current
        deadline?.stop()
        defer { deadline?.restart() }
        try await acquire(ticket)
    }

    /// Gives a slot back.
    func give() {
        let ready = state.withLock { s in
            s.active -= 1
            return Self.grants(&s)
        }
        for c in ready { c.resume() }
    }

    private func acquire(_ ticket: Int) async throws {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
                let (cancelled, ready) = state.withLock { s -> (Bool, [CheckedContinuation<Void, any Error>]) in
                    if Task.isCancelled { return (true, []) }
                    s.waiters[ticket] = c
                    return (false, Self.grants(&s))
                }
                if cancelled { c.resume(throwing: CancellationError()) }
                for r in ready { r.resume() }
            }
        } onCancel: {
            let c = state.withLock { $0.waiters.removeValue(forKey: ticket) }
            c?.resume(throwing: CancellationError())
        }
    }

    /// Hands slots to waiters in ticket order while the images copying and the earlier ones not yet copying leave
    /// one free.
    private static func grants(_ s: inout State) -> [CheckedContinuation<Void, any Error>] {
        var ready: [CheckedContinuation<Void, any Error>] = []
        for ticket in s.waiters.keys.sorted() {
            let earlier = s.pending.count { $0 < ticket }
            guard s.active + earlier < s.limit else { break }
            ready.append(s.waiters.removeValue(forKey: ticket)!)
            s.pending.remove(ticket)
            s.active += 1
        }
        return ready
    }
}
