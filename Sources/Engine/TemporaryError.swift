/// An error that says whether trying again may succeed. Transports' errors conform, so the engine can retry
/// without knowing any transport.
public protocol TemporaryError: Error {
    /// Whether a retry may succeed (network failures, 5xx, 429).
    var isTemporary: Bool { get }
    /// How long the server asked to wait before trying again (`Retry-After`), when it said.
    var retryAfter: Duration? { get }
    /// Which step of an operation failed (a request's method and route), when known: a retry backs off further
    /// only while the same step keeps failing, since a different step failing is a new, independent failure.
    var failedStep: String? { get }
}

extension TemporaryError {
    public var retryAfter: Duration? { nil }
    public var failedStep: String? { nil }
}

/// An error that asks for an operation to be started again at once, as a step of the operation rather than a
/// failure (an upload that must begin anew in the mode the registry just asked for): a `Retrier` runs it again
/// without counting an attempt or waiting, a few times at most.
public protocol RestartRequest: Error {}

extension Error {
    /// Whether this error is known to be temporary.
    public var isTemporaryFailure: Bool { (self as? any TemporaryError)?.isTemporary ?? false }
}

/// An error in which a destination says it hashed the blob it was sent and the digest did not match: the bytes are
/// bad (as `BlobVerificationError` says from this end), not the transfer, so sending them again cannot help.
public protocol DigestRefusal: Error {
    /// Whether this error is such a refusal.
    var refusesDigest: Bool { get }
}
