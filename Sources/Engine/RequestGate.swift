/// Admits requests to registries. Transports call `enter` before a request and `leave` when it is over, so a
/// gate can cap connections, pace requests and back off a whole host after 429/503.
public protocol RequestGate: Sendable {
    /// Waits until a request to `host` may start. `bulk` marks blob transfers, which may not take the last slots.
    func enter(host: String, bulk: Bool) async throws
    /// Records the end of a request: its HTTP status (nil for a transport failure) and any `Retry-After`.
    func leave(host: String, bulk: Bool, status: Int?, retryAfter: Duration?) async
}
