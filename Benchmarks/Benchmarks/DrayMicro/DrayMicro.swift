import Benchmark
import Engine
import Foundation

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
}
