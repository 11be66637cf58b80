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

/// image-syncer's `--log`, `--records` and default config file.
@Suite("image-syncer command lines", .serialized)
struct SyncerCommandLineCLITests {
    @Test("README's command line runs: ./image-syncer.json is read when nothing else names the images; --log writes the log to a file")
    func defaultConfigAndLog() async throws {
        let a = try RegistryServer(), b = try RegistryServer()
        let tree = try await SyncerCompatCLITests.seed(a, "readme/app", seed: 9200)
        let dir = try TemporaryDirectory()
        try """
            {"images": {"\(a.host)/readme/app:1": "\(b.host)/readme/app"}}
            """.write(toFile: dir.file("image-syncer.json"), atomically: false, encoding: .utf8)
        let r = try Dray.run(["mirror", "--proc=6", "--retries=3", "--log", dir.file("sync.log")], currentDirectory: dir.path)
        #expect(r.status == 0, "\(r.stderr.suffix(1500))")
        #expect(r.stderr.isEmpty, "the log goes to the file: \(r.stderr)")
        let log = try String(contentsOfFile: dir.file("sync.log"), encoding: .utf8)
        #expect(log.contains("[IMG:1] Copied [\(b.host)/readme/app:1]"), "\(log)")
        let dst = RegistryClient(registry: b.host, options: MirrorCLITests.noAuth)
        #expect(try await dst.headManifest("readme/app", .tag("1"))?.digest == tree.top.digest)

        let empty = try TemporaryDirectory()
        let none = try Dray.run(["mirror"], currentDirectory: empty.path)
        #expect(none.status != 0 && none.stderr.contains("there is no ./image-syncer.json"), "\(none.stderr)")
        let badLog = try Dray.run(["mirror", "--log", empty.file("no/such/dir/x.log")], currentDirectory: dir.path)
        #expect(badLog.status == 1)
        #expect(badLog.stderr.hasPrefix("dray: error: --log \(empty.file("no/such/dir/x.log")): No such file"), "\(badLog.stderr)")
        #expect(badLog.stderr.split(separator: "\n").count == 1)
    }

    @Test("--records: written at the end; the next run skips an unchanged source without asking the destination; a changed source is copied again")
    func records() async throws {
        let a = try RegistryServer(), b = try RegistryServer()
        let first = try await SyncerCompatCLITests.seed(a, "rec/app", seed: 9300)
        let dir = try TemporaryDirectory()
        try "{\"\(a.host)/rec/app:1\": \"\(b.host)/rec/app\"}".write(toFile: dir.file("images.json"), atomically: false, encoding: .utf8)
        let args = ["mirror", "--images", dir.file("images.json"), "--records", dir.file("records"), "-o", dir.file("f.txt")]
        let r1 = try Dray.run(args)
        #expect(r1.status == 0, "\(r1.stderr.suffix(1500))")
        let records = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir.file("records")))) as? [String: Any]
        let images = records?["images"] as? [String: [String: String]]
        #expect(images?.values.first?["source"] == first.top.digest.description, "\(String(describing: records))")

        // The destination loses the tag behind dray's back: the record is trusted, the destination not asked.
        let dst = RegistryClient(registry: b.host, options: MirrorCLITests.noAuth)
        try await dst.deleteManifest("rec/app", first.top.digest)
        let r2 = try Dray.run(args)
        #expect(r2.status == 0)
        #expect(r2.stderr.contains("[IMG:1] Skipped [\(b.host)/rec/app:1]: recorded as \(first.top.digest) in --records, source unchanged"), "\(r2.stderr)")
        #expect(try await dst.headManifest("rec/app", .tag("1")) == nil)

        // A new image under the source tag is copied, and recorded.
        let second = try await SyncerCompatCLITests.seed(a, "rec/app", seed: 9301)
        let r3 = try Dray.run(args)
        #expect(r3.status == 0 && r3.stderr.contains("[IMG:1] Copied"), "\(r3.stderr)")
        #expect(try await dst.headManifest("rec/app", .tag("1"))?.digest == second.top.digest)
        #expect(try String(contentsOfFile: dir.file("records"), encoding: .utf8).contains(second.top.digest.description))

        try "not json".write(toFile: dir.file("records"), atomically: false, encoding: .utf8)
        let bad = try Dray.run(args)
        #expect(bad.status == 1 && bad.stderr.contains("--records \(dir.file("records")): not a records file"), "\(bad.stderr)")
    }
}
