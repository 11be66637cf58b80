/// An error that says whether trying again may succeed. Transports' errors conform, so the engine can retry
/// without knowing any transport.
public protocol TemporaryError: Error {
    /// Whether a retry may succeed (network failures, 5xx, 429).
    var isTemporary: Bool { get }
}

extension Error {
    /// Whether this error is known to be temporary.
    public var isTemporaryFailure: Bool { (self as? any TemporaryError)?.isTemporary ?? false }
}
