/// Per-registry caps and pacing for a run: at most `maxConnections` requests in flight per host (bulk transfers
/// leave one slot to small requests, so existence checks and manifests are never starved), at most
/// `requestsPerSecond` started per host, and a host-wide pause when the host is overloaded.
///
/// Overload is a burst of throttling answers across requests: within the last second, at least 3 429s or 503s
/// making at least a quarter of the host's answers (counting requests still in flight), and more than the host's
/// background rate of them explains (a binomial tail below 1 in 1,000 against the rate seen before that second).
/// A 5 % background of 503s at 50 requests a second is no burst, nor are 3 of the last 12 answers when 8 % of all
/// answers were 503s and 429s (a run's tail, with few requests left in flight), nor 3 quick 503s while 20 requests
/// are still on their way; 3 in a row from a host that has answered well are. The pause honours
/// the largest `Retry-After` given exactly (exponential backoff with jitter otherwise) and halves the connection
/// cap, which grows back by one with each success after it. An isolated 429 or 503 pauses nothing: that request
/// is retried on its own (after exactly its `Retry-After`, when given) while the others go on.
public actor RateLimiter: RequestGate {
    /// Limits for one host; nil means unlimited.
    public struct Limits: Sendable, Hashable {
        public var maxConnections: Int?
        public var requestsPerSecond: Double?
        public init(maxConnections: Int? = nil, requestsPerSecond: Double? = nil) {
            self.maxConnections = maxConnections
            self.requestsPerSecond = requestsPerSecond
        }
    }

    private struct Host {
        var limits: Limits
        var active = 0
        /// The cap in force (lowered after throttling, raised back gradually).
        var cap: Int?
        var tokens: Double
        var lastRefill: ContinuousClock.Instant
        var pausedUntil: ContinuousClock.Instant?
        var strikes = 0
        /// Throttling answers of the last second (with their Retry-After), telling a burst from an isolated one.
        var recentThrottles: [(at: ContinuousClock.Instant, retryAfter: Duration?)] = []
        /// When the host's answers of the last second came (every status).
        var recentAnswers: [ContinuousClock.Instant] = []
        /// Answers and throttling answers from before the last second, the host's background rate (throttles that
        /// made a burst are not counted: they were the overload, not the background).
        var olderAnswers = 0
        var olderThrottles = 0
        /// The cap before the last pause, what successes grow it back to when no cap is configured.
        var capBeforePause: Int?
        var waiters: [(id: Int, bulk: Bool, continuation: CheckedContinuation<Void, any Error>)] = []
    }

    private let limitsFor: @Sendable (String) -> Limits
    private var hosts: [String: Host] = [:]
    private var nextID = 0
    /// Requests started per host (for reports and tests).
    public private(set) var started: [String: Int] = [:]
    /// Highest concurrency seen per host.
    public private(set) var peak: [String: Int] = [:]
    /// Throttling answers (429/503) seen per host.
    public private(set) var throttled: [String: Int] = [:]
    /// Host-wide pauses per host (bursts of throttling answers).
    public private(set) var pauses: [String: Int] = [:]
    /// Entries per host that had to wait: for a pause, a connection slot or a pacing token.
    public private(set) var waited: [String: Int] = [:]

    /// Entries waiting for a connection slot at a host now.
    public func waiting(host name: String) -> Int { hosts[name]?.waiters.count ?? 0 }

    public init(limits: [String: Limits] = [:], defaults: Limits = Limits()) {
        limitsFor = { limits[$0] ?? defaults }
    }

    /// A limiter whose limits for a host come from `limits(host)` (asked once per host: a registry profile).
    public init(limits: @escaping @Sendable (String) -> Limits) {
        limitsFor = limits
    }

    private func host(_ name: String) -> Host {
        if let h = hosts[name] { return h }
        let limits = limitsFor(name)
        return Host(limits: limits, cap: limits.maxConnections, tokens: max(1, limits.requestsPerSecond ?? 1),
                    lastRefill: .now)
    }

    public func enter(host name: String, admission: Admission) async throws {
        // Wait out a host-wide pause, then for a connection slot (a continuation takes one at once), then for a
        // pacing token.
        var didWait = false
        while let until = host(name).pausedUntil, until > .now {
            didWait = true
            try await Task.sleep(until: until, clock: .continuous)
        }
        if admission == .continuation {
            var h = host(name)
            h.active += 1
            hosts[name] = h
        } else {
            if try await acquireSlot(name, bulk: admission == .bulk) { didWait = true }
        }
        do {
            if try await takeToken(name) { didWait = true }
        } catch {
            releaseSlot(name)
            throw error
        }
        if didWait { waited[name, default: 0] += 1 }
        started[name, default: 0] += 1
        let active = hosts[name]!.active
        peak[name] = max(peak[name] ?? 0, active)
    }

    public func leave(host name: String, admission: Admission, status: Int?, retryAfter: Duration?) {
        var h = host(name)
        let now = ContinuousClock.now
        if status != nil {
            if let first = h.recentAnswers.first, now - first >= .seconds(1) {
                let before = h.recentAnswers.count
                h.recentAnswers.removeAll { now - $0 >= .seconds(1) }
                h.olderAnswers += before - h.recentAnswers.count
            }
            h.recentAnswers.append(now)
        }
        if status == 429 || status == 503 {
            throttled[name, default: 0] += 1
            let before = h.recentThrottles.count
            h.recentThrottles = h.recentThrottles.filter { now - $0.at < .seconds(1) } + [(now, retryAfter)]
            h.olderThrottles += before + 1 - h.recentThrottles.count
            // An isolated answer is that request's (its retry waits); a burst across requests is the host.
            // Requests still in flight count as answers not (yet) throttled: a throttling answer often comes back
            // faster than a served one (a proxy or load balancer refusing at once), so the first answers of a run
            // are mostly its few 503s, 3 of the first 4 while 20 more are on their way.
            let k = h.recentThrottles.count, n = h.recentAnswers.count + max(0, h.active - 1)
            // The background rate, starting from 1 in 20 until the host has answered for a while.
            let background = Double(h.olderThrottles + 1) / Double(h.olderAnswers + 20)
            if k >= 3 && k * 4 >= n && Self.binomialTail(atLeast: k, of: n, rate: background) < 0.001 {
                // Requests in flight when the host pushed back answer alike: they are one strike, not many, or a
                // burst of parallel 429s would escalate the pause to minutes.
                let fresh = h.pausedUntil.map { $0 <= now } ?? true
                if fresh {
                    h.strikes += 1
                    pauses[name, default: 0] += 1
                }
                let asked = h.recentThrottles.compactMap(\.retryAfter).max()
                let backoff = asked
                    ?? .milliseconds(Int64(500 * (1 << min(h.strikes - 1, 7))) ) * Double.random(in: 0.8...1.2)
                let until = now + min(backoff, .seconds(120))
                h.pausedUntil = max(h.pausedUntil ?? until, until)
                // Halve the concurrency in force (at least 1); with no configured cap, start from what was running.
                if fresh { h.capBeforePause = h.cap ?? max(h.active, 2) }
                h.cap = max(1, (h.cap ?? max(h.active, 2)) / 2)
                h.recentThrottles = []
            }
        } else if let status, status < 500 {
            h.strikes = 0
            // Concurrency comes back as soon as requests succeed: one more slot per success, up to the cap in
            // force before the pause (or the configured one).
            if let cap = h.cap {
                if let limit = h.limits.maxConnections {
                    h.cap = min(cap + 1, limit)
                } else {
                    // Unlimited again once back where it was.
                    h.cap = cap + 1 >= (h.capBeforePause ?? cap) ? nil : cap + 1
                }
            }
        }
        hosts[name] = h
        releaseSlot(name)
    }

    /// The chance of at least `k` successes in `n` trials of probability `rate` (1 when that cannot be computed).
    static func binomialTail(atLeast k: Int, of n: Int, rate p: Double) -> Double {
        guard k > 0 else { return 1 }
        guard k <= n, p > 0 else { return 0 }
        guard p < 1 else { return 1 }
        // 1 − P(X < k), the terms built from P(X = 0) = (1 − p)^n by their ratio.
        var term = 1.0
        for _ in 0..<n { term *= 1 - p }
        guard term > 0 else { return 1 }
        var below = 0.0
        for i in 0..<k {
            below += term
            term *= Double(n - i) / Double(i + 1) * p / (1 - p)
        }
        return max(0, 1 - below)
    }

    // MARK: Slots

    private func canStart(_ h: Host, bulk: Bool) -> Bool {
        guard let cap = h.cap else { return true }
        // Bulk transfers leave the last slot to small requests when there are at least two.
        let usable = bulk && cap >= 2 ? cap - 1 : cap
        return h.active < usable
    }

    /// Takes a connection slot; true when it had to wait for one.
    private func acquireSlot(_ name: String, bulk: Bool) async throws -> Bool {
        var h = host(name)
        if h.waiters.isEmpty || !bulk, canStart(h, bulk: bulk) {
            h.active += 1
            hosts[name] = h
            return false
        }
        let id = nextID
        nextID += 1
        hosts[name] = h
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
                if Task.isCancelled { c.resume(throwing: CancellationError()); return }
                var h = host(name)
                // Small requests queue ahead of bulk ones.
                let i = bulk ? h.waiters.endIndex : (h.waiters.firstIndex { $0.bulk } ?? h.waiters.endIndex)
                h.waiters.insert((id, bulk, c), at: i)
                hosts[name] = h
            }
        } onCancel: {
            Task { await self.cancelWaiter(name, id) }
        }
        return true
    }

    private func cancelWaiter(_ name: String, _ id: Int) {
        guard var h = hosts[name], let i = h.waiters.firstIndex(where: { $0.id == id }) else { return }
        let w = h.waiters.remove(at: i)
        hosts[name] = h
        w.continuation.resume(throwing: CancellationError())
    }

    private func releaseSlot(_ name: String) {
        guard var h = hosts[name] else { return }
        h.active -= 1
        // Hand freed slots to waiters in order, as far as the cap allows.
        var ready: [CheckedContinuation<Void, any Error>] = []
        while let i = h.waiters.firstIndex(where: { canStart(h, bulk: $0.bulk) }) {
            ready.append(h.waiters.remove(at: i).continuation)
            h.active += 1
        }
        hosts[name] = h
        for c in ready { c.resume() }
    }

    // MARK: Pacing

    /// Takes a pacing token; true when it had to wait for one.
    private func takeToken(_ name: String) async throws -> Bool {
        var slept = false
        while true {
            var h = host(name)
            guard let rate = h.limits.requestsPerSecond, rate > 0 else { return slept }
            let now = ContinuousClock.now
            h.tokens = min(max(1, rate), h.tokens + (now - h.lastRefill).inSeconds * rate)
            h.lastRefill = now
            if h.tokens >= 1 {
                h.tokens -= 1
                hosts[name] = h
                return slept
            }
            hosts[name] = h
            slept = true
            try await Task.sleep(for: .milliseconds(Int64(((1 - h.tokens) / rate * 1000).rounded(.up))))
        }
    }
}

extension RateLimiter.Limits {
    /// Parses `--rate-limit HOST=N/s` and `--max-connections HOST=N` values into per-host limits.
    public static func parse(rateLimits: [String], maxConnections: [String]) throws(RateLimitError) -> [String: Self] {
        var out: [String: Self] = [:]
        for spec in rateLimits {
            guard let eq = spec.lastIndex(of: "="), !spec[..<eq].isEmpty else { throw .invalid("--rate-limit", spec) }
            var value = spec[spec.index(after: eq)...]
            if value.hasSuffix("/s") { value = value.dropLast(2) }
            guard let rate = Double(value), rate > 0 else { throw .invalid("--rate-limit", spec) }
            out[String(spec[..<eq]), default: Self()].requestsPerSecond = rate
        }
        for spec in maxConnections {
            guard let eq = spec.lastIndex(of: "="), !spec[..<eq].isEmpty,
                  let n = Int(spec[spec.index(after: eq)...]), n >= 1
            else { throw .invalid("--max-connections", spec) }
            out[String(spec[..<eq]), default: Self()].maxConnections = n
        }
        return out
    }
}

/// A malformed limit flag.
public enum RateLimitError: Error, Sendable, CustomStringConvertible {
    case invalid(String, String)
    public var description: String {
        switch self {
        case .invalid("--rate-limit", let s): "--rate-limit: \"\(s.prefix(200))\" is not HOST=N/s"
        case .invalid(let flag, let s): "\(flag): \"\(s.prefix(200))\" is not HOST=N"
        }
    }
}
