/// Admits requests to registries. Transports call `enter` before a request and `leave` when it is over, so a
/// gate can cap connections, pace requests and back off a whole host after 429/503.
public protocol RequestGate: Sendable {
    /// Waits until a request to `host` may start.
    func enter(host: String, admission: Admission) async throws
    /// Records the end of a request: its HTTP status (nil for a transport failure) and any `Retry-After`.
    func leave(host: String, admission: Admission, status: Int?, retryAfter: Duration?) async
}

/// What kind of request asks a gate to start.
public enum Admission: Sendable, Equatable {
    /// A small request (a check, a manifest, a token): it may take the last free slot.
    case request
    /// A blob transfer, which leaves the last slot to small requests.
    case bulk
    /// A broken blob download resumed from where it stopped. It carries on a transfer already admitted, whose
    /// upload may hold the other registry's slots while it waits: it never waits for a slot (waiting could close
    /// a cycle with transfers that wait for that upload's registry), only for a host-wide pause and pacing.
    case continuation
}
