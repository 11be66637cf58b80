import Engine
import FoundationEssentials
import Glibc
import Synchronization

/// An OCI image layout folder: `oci-layout`, `index.json` and `blobs/<algorithm>/<hex>`, blobs shared by every
/// image in it.
///
/// Writes are crash-safe: a blob is streamed to a temporary name inside `blobs/`, its size and digest are
/// checked, it is flushed and only then renamed into place; `index.json` is replaced atomically. A reader never
/// sees a partial blob under its digest. A write cut short by `kill -9` leaves a temporary file named with its
/// PID (`.tmp-PID-…`), which the next writer to open the layout removes.
public final class OCILayout: Sendable {
    /// The annotation holding an image's name in `index.json` (OCI).
    public static let refNameAnnotation = "org.opencontainers.image.ref.name"
    /// containerd's annotation for the full image name.
    public static let containerdNameAnnotation = "io.containerd.image.name"

    public let path: String
    /// Serialises read-modify-write cycles of `index.json` within this process.
    private let indexLock = Mutex(())
    /// Blobs this instance wrote and checked, so reading them back (to archive them) need not hash them again.
    private let checked = Mutex(Set<Digest>())

    /// Opens a layout; with `create`, makes the folder and its `oci-layout` and `index.json` when missing.
    public init(path: String, create: Bool) throws {
        self.path = path
        let fm = FileManager.default
        if create {
            try fm.createDirectory(atPath: "\(path)/blobs/sha256", withIntermediateDirectories: true)
            if !fm.fileExists(atPath: "\(path)/oci-layout") {
                try AtomicFile.write(#"{"imageLayoutVersion":"1.0.0"}"#, to: "\(path)/oci-layout")
            }
            if !fm.fileExists(atPath: "\(path)/index.json") {
                try AtomicFile.write(#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#,
                                     to: "\(path)/index.json")
            }
            LeftoverFiles.sweep("\(path)/blobs/sha256") { LeftoverFiles.pid(in: $0, after: ".tmp-", before: "-") }
        }
        guard fm.fileExists(atPath: "\(path)/oci-layout") else {
            throw LayoutError(path: path, reason: "not an OCI image layout (no oci-layout file)")
        }
    }

    /// Where a blob lives. The digest's hex is validated by `Digest`, so the path cannot leave `blobs/`.
    public func blobPath(_ digest: Digest) -> String { "\(path)/blobs/\(digest.algorithm.rawValue)/\(digest.hex)" }

    /// The size of a stored blob, or nil when absent.
    public func blobSize(_ digest: Digest) -> Int64? {
        FileStatus(path: blobPath(digest))?.size
    }

    // MARK: index.json

    /// The parsed `index.json`.
    public func index() throws -> ImageIndex {
        let file = "\(path)/index.json"
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: file)) } catch {
            throw LayoutError(path: file, reason: "cannot read")
        }
        guard data.count <= RawManifest.maxSize else { throw LayoutError(path: file, reason: "larger than 4 MiB") }
        do { return try JSONDecoder().decode(ImageIndex.self, from: data) } catch {
            throw LayoutError(path: file, reason: "not a valid image index: \(String(describing: error).prefix(200))")
        }
    }

    /// The `index.json` entry named `name` (by either name annotation).
    public func entry(named name: String) throws -> Descriptor? {
        try Self.entry(named: name, in: index())
    }

    /// Every named entry, in index order.
    public func names() throws -> [String] {
        try index().manifests.compactMap(Self.name(of:))
    }

    /// An entry's image name: containerd's full name when present (Docker ≥ 25 and containerd put only the tag
    /// in `org.opencontainers.image.ref.name`), else the OCI ref name. dray writes the full reference in both.
    public static func name(of entry: Descriptor) -> String? {
        entry.annotations?[containerdNameAnnotation] ?? entry.annotations?[refNameAnnotation]
    }

    /// The last entry of `index` named `name` by either annotation.
    public static func entry(named name: String, in index: ImageIndex) -> Descriptor? {
        index.manifests.last { $0.annotations?[containerdNameAnnotation] == name || $0.annotations?[refNameAnnotation] == name }
    }

    /// Points `name` at `descriptor` (replacing an entry of the same name), atomically.
    public func setEntry(_ descriptor: Descriptor, named name: String) throws {
        try indexLock.withLock { _ in
            let index = Self.naming(try index(), descriptor, name)
            try AtomicFile.write(try Self.encode(index), to: "\(path)/index.json")
        }
    }

    /// `index` with `name` pointing at `descriptor`, as `setEntry` writes it: the entry of the same name is
    /// replaced and the new one appended, carrying both name annotations and no platform.
    public static func naming(_ index: ImageIndex, _ descriptor: Descriptor, _ name: String) -> ImageIndex {
        var index = index
        var d = descriptor
        var annotations = d.annotations ?? [:]
        annotations[refNameAnnotation] = name
        annotations[containerdNameAnnotation] = name
        d.annotations = annotations
        d.platform = nil
        index.manifests.removeAll { $0.annotations?[refNameAnnotation] == name }
        index.manifests.append(d)
        index.mediaType = .ociIndex
        return index
    }

    /// The bytes of an `index.json`.
    public static func encode(_ index: ImageIndex) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(index))
    }

    // MARK: Blobs

    /// Stores a blob from `stream`, checking size and digest before it gets its name. An existing blob is kept.
    public func writeBlob(_ descriptor: Descriptor, from stream: any BlobStream) async throws {
        if blobSize(descriptor.digest) == descriptor.size {
            stream.cancel()
            return
        }
        let dir = "\(path)/blobs/\(descriptor.digest.algorithm.rawValue)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let temp = "\(dir)/.tmp-\(getpid())-\(descriptor.digest.hex.prefix(16))-\(UInt64.random(in: 0...UInt64.max))"
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw LayoutError(path: temp, reason: String(cString: strerror(errno))) }
        LeftoverFiles.claim(fd)
        var closed = false
        var renamed = false
        defer {
            if !closed { close(fd) }
            if !renamed { unlink(temp) }
        }
        // A stream that verifies itself against this descriptor has checked the bytes once they end; hashing
        // them again here would only double the CPU time of a save.
        let preverified = (stream as? VerifyingStream).map { $0.checksDigest && $0.expected == descriptor } ?? false
        var hasher = Hasher256(algorithm: descriptor.digest.algorithm)
        var written: Int64 = 0
        while let chunk = try await stream.next() {
            if !preverified { hasher.update(chunk) }
            written += Int64(chunk.count)
            guard chunk.withUnsafeBytes({ FileDescriptorIO.writeAll(fd, $0) }) else {
                throw LayoutError(path: blobPath(descriptor.digest), reason: "write failed: \(String(cString: strerror(errno)))")
            }
        }
        guard written == descriptor.size else {
            throw BlobVerificationError.tooShort(digest: descriptor.digest, expected: descriptor.size, got: written)
        }
        if !preverified {
            let actual = hasher.finalize()
            guard actual == descriptor.digest else {
                throw BlobVerificationError.digestMismatch(expected: descriptor.digest, actual: actual)
            }
        }
        guard fsync(fd) == 0 else { throw LayoutError(path: temp, reason: "cannot flush: \(String(cString: strerror(errno)))") }
        close(fd)
        closed = true
        guard rename(temp, blobPath(descriptor.digest)) == 0 else {
            throw LayoutError(path: blobPath(descriptor.digest), reason: String(cString: strerror(errno)))
        }
        renamed = true
        _ = checked.withLock { $0.insert(descriptor.digest) }
    }

    /// Whether this instance wrote `digest` itself, checked against its digest.
    public func wroteChecked(_ digest: Digest) -> Bool { checked.withLock { $0.contains(digest) } }

    /// Reads a whole small blob (a manifest or config), checking its digest.
    public func readBlob(_ digest: Digest, limit: Int = RawManifest.maxSize) throws -> [UInt8] {
        let file = blobPath(digest)
        guard let size = blobSize(digest) else { throw LayoutError(path: file, reason: "missing blob \(digest)") }
        guard size <= Int64(limit) else { throw LayoutError(path: file, reason: "blob \(digest) larger than \(limit) bytes") }
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: file)))
        var h = Hasher256(algorithm: digest.algorithm)
        h.update(bytes)
        guard h.finalize() == digest else {
            throw LayoutError(path: file, reason: "blob \(digest) is corrupted (its content has another digest)")
        }
        return bytes
    }
}

/// A layout that cannot be used, naming the file.
public struct LayoutError: Error, Sendable, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "\(path): \(reason)" }
}

/// Streams a file in chunks (read by `FileSource`, straight into each chunk).
public final class FileBlobStream: BlobStream, @unchecked Sendable {
    private let file: FileSource
    private let chunkSize: Int
    private let lock = Mutex(())
    private var cancelled = false

    public init(path: String, chunkSize: Int = 256 * 1024) throws {
        guard FileManager.default.isReadableFile(atPath: path) else { throw LayoutError(path: path, reason: "cannot open") }
        file = FileSource(file: path)
        self.chunkSize = chunkSize
    }

    public func next() async throws -> [UInt8]? {
        try lock.withLock { _ in
            if cancelled { throw CancellationError() }
            return try file.read(max: chunkSize)
        }
    }

    public func cancel() { lock.withLock { _ in cancelled = true } }
}
