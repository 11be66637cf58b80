import Logging

/// Retries temporary failures with exponential backoff and jitter; permanent ones fail at once.
public struct Retrier: Sendable {
    public var attempts: Int
    public var firstDelay: Duration
    public var logger: Logger

    public init(attempts: Int, firstDelay: Duration = .milliseconds(500), logger: Logger) {
        self.attempts = attempts
        self.firstDelay = firstDelay
        self.logger = logger
    }

    /// Runs `body`, retrying while it fails with a temporary error and attempts remain.
    public func run<T: Sendable>(_ what: @autoclosure () -> String, _ body: () async throws -> T) async throws -> T {
        var attempt = 0
        while true {
            do {
                return try await body()
            } catch where error.isTemporaryFailure && attempt < attempts && !Task.isCancelled {
                attempt += 1
                let base = firstDelay * (1 << (attempt - 1))
                logger.info("\(what()): \(error); retry \(attempt) of \(attempts)")
                try await Task.sleep(for: base * Double.random(in: 0.8...1.2))
            }
        }
    }
}
