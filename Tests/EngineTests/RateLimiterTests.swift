@testable import Engine
import Foundation
import Logging
import Testing

@Suite("Per-registry rate limiter", .timeLimit(.minutes(1)))
struct RateLimiterTests {
    @Test("never more requests in flight to a host than --max-connections")
    func connectionCap() async throws {
        let limiter = RateLimiter(limits: ["reg": .init(maxConnections: 3)])
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<30 {
                group.addTask {
                    try await limiter.enter(host: "reg", admission: .request)
                    try await Task.sleep(for: .milliseconds(10))
                    await limiter.leave(host: "reg", admission: .request, status: 200, retryAfter: nil)
                }
            }
            try await group.waitForAll()
        }
        #expect(await limiter.peak["reg"] == 3)
        #expect(await limiter.started["reg"] == 30)
    }

    @Test("bulk transfers leave a slot to small requests")
    func smallRequestsNotStarved() async throws {
        let limiter = RateLimiter(limits: ["reg": .init(maxConnections: 2)])
        // One bulk transfer takes a slot; a second one waits, leaving the last slot to small requests.
        try await limiter.enter(host: "reg", admission: .bulk)
        let secondBulk = Task { try await limiter.enter(host: "reg", admission: .bulk) }
        while await limiter.waiting(host: "reg") == 0, await limiter.started["reg"] == 1 {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(await limiter.waiting(host: "reg") == 1, "the second bulk transfer waits")
        try await limiter.enter(host: "reg", admission: .request)
        #expect(await limiter.waited["reg"] == nil, "the small request took the last slot at once")
        #expect(await limiter.peak["reg"] == 2)
        await limiter.leave(host: "reg", admission: .request, status: 200, retryAfter: nil)
        await limiter.leave(host: "reg", admission: .bulk, status: 201, retryAfter: nil)
        try await secondBulk.value
        #expect(await limiter.waited["reg"] == 1)
    }

    @Test("a resumed download (a continuation) is admitted while every slot is taken, and counts while it runs")
    func continuationNeverWaitsForSlots() async throws {
        let limiter = RateLimiter(limits: ["src": .init(maxConnections: 1)])
        // The only slot is held by a transfer that will not end until the continuation has run: waiting for a
        // slot here would never end (the test's time limit fails it).
        try await limiter.enter(host: "src", admission: .bulk)
        try await limiter.enter(host: "src", admission: .continuation)
        #expect(await limiter.peak["src"] == 2)
        await limiter.leave(host: "src", admission: .continuation, status: 206, retryAfter: nil)
        await limiter.leave(host: "src", admission: .bulk, status: 200, retryAfter: nil)
        // Both slots were given back: a bulk transfer starts at once.
        try await limiter.enter(host: "src", admission: .bulk)
        await limiter.leave(host: "src", admission: .bulk, status: 200, retryAfter: nil)
        #expect(await limiter.started["src"] == 3)
    }

    @Test("--rate-limit paces request starts")
    func pacing() async throws {
        let limiter = RateLimiter(limits: ["reg": .init(requestsPerSecond: 10)])
        let start = ContinuousClock.now
        for _ in 0..<20 {
            try await limiter.enter(host: "reg", admission: .request)
            await limiter.leave(host: "reg", admission: .request, status: 200, retryAfter: nil)
        }
        // A burst of 10, then 10 more at 100 ms intervals.
        #expect(ContinuousClock.now - start >= .milliseconds(900))
        for _ in 0..<20 { try await limiter.enter(host: "elsewhere", admission: .request) }
        #expect(await limiter.waited["elsewhere"] == nil, "other hosts are not paced")
    }

    @Test("a burst of 429s with Retry-After pauses the whole host exactly that long and halves its concurrency, which successes bring back")
    func backoff() async throws {
        let limiter = RateLimiter(limits: ["reg": .init(maxConnections: 8)])
        for _ in 0..<3 { try await limiter.enter(host: "reg", admission: .request) }
        for _ in 0..<3 { await limiter.leave(host: "reg", admission: .request, status: 429, retryAfter: .seconds(1)) }
        let start = ContinuousClock.now
        try await limiter.enter(host: "reg", admission: .request)
        let waited = ContinuousClock.now - start
        #expect(waited >= .milliseconds(950), "waited \(waited)")
        #expect(await limiter.throttled["reg"] == 3)
        #expect(await limiter.pauses["reg"] == 1)
        // Concurrency is halved to 4: with one in flight, three more enter and a fifth waits for a slot.
        for _ in 0..<3 { try await limiter.enter(host: "reg", admission: .request) }
        let fifth = Task { try await limiter.enter(host: "reg", admission: .request); return ContinuousClock.now }
        try await Task.sleep(for: .milliseconds(100))
        let freed = ContinuousClock.now
        await limiter.leave(host: "reg", admission: .request, status: 200, retryAfter: nil)
        #expect(try await fifth.value >= freed)
        // Each success gives a slot back: after four more, eight run at once again.
        for _ in 0..<4 { await limiter.leave(host: "reg", admission: .request, status: 200, retryAfter: nil) }
        for _ in 0..<8 { try await limiter.enter(host: "reg", admission: .request) }
        #expect(await limiter.peak["reg"] == 8)
    }

    @Test("an isolated 429 or 503 pauses nothing (its own retry waits); three 503s within a second pause the host")
    func isolatedVersusBurst() async throws {
        let limiter = RateLimiter()
        try await limiter.enter(host: "reg", admission: .request)
        await limiter.leave(host: "reg", admission: .request, status: 429, retryAfter: .seconds(5))
        try await Task.sleep(for: .milliseconds(1100))
        try await limiter.enter(host: "reg", admission: .request)
        await limiter.leave(host: "reg", admission: .request, status: 503, retryAfter: nil)
        try await limiter.enter(host: "reg", admission: .request)
        #expect(await limiter.waited["reg"] == nil, "an isolated 503 delays no other request")
        await limiter.leave(host: "reg", admission: .request, status: 200, retryAfter: nil)
        #expect(await limiter.pauses["reg"] == nil)
        for _ in 0..<3 {
            try await limiter.enter(host: "burst", admission: .request)
            await limiter.leave(host: "burst", admission: .request, status: 503, retryAfter: nil)
        }
        #expect(await limiter.pauses["burst"] == 1)
        let start = ContinuousClock.now
        try await limiter.enter(host: "burst", admission: .request)
        #expect(await limiter.waited["burst"] == 1)
        #expect(ContinuousClock.now - start >= .milliseconds(350))
        // 3 503s among 60 answers within a second are a background, not a burst.
        for i in 0..<60 {
            try await limiter.enter(host: "busy", admission: .request)
            await limiter.leave(host: "busy", admission: .request, status: i % 20 == 19 ? 503 : 200, retryAfter: nil)
        }
        #expect(await limiter.throttled["busy"] == 3)
        #expect(await limiter.pauses["busy"] == nil)
        #expect(await limiter.waited["busy"] == nil)
    }

    @Test("a few throttles among a run's last answers are no burst when the host's background rate explains them; a run of them still is")
    func burstAgainstBackground() async throws {
        let limiter = RateLimiter()
        func answer(_ status: Int) async throws {
            try await limiter.enter(host: "flaky", admission: .request)
            await limiter.leave(host: "flaky", admission: .request, status: status, retryAfter: nil)
        }
        // A background of 8 throttles in 100 answers, then a second later a tail of 12 answers with 3 throttles: a
        // quarter of the last second's answers, as likely as not from that background.
        for i in 0..<100 { try await answer(i % 12 == 11 ? 503 : 200) }
        try await Task.sleep(for: .milliseconds(1100))
        for i in 0..<12 { try await answer(i % 4 == 3 ? 503 : 200) }
        #expect(await limiter.throttled["flaky"] == 11)
        #expect(await limiter.pauses["flaky"] == nil)
        // The host now answers nothing but 503s: that is an overload.
        for _ in 0..<5 { try await answer(503) }
        #expect(await limiter.pauses["flaky"] == 1)
    }

    @Test("the first answers of a run being 503s is no burst while most requests are still in flight")
    func burstCountsRequestsInFlight() async throws {
        let limiter = RateLimiter()
        for _ in 0..<24 { try await limiter.enter(host: "reg", admission: .request) }
        // A refusal comes back before the served answers do.
        for _ in 0..<3 { await limiter.leave(host: "reg", admission: .request, status: 503, retryAfter: nil) }
        #expect(await limiter.pauses["reg"] == nil)
        // The rest are refused too: the host is overloaded.
        for _ in 0..<6 { await limiter.leave(host: "reg", admission: .request, status: 503, retryAfter: nil) }
        #expect(await limiter.pauses["reg"] == 1)
    }

    @Test("backoff doubles while the same step keeps failing and starts again when another step fails")
    func backoffPerStep() {
        struct Failed: TemporaryError { var step: String?; var isTemporary: Bool { true }; var failedStep: String? { step } }
        var b = Retrier.Backoff(first: .milliseconds(500), max: .seconds(3))
        let waits = [Failed(step: "POST /mount"), Failed(step: "PUT /up"), Failed(step: "PUT /up"), Failed(step: "GET /blob"),
                     Failed(step: "GET /blob"), Failed(step: "GET /blob"), Failed(step: "GET /blob"), Failed(step: "GET /blob")]
            .map { b.wait(after: $0) }
        #expect(waits == [.milliseconds(500), .milliseconds(500), .seconds(1), .milliseconds(500), .seconds(1), .seconds(2),
                          .seconds(3), .seconds(3)])
        // Errors that name no step escalate as one.
        var unknown = Retrier.Backoff(first: .milliseconds(100), max: .seconds(3))
        let plain = (0..<3).map { _ in unknown.wait(after: Failed(step: nil)) }
        #expect(plain == [.milliseconds(100), .milliseconds(200), .milliseconds(400)])
    }

    @Test("the binomial tail that tells a burst from a background")
    func binomialTail() {
        #expect(abs(RateLimiter.binomialTail(atLeast: 3, of: 3, rate: 0.05) - 0.000125) < 1e-9)
        #expect(abs(RateLimiter.binomialTail(atLeast: 1, of: 2, rate: 0.5) - 0.75) < 1e-12)
        #expect(abs(RateLimiter.binomialTail(atLeast: 3, of: 12, rate: 0.08) - 0.0652) < 1e-3)
        #expect(RateLimiter.binomialTail(atLeast: 0, of: 5, rate: 0.1) == 1)
        #expect(RateLimiter.binomialTail(atLeast: 6, of: 5, rate: 0.1) == 0)
        #expect(RateLimiter.binomialTail(atLeast: 2, of: 5, rate: 0) == 0)
    }

    @Test("a request's own retry waits exactly the Retry-After its answer gave")
    func retryAfterPerRequest() async throws {
        struct Throttled: TemporaryError { var isTemporary: Bool { true }; var retryAfter: Duration? { .milliseconds(600) } }
        var calls = 0
        let start = ContinuousClock.now
        let value = try await Retrier(attempts: 2, firstDelay: .milliseconds(10), logger: Logger(label: "t")).run("x") {
            calls += 1
            if calls == 1 { throw Throttled() }
            return 7
        }
        #expect(value == 7 && calls == 2)
        #expect(ContinuousClock.now - start >= .milliseconds(580))
    }

    @Test("limit flags parse, and bad ones are named")
    func flags() throws {
        let l = try RateLimiter.Limits.parse(rateLimits: ["docker.io=5/s", "127.0.0.1:5000=2.5"],
                                             maxConnections: ["docker.io=4"])
        #expect(l["docker.io"] == .init(maxConnections: 4, requestsPerSecond: 5))
        #expect(l["127.0.0.1:5000"]?.requestsPerSecond == 2.5)
        #expect(throws: RateLimitError.self) { try RateLimiter.Limits.parse(rateLimits: ["nohost"], maxConnections: []) }
        #expect(throws: RateLimitError.self) { try RateLimiter.Limits.parse(rateLimits: [], maxConnections: ["h=0"]) }
    }
}
