import Engine
import FoundationEssentials
import Synchronization

/// A host's request budget as announced by `RateLimit-Limit` / `RateLimit-Remaining` (Docker Hub: `100;w=21600`,
/// counting manifest GETs in a window of `w` seconds; docs.docker.com/docker-hub/usage/pulls), kept so requests
/// that count stop before the budget runs out instead of running into 429s.
///
/// Counted requests (manifest GETs) are admitted while the estimate of what is left stays above the minimum;
/// below it the host's counted requests wait out one window (which a sliding or fixed window both refill), or
/// fail at once when the window is longer than `maxWait` (Docker Hub's 6 hours), saying so.
public final class RateLimitBudget: Sendable {
    /// A reading of the headers.
    public struct Reading: Sendable, Equatable {
        public var limit: Int
        public var remaining: Int
        public var window: Int?
    }

    struct State {
        var last: Reading?
        /// What is left, counting requests admitted since the last reading.
        var estimate: Int?
        var inFlight = 0
        var pausedUntil: ContinuousClock.Instant?
    }

    private let state = Mutex(State())

    public init() {}

    /// The last reading, nil when the host never sent the headers.
    public var last: Reading? { state.withLock { $0.last } }

    /// Parses `RateLimit-Limit` and `RateLimit-Remaining` (`N` or `N;w=S`).
    static func reading(_ headers: HTTPHeaders) -> Reading? {
        func parse(_ v: String?) -> (Int, Int?)? {
            guard let v else { return nil }
            let parts = v.split(separator: ";").map { $0.trimmingSpaces() }
            guard let first = parts.first, let n = Int(first.split(separator: ",").first ?? "") else { return nil }
            let w = parts.dropFirst().first { $0.hasPrefix("w=") }.flatMap { Int($0.dropFirst(2)) }
            return (n, w)
        }
        guard let (limit, w1) = parse(headers["RateLimit-Limit"]), let (remaining, w2) = parse(headers["RateLimit-Remaining"])
        else { return nil }
        return Reading(limit: limit, remaining: remaining, window: w2 ?? w1)
    }

    /// Waits until a counted request may go without spending the last `minimum`; throws when that would take
    /// longer than `maxWait`.
    func admit(minimum: Int, maxWait: Duration, host: String) async throws {
        while true {
            let wait: Duration? = try state.withLock { s in
                let now = ContinuousClock.now
                if let until = s.pausedUntil {
                    if until > now { return until - now }
                    s.pausedUntil = nil
                    // The window has passed: the budget is whole again until a reading says otherwise.
                    if let last = s.last { s.estimate = last.limit - s.inFlight }
                }
                guard let estimate = s.estimate, let last = s.last, estimate <= minimum else {
                    s.estimate = s.estimate.map { $0 - 1 }
                    s.inFlight += 1
                    return nil
                }
                let window = Duration.seconds(last.window ?? 60)
                guard window <= maxWait else {
                    throw RateLimitExhausted(host: host, reading: last, minimum: minimum)
                }
                s.pausedUntil = now + window
                return window
            }
            guard let wait else { return }
            try await Task.sleep(for: wait)
        }
    }

    /// Records a counted request's answer (with its headers, when it carried them).
    func answered(_ headers: HTTPHeaders?, counted: Bool) {
        let reading = headers.flatMap(Self.reading)
        state.withLock { s in
            if counted { s.inFlight = max(0, s.inFlight - 1) }
            guard let reading else { return }
            s.last = reading
            // Requests still in flight will each spend one more.
            s.estimate = reading.remaining - s.inFlight
        }
    }
}

/// A host's announced budget is down to the minimum and its window is too long to wait for.
public struct RateLimitExhausted: Error, Sendable, CustomStringConvertible {
    public let host: String
    public let reading: RateLimitBudget.Reading
    public let minimum: Int
    public var description: String {
        "\(host): \(reading.remaining) of \(reading.limit) requests left" + (reading.window.map { " per \($0) s" } ?? "")
            + " (RateLimit-Remaining); stopped to keep the last \(minimum) (--ratelimit-min)"
    }
}
