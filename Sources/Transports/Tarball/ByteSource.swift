import CZlib
import CZstd
import Engine
import FoundationEssentials
import Glibc

/// Somewhere bytes are read from in order.
public protocol ByteSource: AnyObject {
    /// Up to `max` bytes, or nil at the end.
    func read(max: Int) throws -> [UInt8]?
}

/// Reads a file, or the parts `NAME.part0`, `NAME.part1`, … of one, as one stream.
public final class FileSource: ByteSource {
    private var paths: [String]
    private var fd: Int32 = -1
    /// The file or part being read (for messages).
    public private(set) var current: String
    /// Every file read: the archive, or its parts in order.
    public let files: [String]

    /// Reads exactly the file at `path` (no parts); a missing file fails at the first read.
    public init(file path: String) {
        paths = [path]
        files = paths
        current = path
    }

    /// Opens `path`, or its parts when `path` itself does not exist. A gap in the part numbers is an error naming
    /// the first missing part, and so is a part shorter than the first (`checkPartSizes`).
    public init(path: String) throws {
        let fm = FileManager.default
        if fm.fileExists(atPath: path) {
            paths = [path]
        } else {
            let url = URL(fileURLWithPath: path)
            let dir = url.deletingLastPathComponent().path
            let prefix = url.lastPathComponent + ".part"
            let numbers = ((try? fm.contentsOfDirectory(atPath: dir)) ?? []).compactMap { name -> Int? in
                name.hasPrefix(prefix) ? Int(name.dropFirst(prefix.count)) : nil
            }.sorted()
            guard !numbers.isEmpty else { throw LayoutError(path: path, reason: "no such archive (nor \(path).part0)") }
            for (expected, n) in numbers.enumerated() where n != expected {
                throw LayoutError(path: "\(path).part\(expected)", reason: "missing part (found \(path).part\(n))")
            }
            paths = numbers.map { "\(path).part\($0)" }
        }
        files = paths
        current = paths[0]
        try checkPartSizes()
    }

    /// Fails naming the first part that is not as large as the first one (parts are cut to one size; only the
    /// last may be smaller): a part truncated by an incomplete copy.
    private func checkPartSizes() throws {
        guard files.count > 1 else { return }
        let sizes = files.map { FileStatus(path: $0)?.size ?? 0 }
        for (i, size) in sizes.enumerated() where i < sizes.count - 1 ? size != sizes[0] : size > sizes[0] {
            throw LayoutError(path: files[i], reason: "\(size) bytes where every part but the last has \(sizes[0]): truncated or damaged part")
        }
    }

    /// Reads straight into the returned array (no zero-filling, no copy through `Data`).
    public func read(max: Int) throws -> [UInt8]? {
        while true {
            if fd < 0 {
                guard !paths.isEmpty else { return nil }
                current = paths.removeFirst()
                fd = open(current, O_RDONLY | O_CLOEXEC)
                guard fd >= 0 else { throw LayoutError(path: current, reason: "cannot open (\(String(cString: strerror(errno))))") }
            }
            let path = current, file = fd
            let bytes = try [UInt8](unsafeUninitializedCapacity: max) { buf, count in
                count = 0
                while count < buf.count {
                    let n = Glibc.read(file, buf.baseAddress! + count, buf.count - count)
                    if n < 0, errno == EINTR { continue }
                    guard n >= 0 else { throw LayoutError(path: path, reason: "read failed (\(String(cString: strerror(errno))))") }
                    if n == 0 { break }
                    count += n
                }
            }
            if !bytes.isEmpty { return bytes }
            close(fd)
            fd = -1
        }
    }

    deinit { if fd >= 0 { close(fd) } }
}

/// The compression of an archive, from its first bytes.
public enum ArchiveFormat: Sendable {
    case gzip, zstd, tar

    /// Wraps `source` in the right decompressor, looking at its first bytes. For a split archive, a read error
    /// names the part being read.
    public static func open(_ source: any ByteSource) throws -> any ByteSource {
        let head = try source.read(max: 4) ?? []
        let replay = PrefixedSource(head, source)
        let opened: any ByteSource
        if head.starts(with: [0x1f, 0x8b]) {
            opened = try GunzipSource(replay)
        } else if head.starts(with: [0x28, 0xb5, 0x2f, 0xfd]) {
            opened = try ZstdSource(replay)
        } else {
            opened = replay
        }
        guard let file = source as? FileSource, file.files.count > 1 else { return opened }
        return PartNamingSource(opened, file)
    }
}

/// Names the part of a split archive being read in the errors of the source read from it.
final class PartNamingSource: ByteSource {
    private let inner: any ByteSource
    private let file: FileSource
    init(_ inner: any ByteSource, _ file: FileSource) {
        self.inner = inner
        self.file = file
    }

    func read(max: Int) throws -> [UInt8]? {
        do { return try inner.read(max: max) } catch let e as LayoutError where e.path == file.current {
            throw e
        } catch {
            throw LayoutError(path: file.current, reason: "\(error)")
        }
    }
}

/// Replays some bytes already read, then the rest of a source.
final class PrefixedSource: ByteSource {
    private var prefix: [UInt8]
    private let rest: any ByteSource
    init(_ prefix: [UInt8], _ rest: any ByteSource) {
        self.prefix = prefix
        self.rest = rest
    }
    func read(max: Int) throws -> [UInt8]? {
        if !prefix.isEmpty {
            let n = min(max, prefix.count)
            defer { prefix.removeFirst(n) }
            return Array(prefix.prefix(n))
        }
        return try rest.read(max: max)
    }
}

/// gunzip (zlib), including concatenated gzip members.
public final class GunzipSource: ByteSource {
    private let inner: any ByteSource
    private var stream = z_stream()
    private var input: [UInt8] = []
    private var inputOffset = 0
    private var ended = false

    public init(_ inner: any ByteSource) throws {
        self.inner = inner
        guard dray_inflateInit2(&stream, 15 + 32) == Z_OK else { throw LayoutError(path: "gzip", reason: "cannot start zlib") }
    }

    deinit { inflateEnd(&stream) }

    /// Inflates until `max` bytes are produced or the input ends, into one array of exactly that size.
    public func read(max: Int) throws -> [UInt8]? {
        if ended { return nil }
        let out = try [UInt8](unsafeUninitializedCapacity: max) { o, count in
            count = 0
            var draining = false
            while count < o.count, !ended {
                if inputOffset == input.count && draining {
                    // zlib had nothing more to give from what it holds: it needs input.
                    guard let more = try inner.read(max: 256 * 1024) else {
                        throw LayoutError(path: "gzip", reason: "the archive ends early (truncated, or a part is missing)")
                    }
                    input = more
                    inputOffset = 0
                }
                draining = inputOffset == input.count
                let (rc, produced, consumed) = input.withUnsafeMutableBufferPointer { inp -> (Int32, Int, Int) in
                    stream.next_in = inp.count > 0 ? inp.baseAddress! + inputOffset : nil
                    stream.avail_in = UInt32(inp.count - inputOffset)
                    stream.next_out = o.baseAddress! + count
                    stream.avail_out = UInt32(o.count - count)
                    let rc = inflate(&stream, Z_NO_FLUSH)
                    return (rc, (o.count - count) - Int(stream.avail_out), (inp.count - inputOffset) - Int(stream.avail_in))
                }
                inputOffset += consumed
                count += produced
                if rc == Z_STREAM_END {
                    // Another member may follow (concatenated gzip); otherwise the stream is over.
                    if inputOffset == input.count, let more = try inner.read(max: 256 * 1024) {
                        input = more
                        inputOffset = 0
                    }
                    if inputOffset < input.count {
                        inflateReset(&stream)
                    } else {
                        ended = true
                    }
                    draining = false
                    continue
                }
                guard rc == Z_OK || rc == Z_BUF_ERROR else {
                    throw LayoutError(path: "gzip", reason: "corrupted compressed data (zlib error \(rc))")
                }
                if produced > 0 { draining = false }
            }
        }
        return out.isEmpty ? nil : out
    }
}

/// zstd decompression (libzstd), with a bound on the decompression window.
public final class ZstdSource: ByteSource {
    private let inner: any ByteSource
    private let ctx: OpaquePointer
    private var input: [UInt8] = []
    private var inputOffset = 0
    private var frameDone = true
    private var sawData = false

    public init(_ inner: any ByteSource) throws {
        self.inner = inner
        guard let c = ZSTD_createDCtx() else { throw LayoutError(path: "zstd", reason: "cannot start libzstd") }
        ctx = c
        // Refuse frames that would need more than 128 MiB of window memory.
        _ = ZSTD_DCtx_setParameter(ctx, ZSTD_d_windowLogMax, 27)
    }

    deinit { ZSTD_freeDCtx(ctx) }

    /// Decompresses until `max` bytes are produced or the input ends, into one array of exactly that size
    /// (no zero-filling, no copy).
    public func read(max: Int) throws -> [UInt8]? {
        let out = try [UInt8](unsafeUninitializedCapacity: max) { o, count in
            count = 0
            var draining = false
            while count < o.count {
                if inputOffset == input.count && draining {
                    guard let more = try inner.read(max: Int(ZSTD_DStreamInSize())) else {
                        if frameDone && sawData { return }
                        throw LayoutError(path: "zstd", reason: "the archive ends early (truncated, or a part is missing)")
                    }
                    input = more
                    inputOffset = 0
                }
                draining = inputOffset == input.count
                let (r, produced, consumed) = input.withUnsafeBytes { inp -> (Int, Int, Int) in
                    var ib = ZSTD_inBuffer(src: inp.count > 0 ? inp.baseAddress! + inputOffset : nil,
                                           size: inp.count - inputOffset, pos: 0)
                    var ob = ZSTD_outBuffer(dst: o.baseAddress! + count, size: o.count - count, pos: 0)
                    let r = ZSTD_decompressStream(ctx, &ob, &ib)
                    return (r, ob.pos, ib.pos)
                }
                inputOffset += consumed
                count += produced
                if consumed > 0 { sawData = true }
                if dray_ZSTD_isError(r) != 0 {
                    throw LayoutError(path: "zstd", reason: "corrupted compressed data (\(String(cString: ZSTD_getErrorName(r))))")
                }
                if consumed > 0 || produced > 0 { frameDone = r == 0 }
                if produced > 0 { draining = false }
            }
        }
        return out.isEmpty ? nil : out
    }
}
