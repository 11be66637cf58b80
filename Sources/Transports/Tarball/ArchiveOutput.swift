import Engine
import FoundationEssentials
import Synchronization

/// How an archive is compressed.
public enum ArchiveCompression: String, Sendable, CaseIterable {
    case gzip, zstd, none

    /// The usual file name ending.
    public var suffix: String {
        switch self {
        case .gzip: ".tar.gz"
        case .zstd: ".tar.zst"
        case .none: ".tar"
        }
    }
}

/// Where an archive is written: a file or split parts, with a compression.
public struct ArchiveOutput: Sendable {
    public var path: String
    public var compression: ArchiveCompression
    /// Split into parts of this size (`NAME.part0`, …), or one file when nil.
    public var partSize: Int64?

    public init(path: String, compression: ArchiveCompression, partSize: Int64? = nil) {
        self.path = path
        self.compression = compression
        self.partSize = partSize
    }

    /// The file whose presence means the archive already exists.
    public var existingMarker: String { partSize == nil ? path : "\(path).part0" }

    /// A fresh sink writing the archive; nothing appears under the final names until it is finished.
    public func open() throws -> ArchiveSink {
        FileSink.removeLeftovers(of: path)
        let file: any ByteSink = try partSize.map { SplitSink(base: path, partSize: $0) } ?? FileSink(path: path)
        let sink: any ByteSink
        switch compression {
        case .gzip: sink = try GzipSink(file)
        case .zstd: sink = try ZstdSink(file, workers: Int32(max(1, ProcessInfo.processInfo.activeProcessorCount)))
        case .none: sink = file
        }
        return ArchiveSink(sink: StoppableSink(sink), file: file, path: path)
    }

    /// Writes the whole of `layout` as this archive.
    public func write(_ layout: OCILayout) throws -> ArchiveSink {
        let out = try open()
        try LayoutArchiver.write(layout, to: TarWriter(out.sink))
        return out
    }
}

/// Thrown by the writes of an archive that was stopped (Ctrl-C).
public struct ArchiveStopped: Error, CustomStringConvertible {
    public var description: String { "interrupted before the archive was complete" }
}

/// Passes writes on until `stop()`, then fails each one, so a long archive write ends at its next chunk.
final class StoppableSink: ByteSink, @unchecked Sendable {
    private let next: any ByteSink
    private let stopped = Atomic(false)

    init(_ next: any ByteSink) { self.next = next }

    func stop() { stopped.store(true, ordering: .relaxed) }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        if stopped.load(ordering: .relaxed) { throw ArchiveStopped() }
        try next.write(bytes)
    }

    func finish() throws {
        if stopped.load(ordering: .relaxed) { throw ArchiveStopped() }
        try next.finish()
    }
}

/// An archive being written (by one thread at a time; `stop()` may come from any thread).
public struct ArchiveSink: @unchecked Sendable {
    /// The sink to write the tar stream into.
    public let sink: any ByteSink
    let file: any ByteSink
    let path: String

    /// The files written (after the sink is finished).
    public var files: [String] { (file as? SplitSink)?.parts ?? [path] }

    /// Makes every further write fail (from any thread), so the writer gives up and the unfinished files go.
    public func stop() { (sink as? StoppableSink)?.stop() }

    /// Removes the unfinished files now; call once no thread writes any more.
    public func discard() {
        (file as? FileSink)?.discard()
        (file as? SplitSink)?.discard()
    }

    /// Their total size.
    public var bytes: Int64 {
        files.compactMap { FileStatus(path: $0)?.size }.reduce(0, +)
    }
}
