import Engine
import Foundation
import Testing
import TestSupport
import Transports

@Suite("list-tags, tag selection, delete and convert-list")
struct RegistryUtilityCLITests {
    static let noAuth = RegistryOptions(credentials: CredentialStore(authFiles: []))
    static let tags = ["1.24.0", "1.25.0", "v1.26.1", "1.26.0", "2.0.0-rc.1", "latest", "main"]

    /// One image under every tag of `tags` at `repository`.
    static func seed(_ registry: RegistryServer, _ repository: String) async throws -> SyntheticImage.Tree {
        let client = RegistryClient(registry: registry.host, options: noAuth)
        let tree = try SyntheticImage.single(seed: 4300)
        try await SyntheticImage.push(tree, to: client, repository: repository, tag: tags[0])
        for t in tags.dropFirst() { try await client.putManifest(repository, .tag(t), tree.top) }
        return tree
    }

    @Test("list-tags filters by regex, semver range, newest N and exclusions")
    func listTags() async throws {
        let reg = try RegistryServer()
        _ = try await Self.seed(reg, "tags/app")
        func run(_ extra: [String]) throws -> [String] {
            let r = try Dray.run(["list-tags", "\(reg.host)/tags/app"] + extra)
            #expect(r.status == 0, "\(r.stderr)")
            return r.stdoutText.split(separator: "\n").map(String.init)
        }
        #expect(try Set(run([])) == Set(Self.tags))
        #expect(try run(["--semver", ">=1.25 <2"]) == ["v1.26.1", "1.26.0", "1.25.0"])
        #expect(try run(["--latest", "2", "--exclude-tag", "^v"]) == ["1.26.0", "1.25.0"])
        #expect(try Set(run(["--filter", "^1\\.2[45]"])) == ["1.24.0", "1.25.0"])
        #expect(try run(["--semver", ">=2.0.0-rc.0"]) == ["2.0.0-rc.1"])
        let bad = try Dray.run(["list-tags", "\(reg.host)/tags/app", "--semver", ">=one"])
        #expect(bad.status == 1 && bad.stderr == "dray: error: --semver: invalid semver range: \">=one\": not a version\n", "\(bad.stderr)")
    }

    @Test("mirror: a list line without a tag takes the selected tags; a tagged line is taken as it is; image-syncer rules for all tags are narrowed too")
    func mirrorSelection() async throws {
        let a = try RegistryServer(), b = try RegistryServer()
        let tree = try await Self.seed(a, "tags/app")
        _ = try await Self.seed(a, "tags/other")
        let dir = try TemporaryDirectory()
        try "\(a.host)/tags/app\n\(a.host)/tags/other:main\n".write(toFile: dir.file("list.txt"), atomically: false, encoding: .utf8)
        let r = try Dray.run(["mirror", "-f", dir.file("list.txt"), "-d", b.host, "--semver", "~1.26", "-o", dir.file("f.txt"),
                              "--report", dir.file("r.json")])
        #expect(r.status == 0, "\(r.stderr.suffix(1500))")
        let dst = RegistryClient(registry: b.host, options: Self.noAuth)
        #expect(Set(try await dst.tags("tags/app")) == ["v1.26.1", "1.26.0"])
        #expect(try await dst.tags("tags/other") == ["main"])
        #expect(try await dst.manifest("tags/app", .tag("v1.26.1")).digest == tree.top.digest)

        // image-syncer: a rule without tags takes all of them, here the newest one.
        try "\(a.host)/tags/other: \(b.host)/synced/other\n".write(toFile: dir.file("images.yaml"), atomically: false, encoding: .utf8)
        let s = try Dray.run(["mirror", "--images", dir.file("images.yaml"), "--latest", "1", "-o", dir.file("f2.txt")])
        #expect(s.status == 0, "\(s.stderr.suffix(1500))")
        #expect(try await dst.tags("synced/other") == ["v1.26.1"])

        // Nothing in range: the line fails with the selection named, and stays in the failed list.
        let none = try Dray.run(["mirror", "-f", dir.file("list.txt"), "-d", b.host, "--semver", ">=3", "-o", dir.file("f3.txt")])
        #expect(none.status == 1)
        #expect(none.stderr.contains("list.txt:1: no tag of \(a.host)/tags/app matches --semver >=3"), "\(none.stderr.suffix(1500))")
        #expect(try String(contentsOfFile: dir.file("f3.txt"), encoding: .utf8) == "\(a.host)/tags/app\n")
    }

    @Test("save and sync take the selected tags of untagged lines too, and save validate checks the same selection")
    func saveSelection() async throws {
        let a = try RegistryServer()
        _ = try await Self.seed(a, "tags/app")
        let dir = try TemporaryDirectory()
        try "\(a.host)/tags/app\n".write(toFile: dir.file("list.txt"), atomically: false, encoding: .utf8)
        let sync = try Dray.run(["sync", "-f", dir.file("list.txt"), "-d", dir.file("cache"), "--latest", "2", "-o", dir.file("f.txt")])
        #expect(sync.status == 0, "\(sync.stderr.suffix(1500))")
        let index = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir.file("cache/index.json")))) as! [String: Any]
        let names = (index["manifests"] as! [[String: Any]]).compactMap { ($0["annotations"] as? [String: String])?["org.opencontainers.image.ref.name"] }
        #expect(Set(names) == ["\(a.host)/tags/app:v1.26.1", "\(a.host)/tags/app:1.26.0"])

        let save = try Dray.run(["save", "-f", dir.file("list.txt"), "-d", dir.file("out.tar.zst"), "--compress", "zstd",
                                 "--cache", dir.file("save-cache"), "--semver", "<1.26", "-o", dir.file("f2.txt")])
        #expect(save.status == 0, "\(save.stderr.suffix(1500))")
        let check = try Dray.run(["save", "validate", "-f", dir.file("list.txt"), "-d", dir.file("out.tar.zst"), "--semver", "<1.26"])
        #expect(check.status == 0 && check.stdoutText.contains("1.25.0") && check.stdoutText.contains("1.24.0"), "\(check.stdoutText)\(check.stderr)")
        let wider = try Dray.run(["save", "validate", "-f", dir.file("list.txt"), "-d", dir.file("out.tar.zst"), "--latest", "1"])
        #expect(wider.status == 1, "v1.26.1 is not in the archive: \(wider.stdoutText)")
    }

    @Test("delete removes a manifest by its tag's digest with -y; without -y and no terminal nothing is deleted")
    func delete() async throws {
        let reg = try RegistryServer()
        _ = try await Self.seed(reg, "tags/app")
        let client = RegistryClient(registry: reg.host, options: Self.noAuth)
        let refused = try Dray.run(["delete", "\(reg.host)/tags/app:1.25.0"])
        #expect(refused.status == 1 && refused.stderr == "dray: error: refusing to delete without -y: standard input is not a terminal\n", "\(refused.stderr)")
        #expect(try await client.headManifest("tags/app", .tag("1.25.0")) != nil)
        let r = try Dray.run(["delete", "\(reg.host)/tags/app:1.25.0", "-y"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdoutText.hasPrefix("Deleted \(reg.host)/tags/app@sha256:"))
        #expect(try await client.headManifest("tags/app", .tag("1.25.0")) == nil, "every tag of that digest is gone")
        let missing = try Dray.run(["delete", "\(reg.host)/tags/app:nope", "-y"])
        #expect(missing.status == 1 && missing.stderr.contains("\(reg.host)/tags/app:nope: not found"))
    }

    @Test("convert-list writes Hangar's Mirror format; an invalid line writes nothing")
    func convertList() throws {
        let dir = try TemporaryDirectory()
        try """
            # images
            docker.io/library/nginx:1.27
            quay.io/team/tool@sha256:\(String(repeating: "ab", count: 32))
            redis
            src.example.com/a/b c.example.com/x/y 2.0
            """.write(toFile: dir.file("in.txt"), atomically: false, encoding: .utf8)
        let r = try Dray.run(["convert-list", "-i", dir.file("in.txt"), "-o", dir.file("out.txt"), "-d", "harbor.example.com",
                              "--destination-project", "mirror"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try String(contentsOfFile: dir.file("out.txt"), encoding: .utf8) == """
            docker.io/library/nginx harbor.example.com/mirror/nginx 1.27
            quay.io/team/tool harbor.example.com/mirror/tool sha256:\(String(repeating: "ab", count: 32))
            docker.io/library/redis harbor.example.com/mirror/redis latest
            src.example.com/a/b c.example.com/mirror/y 2.0

            """)
        // The converted list is a list mirror reads.
        let plan = try Dray.run(["mirror", "-f", dir.file("out.txt"), "--dry-run"])
        #expect(plan.status == 0 && plan.stdoutText.contains("4 images planned"), "\(plan.stdoutText)\(plan.stderr)")

        try "nginx:1.27\nbad line with four fields\n".write(toFile: dir.file("bad.txt"), atomically: false, encoding: .utf8)
        let bad = try Dray.run(["convert-list", "-i", dir.file("bad.txt"), "-o", dir.file("bad-out.txt"), "-d", "h.example.com"])
        #expect(bad.status == 1 && bad.stderr.contains("\(dir.file("bad.txt")):2: ") && bad.stderr.hasSuffix("; nothing written\n"), "\(bad.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.file("bad-out.txt")))
    }
}
