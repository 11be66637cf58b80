@testable import Engine
import Testing

@Suite("Fallback-tag writers take turns")
struct KeyedTurnsTests {
    @Test("one holder per key in order; a cancelled waiter leaves the queue at once and the next one gets the turn")
    func turns() async throws {
        let turns = KeyedTurns()
        try await turns.acquire("a")
        try await turns.acquire("b")  // another key is free
        let waiter = Task { try await turns.acquire("a") }
        let second = Task { () -> Bool in
            try await turns.acquire("a")
            return true
        }
        try await Task.sleep(for: .milliseconds(50))
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        await turns.release("a")
        #expect(try await second.value, "the turn passes over the cancelled waiter")
    }
}
