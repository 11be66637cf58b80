import Logging

/// Retries temporary failures with exponential backoff and jitter; permanent ones fail at once.
///
/// A wait is at most `maxDelay` (with jitter), or exactly the `Retry-After` the server gave: this retries one
/// failed request, while a registry that asks a whole host to slow down (a burst of 429/503) is paused by the
/// rate limiter. Waits that kept doubling left a run idle at its tail for 8 s and more after a few unlucky failures.
///
/// The wait doubles only while the same step keeps failing (`TemporaryError.failedStep`): an operation made of
/// several requests (a blob's mount, GET and PUT) whose next request fails after the last one succeeded starts
/// again from `firstDelay`, because that failure is a new one, not the same endpoint still failing. Every failure
/// counts against `attempts`.
public struct Retrier: Sendable {
    public var attempts: Int
    public var firstDelay: Duration
    public var maxDelay: Duration = .seconds(3)
    public var logger: Logger

    public init(attempts: Int, firstDelay: Duration = .milliseconds(500), logger: Logger) {
        self.attempts = attempts
        self.firstDelay = firstDelay
        self.logger = logger
    }

    /// Runs `body`, retrying while it fails with a temporary error and attempts remain.
    public func run<T: Sendable>(_ what: @autoclosure () -> String, _ body: () async throws -> T) async throws -> T {
        var attempt = 0
        var restarts = 0
        var backoff = Backoff(first: firstDelay, max: maxDelay)
        while true {
            do {
                return try await body()
            } catch is any RestartRequest where restarts < 3 && !Task.isCancelled {
                restarts += 1
                logger.debug("\(what()): starting again (\(restarts))")
            } catch where error.isTemporaryFailure && attempt < attempts && !Task.isCancelled {
                attempt += 1
                logger.info("\(what()): \(error); retry \(attempt) of \(attempts)")
                let base = backoff.wait(after: error)
                // A server's Retry-After is honoured exactly (up to two minutes); otherwise backoff with jitter.
                if let asked = (error as? any TemporaryError)?.retryAfter {
                    try await Task.sleep(for: min(asked, .seconds(120)))
                } else {
                    try await Task.sleep(for: base * Double.random(in: 0.8...1.2))
                }
            }
        }
    }

    /// The waits between one operation's attempts, before jitter.
    struct Backoff {
        let first: Duration
        let max: Duration
        /// Consecutive failures of the same step, and that step.
        private var streak = 0
        private var lastStep: String?

        init(first: Duration, max: Duration) {
            self.first = first
            self.max = Swift.max(max, first)
        }

        /// The wait after `error` (before jitter, when it gave no `Retry-After`): `first`, doubled for each further
        /// failure of the same step, up to `max`.
        mutating func wait(after error: any Error) -> Duration {
            let step = (error as? any TemporaryError)?.failedStep
            streak = streak > 0 && (step == nil || step == lastStep) ? streak + 1 : 1
            lastStep = step
            return Swift.min(first * (1 << Swift.min(streak - 1, 16)), max)
        }
    }
}
