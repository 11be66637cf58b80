/// A source's optional capability: its blobs are read in passes over the medium, in the medium's own order (an
/// archive streamed from its start), rather than one at a time on demand.
///
/// `MirrorEngine.run(_:passes:)` uses it: every image is planned first from the source's manifests (which such a
/// medium holds at its head), then each blob is placed as a pass reaches it, and a blob that could not be placed
/// (a refused mount, an upload cut part-way) waits for the next pass.
///
/// Call order: `preread` (any time), then `pass(wanting:)` as often as needed, one pass at a time.
public protocol BlobPasses: Sendable {
    /// Blobs already read before any pass (an archive's head: configs and other small blobs met on the way).
    var preread: [Digest: [UInt8]] { get }
    /// One pass over the medium from its start, yielding the blobs whose digests are in `wanted`, each once.
    func pass(wanting wanted: Set<Digest>) throws -> any BlobPass
}

/// One pass over a medium's blobs (see `BlobPasses`); used by one task.
public protocol BlobPass {
    /// The next wanted blob: its digest, its size and its content, readable until the next call; nil at the end.
    func next() async throws -> (digest: Digest, size: Int64, content: any BlobStream)?
}
