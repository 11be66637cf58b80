import Synchronization

/// A blob held in memory, streamed in chunks of at most `chunkSize` bytes.
public final class MemoryBlobStream: BlobStream {
    private let bytes: [UInt8]
    private let chunkSize: Int
    private let offset = Mutex(0)

    public init(_ bytes: [UInt8], chunkSize: Int = 256 * 1024) {
        self.bytes = bytes
        self.chunkSize = max(1, chunkSize)
    }

    public func next() async throws -> [UInt8]? {
        try offset.withLock { o in
            if o < 0 { throw CancellationError() }
            guard o < bytes.count else { return nil }
            let end = min(o + chunkSize, bytes.count)
            defer { o = end }
            return Array(bytes[o..<end])
        }
    }

    public func cancel() { offset.withLock { $0 = -1 } }
}
