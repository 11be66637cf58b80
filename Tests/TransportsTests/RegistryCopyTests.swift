import Engine
import Foundation
import Testing
import TestSupport
@testable import Transports

/// Copies between real distribution registries with the mirror engine (the one executor every command runs,
/// `dray copy` included) and checks every digest on the far side.
@Suite("Registry copy round trips", .serialized)
struct RegistryCopyTests {
    let a: RegistryServer
    let b: RegistryServer

    init() throws {
        a = try RegistryServer()
        b = try RegistryServer()
    }

    func client(_ s: RegistryServer, _ options: RegistryOptions = RegistryOptions(credentials: CredentialStore(authFiles: []))) -> RegistryClient {
        RegistryClient(registry: s.host, options: options)
    }

    /// Copies `repo:tag` of `src` to `dstRepo:tag` of `dst` as `dray copy` does: one target through the engine.
    static func copy(_ src: RegistryClient, _ repo: String, _ dst: RegistryClient, _ dstRepo: String, tag: String,
                     options: MirrorOptions = MirrorOptions()) async -> MirrorResult {
        var options = options
        options.failWhenNoPlatform = true
        let engine = MirrorEngine(options: options, sources: { RegistryImageSource(client: src, repository: $0.repository) },
                                  destinations: { RegistryImageDestination(client: dst, repository: $0.repository) })
        let target = MirrorTarget(id: 1, source: Reference(registry: src.registry, repository: repo, tag: tag),
                                  destination: Reference(registry: dst.registry, repository: dstRepo, tag: tag), line: "", origin: "test")
        return await engine.run([target])[0]
    }

    /// Pushes `tree` to `src/repo:tag`, then copies it to `dst/dstRepo:tag`.
    @discardableResult
    func pushAndCopy(_ tree: SyntheticImage.Tree, _ src: RegistryClient, _ repo: String, _ dst: RegistryClient,
                     _ dstRepo: String, tag: String, options: MirrorOptions = MirrorOptions()) async throws -> MirrorResult {
        try await SyntheticImage.push(tree, to: src, repository: repo, tag: tag)
        let r = await Self.copy(src, repo, dst, dstRepo, tag: tag, options: options)
        #expect(r.status != .failed, "\(r.error ?? "")")
        return r
    }

    @Test("multi-arch index round trip preserves every digest", arguments: SyntheticImage.Format.allCases)
    func indexRoundTrip(format: SyntheticImage.Format) async throws {
        let tree = try SyntheticImage.index(format: format, layers: 2, layerSize: 300_000, seed: 7)
        let src = client(a), dst = client(b)
        let report = try await pushAndCopy(tree, src, "demo/app", dst, "mirror/app", tag: "1.0")
        #expect(report.digest == tree.top.digest.description)
        #expect(report.blobsCopied == tree.blobs.count)
        #expect(report.platforms.count == 3)

        try await RegistryAssertions.holds(tree, in: dst, repository: "mirror/app", tag: "1.0")

        // A second copy finds the image there and moves nothing; forced, it finds every blob present.
        let again = try await pushAndCopy(tree, src, "demo/app", dst, "mirror/app", tag: "1.0")
        #expect(again.status == .skipped && again.blobsCopied == 0)
        var force = MirrorOptions()
        force.force = true
        let forced = try await pushAndCopy(tree, src, "demo/app", dst, "mirror/app", tag: "1.0", options: force)
        #expect(forced.blobsCopied == 0)
        #expect(forced.blobsPresent == tree.blobs.count)
    }

    @Test("single image in Docker and OCI media types", arguments: SyntheticImage.Format.allCases)
    func singleImage(format: SyntheticImage.Format) async throws {
        let tree = try SyntheticImage.single(format: format, layers: 3, layerSize: 50_000, seed: 11)
        let report = try await pushAndCopy(tree, client(a), "single/\(format)", client(b), "single/\(format)", tag: "v1")
        let dst = client(b)
        #expect(report.digest == tree.top.digest.description)
        #expect(try await dst.headManifest("single/\(format)", .tag("v1"))?.mediaType == (format == .oci ? .ociManifest : .dockerManifest))
        try await RegistryAssertions.holds(tree, in: dst, repository: "single/\(format)", tag: "v1")
    }

    @Test("a corrupted source blob fails the copy and never lands at the destination (the destination's digest check, or dray's own with .always)")
    func corruptedBlob() async throws {
        let tree = try SyntheticImage.single(layers: 1, layerSize: 200_000, seed: 99)
        let src = client(a), dst = client(b)
        try await SyntheticImage.push(tree, to: src, repository: "bad/img", tag: "1")
        guard case .image(let m) = try tree.top.parsed() else { Issue.record("not an image"); return }
        let layer = m.layers[0]
        // Flip bytes in the registry's stored copy, keeping the length.
        let path = a.blobDataPath(layer.digest.hex)
        var data = try Array(Data(contentsOf: URL(fileURLWithPath: path)))
        for i in stride(from: 100, to: data.count, by: 997) { data[i] ^= 0xff }
        try Data(data).write(to: URL(fileURLWithPath: path))

        var options = MirrorOptions()
        options.retries = 0
        let refused = await Self.copy(src, "bad/img", dst, "bad/img", tag: "1", options: options)
        #expect(refused.status == .failed && refused.error?.contains("DIGEST_INVALID") == true, "\(refused.error ?? "")")
        options.blobCheck = .always
        let hashing = await Self.copy(src, "bad/img", dst, "bad/img", tag: "1", options: options)
        #expect(hashing.status == .failed && hashing.error?.contains("digest mismatch") == true, "\(hashing.error ?? "")")
        #expect(try await dst.headBlob("bad/img", layer.digest) == nil)
        #expect(try await dst.headManifest("bad/img", .tag("1")) == nil)
    }

    @Test("blobs shared with another repository of the same registry are mounted, not copied")
    func crossRepositoryMount() async throws {
        let tree = try SyntheticImage.single(layers: 2, layerSize: 100_000, seed: 5)
        let reg = client(a)
        let report = try await pushAndCopy(tree, reg, "one/app", reg, "two/app", tag: "x")
        #expect(report.blobsMounted == tree.blobs.count)
        #expect(report.blobsCopied == 0)
        try await RegistryAssertions.holds(tree, in: reg, repository: "two/app", tag: "x")
    }

    @Test("chunked upload mode round-trips")
    func chunkedUpload() async throws {
        let tree = try SyntheticImage.single(layers: 2, layerSize: 700_000, seed: 21)
        let dst = client(b, RegistryOptions(credentials: CredentialStore(authFiles: []), uploadMode: .chunked(chunkSize: 256 * 1024)))
        try await pushAndCopy(tree, client(a), "chunk/app", dst, "chunk/app", tag: "1")
        try await RegistryAssertions.holds(tree, in: dst, repository: "chunk/app", tag: "1")
    }

    @Test("platform filter writes an index with only the chosen platforms")
    func platformFilter() async throws {
        let tree = try SyntheticImage.index(seed: 31)
        let dst = client(b)
        var options = MirrorOptions()
        options.platforms = PlatformFilter(architectures: ["amd64", "arm64"], oses: ["linux"])
        let report = try await pushAndCopy(tree, client(a), "multi/app", dst, "multi/app", tag: "1", options: options)
        #expect(report.rewritten)
        let written = try await dst.manifest("multi/app", .tag("1"))
        guard case .index(let index) = try written.parsed() else { Issue.record("not an index"); return }
        #expect(index.manifests.map { $0.platform?.architecture } == ["amd64", "arm64"])
        // Each kept child is the source's exact manifest.
        for (child, entry) in zip(tree.children.prefix(2), index.manifests) {
            #expect(entry.digest == child.digest)
            #expect(try await dst.manifest("multi/app", .digest(child.digest)).bytes == child.bytes)
        }
        #expect(try await dst.headManifest("multi/app", .digest(tree.children[2].digest)) == nil)
    }

    @Test("tags/list follows Link pagination")
    func tagPagination() async throws {
        let tree = try SyntheticImage.single(layers: 1, layerSize: 100, seed: 3)
        let reg = client(a)
        for t in ["a", "b", "c", "d", "e"] { try await SyntheticImage.push(tree, to: reg, repository: "tags/app", tag: t) }
        let tags = try await reg.tags("tags/app", pageSize: 2)
        #expect(tags.sorted() == ["a", "b", "c", "d", "e"])
    }
}

/// Checks that a registry holds a tree byte for byte.
enum RegistryAssertions {
    static func holds(_ tree: SyntheticImage.Tree, in client: RegistryClient, repository: String, tag: String) async throws {
        let top = try await client.manifest(repository, .tag(tag))
        #expect(top.bytes == tree.top.bytes)
        #expect(top.digest == tree.top.digest)
        for child in tree.children {
            let got = try await client.manifest(repository, .digest(child.digest))
            #expect(got.bytes == child.bytes)
        }
        for (d, bytes) in tree.blobs.values {
            let stream = VerifyingStream(client.blob(repository, d), expecting: d)
            var got: [UInt8] = []
            while let c = try await stream.next() { got += c }
            #expect(got == bytes)
        }
    }
}
