import Engine
import Foundation
import Testing
import TestSupport
@testable import Transports

@Suite("Archive byte streams")
struct ArchiveStreamTests {
    /// Entry sizes around the tar block and the reader's 1 MiB chunk boundaries.
    static let sizes = [0, 1, 511, 512, 513, 1 << 20, (1 << 20) + 3, 3 * (1 << 20) - 7, 100]

    /// Incompressible bytes, made once; entry `i` is a window of them.
    static let noise: [UInt8] = {
        var g: UInt64 = 0x9E37_79B9_7F4A_7C15
        return [UInt8](unsafeUninitializedCapacity: sizes.max()! + 64) { buf, n in
            for k in 0..<buf.count {
                g ^= g << 13; g ^= g >> 7; g ^= g << 17
                buf[k] = UInt8(truncatingIfNeeded: g)
            }
            n = buf.count
        }
    }()

    static func content(_ i: Int, _ size: Int) -> [UInt8] { Array(noise[i..<(i + size)]) }

    enum Compression: String, CaseIterable { case none, gzip, zstd }

    /// Writes a tar of `sizes` entries with `compression` and returns its path.
    static func writeArchive(_ compression: Compression, in dir: String) throws -> String {
        let path = "\(dir)/a.tar.\(compression.rawValue)"
        let file = try FileSink(path: path)
        let sink: any ByteSink = switch compression {
        case .none: file
        case .gzip: try GzipSink(file)
        case .zstd: try ZstdSink(file)
        }
        let tar = TarWriter(sink)
        for (i, size) in sizes.enumerated() { try tar.addFile("blobs/f\(i)", bytes: content(i, size)) }
        try tar.finish()
        return path
    }

    @Test("every entry reads back byte for byte, whatever the read size and compression",
          arguments: Compression.allCases, [7, 4096, 1 << 20, 5 << 20])
    func roundTrip(_ compression: Compression, readSize: Int) throws {
        let dir = NSTemporaryDirectory() + "dray-stream-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = try Self.writeArchive(compression, in: dir)
        let reader = TarReader(try ArchiveFormat.open(try FileSource(path: path)))
        var seen = 0
        while let e = try reader.next() {
            var got: [UInt8] = []
            while let c = try reader.readContent(max: readSize) {
                #expect(!c.isEmpty && c.count <= readSize)
                got += c
            }
            #expect(e.size == Int64(Self.sizes[seen]))
            #expect(got == Self.content(seen, Self.sizes[seen]), "entry \(e.name)")
            seen += 1
        }
        #expect(seen == Self.sizes.count)
    }

    @Test("a decompressor read in tiny pieces gives the same bytes as the plain tar")
    func tinyReads() throws {
        let dir = NSTemporaryDirectory() + "dray-stream-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let plain = try Data(contentsOf: URL(fileURLWithPath: try Self.writeArchive(.none, in: dir)))
        for compression in [Compression.gzip, .zstd] {
            let source = try ArchiveFormat.open(try FileSource(path: try Self.writeArchive(compression, in: dir)))
            var out: [UInt8] = []
            out.reserveCapacity(plain.count)
            while let c = try source.read(max: 1000) {
                #expect(c.count <= 1000)
                out += c
            }
            #expect(out == Array(plain), "\(compression)")
        }
    }

    @Test("a truncated compressed archive fails instead of ending early")
    func truncated() throws {
        let dir = NSTemporaryDirectory() + "dray-stream-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for compression in [Compression.gzip, .zstd] {
            let path = try Self.writeArchive(compression, in: dir)
            let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: path))
            let source = try ArchiveFormat.open(try FileSource(path: path))
            #expect(throws: LayoutError.self, "\(compression)") { while try source.read(max: 1 << 20) != nil {} }
        }
    }

    @Test("a blob held as chunks streams them in order, unsplit")
    func memoryChunks() async throws {
        let chunks: [[UInt8]] = [[1, 2, 3], [], [4], Array(repeating: 9, count: 300_000)]
        let stream = MemoryBlobStream(chunks: chunks)
        var got: [[UInt8]] = []
        while let c = try await stream.next() { got.append(c) }
        #expect(got == chunks.filter { !$0.isEmpty })
        let split = MemoryBlobStream(Array(0..<10), chunkSize: 4)
        var parts: [[UInt8]] = []
        while let c = try await split.next() { parts.append(c) }
        #expect(parts == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]])
    }

    /// Bytes in memory as a byte source.
    final class MemorySource: ByteSource {
        private var bytes: ArraySlice<UInt8>
        init(_ bytes: [UInt8]) { self.bytes = bytes[...] }
        func read(max: Int) throws -> [UInt8]? {
            guard !bytes.isEmpty else { return nil }
            defer { bytes = bytes.dropFirst(max) }
            return Array(bytes.prefix(max))
        }
    }

    @Test("hard links, symbolic links, devices and FIFOs are refused, naming the entry",
          arguments: ["1", "2", "3", "4", "6"])
    func specialEntries(type: String) throws {
        let tar = try TarWriter.header(name: "blobs/sha256/evil", size: 0, type: Character(type), mode: 0o644)
            + [UInt8](repeating: 0, count: 1024)
        let reader = TarReader(MemorySource(tar))
        do {
            _ = try reader.next()
            Issue.record("type \(type) was accepted")
        } catch let e as LayoutError {
            #expect("\(e)".contains("blobs/sha256/evil"), "\(e)")
            #expect("\(e)".contains("not allowed"), "\(e)")
        }
    }

    @Test("a zstd frame that needs a window over 128 MiB is refused before it can allocate one")
    func zstdWindowBomb() throws {
        let dir = try TemporaryDirectory()
        try Data(repeating: 7, count: 1 << 20).write(to: URL(fileURLWithPath: dir.file("plain")))
        // Through a pipe, zstd does not know the size, so the frame keeps the 256 MiB window --long=28 asks for.
        let made = try Shell.run("/bin/sh", ["-c", "cat '\(dir.file("plain"))' | zstd -q --long=28 -c > '\(dir.file("big-window.zst"))'"])
        #expect(made.status == 0, "\(made.stderr)")
        let header = try Shell.check("zstd", ["-lv", dir.file("big-window.zst")]).stdoutText
        #expect(header.contains("256"), "the fixture really declares a 256 MiB window: \(header)")
        let source = try ArchiveFormat.open(try FileSource(path: dir.file("big-window.zst")))
        do {
            while try source.read(max: 1 << 20) != nil {}
            Issue.record("a 256 MiB window was accepted")
        } catch let e as LayoutError {
            #expect("\(e)".contains("zstd"), "\(e)")
        }
    }
}
