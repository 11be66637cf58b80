import CZlib
import CZstd
import Engine
import FoundationEssentials
import Glibc

/// Somewhere bytes are written in order: a file, split parts, or a compressor in front of another sink.
public protocol ByteSink: AnyObject {
    func write(_ bytes: UnsafeRawBufferPointer) throws
    /// Flushes everything and closes; the output is complete only after this.
    func finish() throws
}

extension ByteSink {
    public func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }
}

/// Writes a file under a temporary name and renames it into place on `finish`, so an interrupted write never
/// leaves a truncated file under the final name.
public final class FileSink: ByteSink {
    public let path: String
    private let temp: String
    private let fd: Int32
    private let deferRename: Bool
    private var closed = false
    private var committed = false
    private var discarded = false
    /// Bytes written so far.
    public private(set) var count: Int64 = 0

    /// With `deferRename`, `finish()` only flushes and closes; `commit()` then gives the file its name.
    public init(path: String, deferRename: Bool = false) throws {
        self.path = path
        self.deferRename = deferRename
        temp = "\(path).\(getpid()).partial"
        fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw LayoutError(path: path, reason: String(cString: strerror(errno))) }
        LeftoverFiles.claim(fd)
    }

    deinit {
        if !closed { close(fd) }
        if !committed && !discarded { unlink(temp) }
    }

    /// Closes and removes the unfinished file now (rather than when the sink is released, which may be after
    /// the process has ended or a new writer has taken the same temporary name).
    public func discard() {
        if !closed {
            close(fd)
            closed = true
        }
        if !committed && !discarded {
            unlink(temp)
            discarded = true
        }
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard FileDescriptorIO.writeAll(fd, bytes) else {
            throw LayoutError(path: path, reason: "write failed: \(String(cString: strerror(errno)))")
        }
        count += Int64(bytes.count)
    }

    public func finish() throws {
        if !closed {
            closed = true
            guard fsync(fd) == 0, close(fd) == 0 else {
                throw LayoutError(path: path, reason: "cannot flush: \(String(cString: strerror(errno)))")
            }
        }
        if !deferRename { try commit() }
    }

    /// Renames the finished file into place.
    public func commit() throws {
        guard closed, !committed else { return }
        guard rename(temp, path) == 0 else { throw LayoutError(path: path, reason: String(cString: strerror(errno))) }
        committed = true
    }

    /// Removes the unfinished files (`PATH.PID.partial`, `PATH.partN.PID.partial`) that killed writers of the
    /// archive at `path` left behind.
    /// With `folders`, unfinished folders of the same names too.
    @discardableResult
    public static func removeLeftovers(of path: String, folders: Bool = false) -> (files: Int, bytes: Int64) {
        let url = URL(fileURLWithPath: path)
        let base = url.lastPathComponent + "."
        return LeftoverFiles.sweep(url.deletingLastPathComponent().path, folders: folders) { name in
            guard name.hasPrefix(base), name.hasSuffix(".partial") else { return nil }
            var middle = name.dropFirst(base.count).dropLast(".partial".count).split(separator: ".", omittingEmptySubsequences: false)
            guard let pid = middle.popLast(), middle.count <= 1 else { return nil }
            if let part = middle.first {
                guard part.hasPrefix("part"), part.dropFirst(4).allSatisfy(\.isNumber) else { return nil }
            }
            return LeftoverFiles.pid(in: String(pid), after: "", before: nil)
        }
    }
}

/// Splits a stream into `NAME.part0`, `NAME.part1`, … of `partSize` bytes each, exactly as `split -b` would,
/// so `cat NAME.part* | tar -x…` restores it.
///
/// Parts are written under temporary names and all renamed into place by `finish()`, which also removes
/// parts of an older archive numbered past the new last one (and a whole-file archive of the same name, which
/// readers would otherwise prefer): a failed write leaves the previous archive as it was.
public final class SplitSink: ByteSink {
    public let base: String
    public let partSize: Int64
    private var sinks: [FileSink] = []

    /// The part files, in order.
    public var parts: [String] { sinks.map(\.path) }

    public init(base: String, partSize: Int64) {
        self.base = base
        self.partSize = max(1, partSize)
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            if sinks.isEmpty || sinks.last!.count >= partSize {
                try sinks.last?.finish()
                sinks.append(try FileSink(path: "\(base).part\(sinks.count)", deferRename: true))
            }
            let current = sinks.last!
            let n = min(Int(partSize - current.count), bytes.count - offset)
            try current.write(UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + n)]))
            offset += n
        }
    }

    /// Removes the unfinished parts now.
    public func discard() { for s in sinks { s.discard() } }

    public func finish() throws {
        if sinks.isEmpty { sinks.append(try FileSink(path: "\(base).part0", deferRename: true)) }
        try sinks.last!.finish()
        for s in sinks { try s.commit() }
        var stale = sinks.count
        while unlink("\(base).part\(stale)") == 0 { stale += 1 }
        unlink(base)
    }
}

/// gzip-compresses into another sink (zlib).
public final class GzipSink: ByteSink {
    private let next: any ByteSink
    private var stream = z_stream()
    private var out = [UInt8](repeating: 0, count: 256 * 1024)

    public init(_ next: any ByteSink, level: Int32 = 6) throws {
        self.next = next
        guard dray_deflateInit2(&stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK else {
            throw LayoutError(path: "gzip", reason: "cannot start zlib")
        }
    }

    deinit { deflateEnd(&stream) }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count > 0 else { return }
        try pump(bytes, flush: Z_NO_FLUSH)
    }

    public func finish() throws {
        try pump(UnsafeRawBufferPointer(start: nil, count: 0), flush: Z_FINISH)
        try next.finish()
    }

    private func pump(_ bytes: UnsafeRawBufferPointer, flush: Int32) throws {
        stream.next_in = UnsafeMutablePointer(mutating: bytes.baseAddress?.assumingMemoryBound(to: UInt8.self))
        stream.avail_in = UInt32(bytes.count)
        while true {
            let (rc, produced) = out.withUnsafeMutableBufferPointer { o -> (Int32, Int) in
                stream.next_out = o.baseAddress
                stream.avail_out = UInt32(o.count)
                let rc = deflate(&stream, flush)
                return (rc, o.count - Int(stream.avail_out))
            }
            guard rc == Z_OK || rc == Z_STREAM_END || rc == Z_BUF_ERROR else {
                throw LayoutError(path: "gzip", reason: "zlib error \(rc)")
            }
            if produced > 0 { try out.withUnsafeBytes { try next.write(UnsafeRawBufferPointer(rebasing: $0[0..<produced])) } }
            if flush == Z_FINISH ? rc == Z_STREAM_END : (stream.avail_in == 0 && produced < out.count) { break }
        }
    }
}

/// zstd-compresses into another sink, using `workers` threads (libzstd's multithreaded mode).
public final class ZstdSink: ByteSink {
    private let next: any ByteSink
    private let ctx: OpaquePointer
    private var out = [UInt8](repeating: 0, count: Int(ZSTD_CStreamOutSize()))

    public init(_ next: any ByteSink, level: Int32 = 3, workers: Int32 = 2) throws {
        self.next = next
        guard let c = ZSTD_createCCtx() else { throw LayoutError(path: "zstd", reason: "cannot start libzstd") }
        ctx = c
        _ = ZSTD_CCtx_setParameter(ctx, ZSTD_c_compressionLevel, level)
        _ = ZSTD_CCtx_setParameter(ctx, ZSTD_c_checksumFlag, 1)
        if workers > 1 {
            _ = ZSTD_CCtx_setParameter(ctx, ZSTD_c_nbWorkers, workers)
            // libzstd's default job (several times the window) kept about 110 MB of buffers for two workers;
            // 2 MiB jobs keep a save's peak RSS near 65 MB at the same speed and ratio (layers are incompressible).
            _ = ZSTD_CCtx_setParameter(ctx, ZSTD_c_jobSize, 2 << 20)
        }
    }

    deinit { ZSTD_freeCCtx(ctx) }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count > 0 else { return }
        try pump(bytes, mode: ZSTD_e_continue)
    }

    public func finish() throws {
        try pump(UnsafeRawBufferPointer(start: nil, count: 0), mode: ZSTD_e_end)
        try next.finish()
    }

    private func pump(_ bytes: UnsafeRawBufferPointer, mode: ZSTD_EndDirective) throws {
        var input = ZSTD_inBuffer(src: bytes.baseAddress, size: bytes.count, pos: 0)
        while true {
            let (remaining, produced) = out.withUnsafeMutableBytes { o -> (Int, Int) in
                var output = ZSTD_outBuffer(dst: o.baseAddress, size: o.count, pos: 0)
                let r = ZSTD_compressStream2(ctx, &output, &input, mode)
                return (r, output.pos)
            }
            if dray_ZSTD_isError(remaining) != 0 {
                throw LayoutError(path: "zstd", reason: String(cString: ZSTD_getErrorName(remaining)))
            }
            if produced > 0 { try out.withUnsafeBytes { try next.write(UnsafeRawBufferPointer(rebasing: $0[0..<produced])) } }
            let inputDone = input.pos == input.size
            if mode == ZSTD_e_end ? remaining == 0 : inputDone { break }
        }
    }
}
