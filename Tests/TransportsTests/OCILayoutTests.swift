import Engine
import Foundation
import Testing
import TestSupport
@testable import Transports

@Suite("OCI layout writes")
struct OCILayoutTests {
    @Test("a blob whose bytes do not match is never stored under its digest, and no temporary file is left")
    func verifiedWrites() async throws {
        let dir = try TemporaryDirectory()
        let layout = try OCILayout(path: dir.file("l"), create: true)
        let good = [UInt8](repeating: 9, count: 100_000)
        let d = Descriptor(mediaType: .ociLayerGzip, digest: .sha256(of: good), size: Int64(good.count))
        var bad = good
        bad[500] = 0
        await #expect(throws: BlobVerificationError.self) { try await layout.writeBlob(d, from: MemoryBlobStream(bad)) }
        await #expect(throws: BlobVerificationError.self) { try await layout.writeBlob(d, from: MemoryBlobStream(Array(good.prefix(10)))) }
        #expect(layout.blobSize(d.digest) == nil)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.file("l/blobs/sha256")).isEmpty)
        try await layout.writeBlob(d, from: MemoryBlobStream(good))
        #expect(layout.blobSize(d.digest) == 100_000)
        #expect(try layout.readBlob(d.digest, limit: 1 << 20) == good)
    }

    @Test("index.json entries are named by reference and replaced, not duplicated")
    func namedEntries() throws {
        let dir = try TemporaryDirectory()
        let layout = try OCILayout(path: dir.file("l"), create: true)
        let m1 = Descriptor(mediaType: .ociIndex, digest: .sha256(of: [1]), size: 1)
        let m2 = Descriptor(mediaType: .ociIndex, digest: .sha256(of: [2]), size: 1)
        try layout.setEntry(m1, named: "docker.io/library/nginx:1.25")
        try layout.setEntry(m1, named: "quay.io/a/b:1")
        try layout.setEntry(m2, named: "docker.io/library/nginx:1.25")
        #expect(try layout.names() == ["quay.io/a/b:1", "docker.io/library/nginx:1.25"])
        #expect(try layout.entry(named: "docker.io/library/nginx:1.25")?.digest == m2.digest)
        try "{broken".write(toFile: dir.file("l/index.json"), atomically: false, encoding: .utf8)
        #expect(throws: LayoutError.self) { try layout.index() }
    }
}
