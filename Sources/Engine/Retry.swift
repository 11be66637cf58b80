import Logging

/// Retries temporary failures with exponential backoff and jitter; permanent ones fail at once.
///
/// A wait is at most `maxDelay` (with jitter), or exactly the `Retry-After` the server gave: this retries one
/// failed request, while a registry that asks a whole host to slow down (a burst of 429/503) is paused by the
/// rate limiter. Waits that kept doubling left a run idle at its tail for 8 s and more after a few unlucky failures.
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
        while true {
            do {
                return try await body()
            } catch is any RestartRequest where restarts < 3 && !Task.isCancelled {
                restarts += 1
                logger.debug("\(what()): starting again (\(restarts))")
            } catch where error.isTemporaryFailure && attempt < attempts && !Task.isCancelled {
                attempt += 1
                let base = min(firstDelay * (1 << min(attempt - 1, 16)), max(maxDelay, firstDelay))
                logger.info("\(what()): \(error); retry \(attempt) of \(attempts)")
                // A server's Retry-After is honoured exactly (up to two minutes); otherwise backoff with jitter.
                if let asked = (error as? any TemporaryError)?.retryAfter {
                    try await Task.sleep(for: min(asked, .seconds(120)))
                } else {
                    try await Task.sleep(for: base * Double.random(in: 0.8...1.2))
                }
            }
        }
    }
}
