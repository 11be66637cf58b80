import Synchronization

/// Wraps a blob stream and checks its length and digest as the bytes pass.
///
/// The chunk that completes the blob is handed over only after the digest has been checked, so a consumer that
/// forwards chunks (an upload) never sends the final byte of corrupt content. A stream longer or shorter than the
/// descriptor fails too. With `checkingDigest: false` only the length is checked, for a consumer that checks
/// the digest itself (a registry refuses an upload whose bytes do not match the digest it is completed with).
public final class VerifyingStream: BlobStream {
    private struct State {
        var hasher: Hasher256?
        var seen: Int64 = 0
        var done = false
    }

    private let inner: any BlobStream
    /// The descriptor the bytes are checked against: a consumer that drains this stream to its end (nil) has
    /// bytes of exactly this size, and of this digest when `checksDigest`, and need not hash them again.
    public let expected: Descriptor
    /// Whether the digest is checked (else only the length).
    public let checksDigest: Bool
    private let state: Mutex<State>

    public init(_ inner: any BlobStream, expecting descriptor: Descriptor, checkingDigest: Bool = true) {
        self.inner = inner
        self.expected = descriptor
        self.checksDigest = checkingDigest
        self.state = Mutex(State(hasher: checkingDigest ? Hasher256(algorithm: descriptor.digest.algorithm) : nil))
    }

    /// The wrapped stream itself, for a consumer that forwards its bytes without looking at them and checks their
    /// count against `expected.size` on its own; only while this stream checks no digest and has handed out
    /// nothing yet.
    public var forwardableInner: (any BlobStream)? {
        state.withLock { s in checksDigest || s.seen > 0 || s.done ? nil : inner }
    }

    /// Checks the digest at the end of the blob (when this stream checks digests).
    private func finish(_ s: inout State) throws(BlobVerificationError) {
        if let actual = s.hasher?.finalize(), actual != expected.digest {
            throw .digestMismatch(expected: expected.digest, actual: actual)
        }
        s.done = true
    }

    public func next() async throws -> [UInt8]? {
        if state.withLock({ $0.done }) { return nil }
        guard let chunk = try await inner.next() else {
            // Only an empty blob can end before any byte completed it.
            try state.withLock { s in
                guard s.seen == 0, expected.size == 0 else {
                    throw BlobVerificationError.tooShort(digest: expected.digest, expected: expected.size, got: s.seen)
                }
                try finish(&s)
            }
            return nil
        }
        try state.withLock { s in
            s.hasher?.update(chunk)
            s.seen += Int64(chunk.count)
            if s.seen > expected.size {
                throw BlobVerificationError.tooLong(digest: expected.digest, expected: expected.size)
            }
            if s.seen == expected.size { try finish(&s) }
        }
        return chunk
    }

    public func cancel() { inner.cancel() }
}

/// A blob that did not match its descriptor.
public enum BlobVerificationError: Error, Sendable, Equatable, CustomStringConvertible {
    case digestMismatch(expected: Digest, actual: Digest)
    case tooShort(digest: Digest, expected: Int64, got: Int64)
    case tooLong(digest: Digest, expected: Int64)

    public var description: String {
        switch self {
        case .digestMismatch(let e, let a): "blob digest mismatch: expected \(e), got \(a)"
        case .tooShort(let d, let e, let g): "blob \(d) ended after \(g) of \(e) bytes"
        case .tooLong(let d, let e): "blob \(d) is longer than its descriptor's \(e) bytes"
        }
    }
}
