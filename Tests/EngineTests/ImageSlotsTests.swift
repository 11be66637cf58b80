@testable import Engine
import Synchronization
import Testing

@Suite("Image slots: -j bounds copies, checks run ahead")
struct ImageSlotsTests {
    /// Order in which bodies started.
    final class Log: Sendable {
        let entries = Mutex<[Int]>([])
        func add(_ i: Int) { entries.withLock { $0.append(i) } }
        var all: [Int] { entries.withLock { $0 } }
    }

    /// A body that waits until opened.
    final class Gate: Sendable {
        let waiting = Mutex<CheckedContinuation<Void, Never>?>(nil)
        func wait() async { await withCheckedContinuation { k in waiting.withLock { $0 = k } } }
        var isWaiting: Bool { waiting.withLock { $0 != nil } }
        func open() { waiting.withLock { $0?.resume(); $0 = nil } }
    }

    @Test("at -j 1 images copy in list order even when a later check finishes first")
    func listOrder() async throws {
        let slots = ImageSlots(1)
        let log = Log()
        let (first, second) = (slots.admitted(), slots.admitted())
        // The second image is checked first and asks for the slot: it waits for the first.
        let later = Task { try await slots.holding(second) { log.add(second) } }
        try await Task.sleep(for: .milliseconds(100))
        #expect(log.all.isEmpty)
        try await slots.holding(first) { log.add(first) }
        slots.finished(first)
        try await later.value
        #expect(log.all == [first, second])
    }

    @Test("an image already at its destination takes no slot and holds up no one")
    func noOpImages() async throws {
        let slots = ImageSlots(1)
        let log = Log()
        let (a, b) = (slots.admitted(), slots.admitted())
        slots.finished(a)
        try await slots.holding(b) { log.add(b) }
        #expect(log.all == [b])
    }

    @Test("an earlier image still being checked keeps one slot, not all of them")
    func slowCheck() async throws {
        let slots = ImageSlots(2)
        let log = Log()
        let (slow, b, c) = (slots.admitted(), slots.admitted(), slots.admitted())
        let gate = Gate()
        // b copies while `slow` is still checking; c must wait: b and `slow` hold the two slots.
        let running = Task {
            try await slots.holding(b) {
                log.add(b)
                await gate.wait()
            }
        }
        while !gate.isWaiting { try await Task.sleep(for: .milliseconds(5)) }
        let third = Task { try await slots.holding(c) { log.add(c) } }
        try await Task.sleep(for: .milliseconds(100))
        #expect(log.all == [b])
        // The slow image turns out to be at its destination: c may start.
        slots.finished(slow)
        try await third.value
        #expect(log.all == [b, c])
        gate.open()
        try await running.value
    }

    @Test("a cancelled wait for a slot ends at once")
    func cancelled() async throws {
        let slots = ImageSlots(1)
        let (a, b) = (slots.admitted(), slots.admitted())
        let waiting = Task { try await slots.holding(b) { () } }
        try await Task.sleep(for: .milliseconds(50))
        waiting.cancel()
        await #expect(throws: CancellationError.self) { try await waiting.value }
        slots.finished(b)
        try await slots.holding(a) { () }
    }

    @Test("the wait for a slot does not count against the image's timeout")
    func timeoutExcludesTheWait() async throws {
        let slots = ImageSlots(1)
        let (a, b) = (slots.admitted(), slots.admitted())
        let holder = Task { try await slots.holding(a) { try await Task.sleep(for: .seconds(3)) } }
        try await Task.sleep(for: .milliseconds(20))
        // A 1.5 s budget, and a wait of about 3 s for the slot, twice the budget, which is not the image's own. The
        // clock starts in this task, right before the wait: a race between `withTimeout`'s two tasks, under the
        // load of the full suite on two cores, once let the budget run out before the wait had even begun.
        let deadline = ImageDeadline(.now + .milliseconds(1500))
        let left = try await ImageDeadline.$current.withValue(deadline) {
            try await slots.holding(b) { deadline.due.map { $0 - .now } }
        }
        #expect(left.map { $0 > .seconds(1) } == true, "time left when the copy starts: \(String(describing: left))")
        try await holder.value
        // `withTimeout` gives its body the deadline that slots stop.
        #expect(try await withTimeout(.seconds(60)) { ImageDeadline.current != nil })
        // Its own time still counts.
        await #expect(throws: MirrorTimeout.self) {
            try await withTimeout(.milliseconds(100)) { try await Task.sleep(for: .seconds(2)) }
        }
    }
}

extension ImageSlots {
    /// Runs `body` holding a slot (`take`, then `give` back), as the engine does around an image's copy.
    func holding<T: Sendable>(_ ticket: Int, _ body: () async throws -> T) async throws -> T {
        try await take(ticket)
        defer { give() }
        return try await body()
    }
}
