import Benchmark
import Engine
import Foundation
import Transports

/// Micro-benchmarks of the engine's hot paths.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, .throughput, .mallocCountTotal], maxDuration: .seconds(3))

    // SHA-256 over 64 MiB fed in 256 KiB chunks, as blobs stream through a copy.
    let chunk = [UInt8](repeating: 0x5a, count: 256 * 1024)
    Benchmark("SHA-256 streaming, 64 MiB in 256 KiB chunks", configuration: .init(scalingFactor: .one)) { benchmark in
        for _ in benchmark.scaledIterations {
            var h = Hasher256()
            for _ in 0..<256 { h.update(chunk) }
            blackHole(h.finalize())
        }
    }

    let references = (0..<1000).map { i in
        i % 3 == 0 ? "nginx:1.\(i)" : i % 3 == 1 ? "registry.example.com:5000/team/app-\(i):v\(i)"
            : "quay.io/org/img@sha256:" + String(repeating: "ab", count: 32)
    }
    Benchmark("Reference parsing, 1000 references") { benchmark in
        for _ in benchmark.scaledIterations {
            for r in references { blackHole(try? Reference(parsing: r)) }
        }
    }

    let index = Array("""
        {"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
        \((0..<8).map { i in #"{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:\#(String(repeating: String(i), count: 64))","size":1234,"platform":{"os":"linux","architecture":"arch\#(i)"}}"# }.joined(separator: ","))]}
        """.utf8)
    Benchmark("Index parsing (8 platforms) with digest") { benchmark in
        for _ in benchmark.scaledIterations {
            let m = try RawManifest(bytes: index, mediaType: nil)
            blackHole(try m.parsed())
        }
    }

    // Archive formats over 32 MiB of incompressible bytes (layers are already compressed), in memory.
    let payload: [UInt8] = {
        var state: UInt64 = 42
        var out = [UInt8](repeating: 0, count: 32 << 20)
        out.withUnsafeMutableBytes { raw in
            for i in 0..<(raw.count / 8) {
                state &+= 0x9E37_79B9_7F4A_7C15
                var z = state
                z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                raw.storeBytes(of: z ^ (z >> 31), toByteOffset: i * 8, as: UInt64.self)
            }
        }
        return out
    }()
    let bytesConfig = Benchmark.Configuration(metrics: [.wallClock, .throughput, .peakMemoryResident], scalingFactor: .one,
                                              maxDuration: .seconds(5))
    /// A tar of `payload` in 256 KiB reads, into `sink`.
    func writeTar(_ sink: any ByteSink) throws {
        let tar = TarWriter(sink)
        var offset = 0
        try tar.addFile("blobs/sha256/layer", size: Int64(payload.count)) {
            guard offset < payload.count else { return nil }
            defer { offset += 256 << 10 }
            return Array(payload[offset..<min(payload.count, offset + (256 << 10))])
        }
        try tar.finish()
    }
    let plainTar: [UInt8] = { let m = MemorySink(); try! writeTar(m); return m.bytes }()
    let gzTar: [UInt8] = { let m = MemorySink(); try! writeTar(try! GzipSink(m, level: 1)); return m.bytes }()
    let zstTar: [UInt8] = { let m = MemorySink(); try! writeTar(try! ZstdSink(m)); return m.bytes }()

    Benchmark("tar writer, 32 MiB", configuration: bytesConfig) { benchmark in
        for _ in benchmark.scaledIterations { try writeTar(MemorySink(discard: true)) }
    }
    Benchmark("gzip (level 1) tar writer, 32 MiB", configuration: bytesConfig) { benchmark in
        for _ in benchmark.scaledIterations { try writeTar(try GzipSink(MemorySink(discard: true), level: 1)) }
    }
    Benchmark("zstd (level 3, 2 workers) tar writer, 32 MiB", configuration: bytesConfig) { benchmark in
        for _ in benchmark.scaledIterations { try writeTar(try ZstdSink(MemorySink(discard: true))) }
    }
    /// Reads every entry of an archive to the end.
    func readTar(_ source: any ByteSource) throws {
        let reader = TarReader(source)
        while try reader.next() != nil {
            while let chunk = try reader.readContent(max: 256 << 10) { blackHole(chunk.count) }
        }
    }
    Benchmark("tar reader, 32 MiB", configuration: bytesConfig) { benchmark in
        for _ in benchmark.scaledIterations { try readTar(MemorySource(plainTar)) }
    }
    Benchmark("gzip tar reader, 32 MiB", configuration: bytesConfig) { benchmark in
        for _ in benchmark.scaledIterations { try readTar(try GunzipSource(MemorySource(gzTar))) }
    }
    Benchmark("zstd tar reader, 32 MiB", configuration: bytesConfig) { benchmark in
        for _ in benchmark.scaledIterations { try readTar(try ZstdSource(MemorySource(zstTar))) }
    }

    // The scheduler's own cost: 10,000 tiny blob tasks through a 8-slot TransferScheduler.
    Benchmark("Scheduler, 10k blob tasks (8 slots)", configuration: .init(metrics: [.wallClock, .mallocCountTotal])) { benchmark in
        for _ in benchmark.scaledIterations {
            let scheduler = TransferScheduler(limit: 8)
            await withTaskGroup(of: Int.self) { group in
                for i in 0..<10_000 {
                    group.addTask { (try? await scheduler.run(size: Int64(i % 97)) { i }) ?? 0 }
                }
                var sum = 0
                for await v in group { sum &+= v }
                blackHole(sum)
            }
        }
    }

    let manifest = Array(#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:\#(String(repeating: "a", count: 64))","size":1469},"layers":[\#((0..<6).map { i in #"{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:\#(String(repeating: String(i), count: 64))","size":\#(i * 1000 + 31)}"# }.joined(separator: ","))]}"#.utf8)
    Benchmark("Image manifest parsing (6 layers) with digest") { benchmark in
        for _ in benchmark.scaledIterations {
            let m = try RawManifest(bytes: manifest, mediaType: nil)
            blackHole(try m.parsed())
        }
    }
}

/// Collects (or just counts) what is written.
final class MemorySink: ByteSink {
    private(set) var bytes: [UInt8] = []
    private(set) var count = 0
    let discard: Bool
    init(discard: Bool = false) { self.discard = discard }
    func write(_ b: UnsafeRawBufferPointer) throws {
        count += b.count
        if !discard { bytes.append(contentsOf: b) }
    }
    func finish() throws {}
}

/// Serves bytes from memory.
final class MemorySource: ByteSource {
    let bytes: [UInt8]
    var offset = 0
    init(_ bytes: [UInt8]) { self.bytes = bytes }
    func read(max: Int) throws -> [UInt8]? {
        guard offset < bytes.count else { return nil }
        defer { offset = min(bytes.count, offset + max) }
        return Array(bytes[offset..<min(bytes.count, offset + max)])
    }
}
