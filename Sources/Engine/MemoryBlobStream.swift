import Synchronization

/// A blob held in memory, streamed in chunks.
///
/// A blob given as one array is handed out in slices of at most `chunkSize` bytes; one given as a list of chunks
/// (as read from an archive) is handed out chunk by chunk, without copying.
public final class MemoryBlobStream: BlobStream {
    private let chunks: [[UInt8]]
    private let chunkSize: Int
    /// (chunk, offset in it); a negative chunk once cancelled.
    private let position = Mutex((0, 0))

    public init(_ bytes: [UInt8], chunkSize: Int = 256 * 1024) {
        self.chunks = bytes.isEmpty ? [] : [bytes]
        self.chunkSize = max(1, chunkSize)
    }

    /// A blob made of `chunks`, streamed as they are.
    public init(chunks: [[UInt8]]) {
        self.chunks = chunks.filter { !$0.isEmpty }
        self.chunkSize = .max
    }

    public func next() async throws -> [UInt8]? {
        try position.withLock { p in
            if p.0 < 0 { throw CancellationError() }
            guard p.0 < chunks.count else { return nil }
            let chunk = chunks[p.0]
            if p.1 == 0, chunk.count <= chunkSize {
                p.0 += 1
                return chunk
            }
            let end = min(p.1 + chunkSize, chunk.count)
            defer { p = end == chunk.count ? (p.0 + 1, 0) : (p.0, end) }
            return Array(chunk[p.1..<end])
        }
    }

    public func cancel() { position.withLock { $0 = (-1, 0) } }
}
