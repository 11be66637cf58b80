import Engine
import FoundationEssentials
import Synchronization

/// An OCI archive read as it streams, without extracting it: its head (`index.json`, every manifest, and the small
/// blobs dray writes before the layers) read once, a source for each named entry over that head, and passes over
/// the archive for the blobs (`BlobPasses`), which the mirror engine runs a load with
/// (`MirrorEngine.run(_:passes:medium:)`).
public final class ArchiveStream: BlobPasses, @unchecked Sendable {
    public let head: ArchiveCatalog.Head
    public let path: String
    /// The reader left just after the head, which the first pass goes on with (guarded by `lock`).
    private var resume: TarReader?
    private let lock = Mutex(())

    /// Reads the head of the archive at `path` (parts found automatically). Throws `ArchiveCatalog.ReadError.notOCI`
    /// for an archive without `index.json` (a `docker save` archive).
    public init(path: String) throws {
        let reader = TarReader(try ArchiveFormat.open(try FileSource(path: path)), allowSymlinks: true)
        self.head = try ArchiveCatalog.readHead(reader, path: path)
        self.path = path
        self.resume = reader
    }

    /// The source of the entry `name` (`host/repo:tag`, or a bare name; see `LayoutNaming`).
    public func source(named name: String) -> any ImageSource {
        ArchiveHeadSource(head: head, path: path, name: name)
    }

    public var preread: [Digest: [UInt8]] { head.blobs }

    public func pass(wanting wanted: Set<Digest>) throws -> any BlobPass {
        let reader = lock.withLock { _ -> TarReader? in
            defer { resume = nil }
            return resume
        }
        return Pass(reader: try reader ?? TarReader(try ArchiveFormat.open(try FileSource(path: path)), allowSymlinks: true), wanted: wanted)
    }

    /// One read of the archive: the wanted blob entries, in the archive's order.
    final class Pass: BlobPass {
        let reader: TarReader
        let wanted: Set<Digest>
        init(reader: TarReader, wanted: Set<Digest>) {
            self.reader = reader
            self.wanted = wanted
        }

        func next() async throws -> (digest: Digest, size: Int64, content: any BlobStream)? {
            while let e = try reader.next() {
                guard e.kind == .file, let digest = ArchiveCatalog.blobDigest(e.name), wanted.contains(digest) else { continue }
                return (digest, e.size, TarEntryStream(reader))
            }
            return nil
        }
    }
}

/// The content of the tar entry being read, as a blob stream.
final class TarEntryStream: BlobStream, @unchecked Sendable {
    private let reader: TarReader
    init(_ reader: TarReader) { self.reader = reader }
    func next() async throws -> [UInt8]? { try reader.readContent(max: 256 * 1024) }
    func cancel() {}
}
