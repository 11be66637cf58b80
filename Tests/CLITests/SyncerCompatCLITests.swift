import Engine
import Foundation
import Testing
import TestSupport
import Transports

/// image-syncer's command lines and defaults, as its README gives them.
@Suite("image-syncer compatibility", .serialized)
struct SyncerCompatCLITests {
    /// A three-platform index pushed to `registry` as `repository:tag`.
    static func seed(_ registry: RegistryServer, _ repository: String, tag: String = "1", seed: UInt64) async throws
        -> SyntheticImage.Tree
    {
        let tree = try SyntheticImage.index(layers: 1, layerSize: 3000, seed: seed)
        try await SyntheticImage.push(tree, to: RegistryClient(registry: registry.host, options: MirrorCLITests.noAuth),
                                      repository: repository, tag: tag)
        return tree
    }

    @Test("image-syncer rules keep every platform (the index digest is unchanged) unless --arch/--os are given")
    func everyPlatform() async throws {
        let a = try RegistryServer(), b = try RegistryServer()
        let tree = try await Self.seed(a, "plat/app", seed: 9100)
        let dir = try TemporaryDirectory()
        try """
            {"images": {"\(a.host)/plat/app:1": "\(b.host)/all/app"}}
            """.write(toFile: dir.file("config.json"), atomically: false, encoding: .utf8)
        let r = try Dray.run(["mirror", "--config", dir.file("config.json"), "-o", dir.file("f.txt")])
        #expect(r.status == 0, "\(r.stderr.suffix(1500))")
        let dst = RegistryClient(registry: b.host, options: MirrorCLITests.noAuth)
        #expect(try await dst.headManifest("all/app", .tag("1"))?.digest == tree.top.digest)

        try """
            {"\(a.host)/plat/app:1": "\(b.host)/amd/app"}
            """.write(toFile: dir.file("images.json"), atomically: false, encoding: .utf8)
        let filtered = try Dray.run(["mirror", "--images", dir.file("images.json"), "--arch", "amd64", "-o", dir.file("f.txt")])
        #expect(filtered.status == 0, "\(filtered.stderr.suffix(1500))")
        guard case .index(let index) = try await dst.manifest("amd/app", .tag("1")).parsed() else {
            Issue.record("not an index")
            return
        }
        #expect(index.manifests.compactMap { $0.platform?.architecture } == ["amd64"])

        // A Hangar list keeps Hangar's defaults (amd64 and arm64 on linux).
        try "\(a.host)/plat/app \(b.host)/list/app 1\n".write(toFile: dir.file("list.txt"), atomically: false, encoding: .utf8)
        #expect(try Dray.run(["mirror", "-f", dir.file("list.txt"), "-o", dir.file("f.txt")]).status == 0)
        guard case .index(let listed) = try await dst.manifest("list/app", .tag("1")).parsed() else { return }
        #expect(listed.manifests.compactMap { $0.platform?.architecture } == ["amd64", "arm64"])
    }
}
