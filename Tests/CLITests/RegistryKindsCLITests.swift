import Engine
import Foundation
import Testing
import TestSupport
import Transports

/// Real registries behave differently: each behaviour is a `RegistryImitation` mode (a spec-following layer in
/// front of a real distribution registry that answers as the named registry is documented or reported to),
/// and `dray mirror` must complete with every digest right, the request log showing what it learned.
@Suite("Registry kinds: Harbor, ECR, GAR, Nexus, Quay, Docker Hub, S3-backed and Artifactory behaviours")
struct RegistryKindsCLITests {
    static let noAuth = MirrorCLITests.noAuth

    /// Source and destination registries, the destination (or the source) behind an imitation, and images.
    struct Scene {
        let source: RegistryServer
        let destination: RegistryServer
        let imitation: RegistryImitation
        let images: [(name: String, tree: SyntheticImage.Tree)]
        let dir: TemporaryDirectory

        /// `count` single-platform images sharing one base layer (so later images mount it), each layer
        /// `layerSize` bytes; the imitation in front of the destination, or of the source with `inFrontOfSource`.
        init(_ mode: RegistryImitation.Mode, count: Int = 4, layerSize: Int = 40_000, inFrontOfSource: Bool = false) async throws {
            source = try RegistryServer()
            destination = try RegistryServer()
            imitation = try RegistryImitation(target: inFrontOfSource ? source.port : destination.port, mode: mode)
            let client = RegistryClient(registry: source.host, options: RegistryKindsCLITests.noAuth)
            var images: [(String, SyntheticImage.Tree)] = []
            for i in 0..<count {
                let tree = try SyntheticImage.index(platforms: [Platform(os: "linux", architecture: "amd64")], layers: 1,
                                                    layerSize: layerSize, seed: UInt64(4000 + i), sharedBase: [9])
                try await SyntheticImage.push(tree, to: client, repository: "kinds/app\(i)", tag: "v\(i)")
                images.append(("kinds/app\(i)", tree))
            }
            self.images = images
            dir = try TemporaryDirectory()
        }

        var sourceHost: String { imitation.target == source.port ? imitation.host : source.host }
        var destinationHost: String { imitation.target == destination.port ? imitation.host : destination.host }

        /// Mirrors every image (Mirror format: `SOURCE DESTINATION TAG`) into `project/appN` with `extra` flags.
        func mirror(project: String = "team", _ extra: [String] = [], profile: String? = nil) throws -> Shell.Result {
            let lines = images.enumerated().map { i, im in "\(sourceHost)/\(im.name) \(destinationHost)/\(project)/app\(i) v\(i)" }
            try lines.joined(separator: "\n").write(toFile: dir.file("list.txt"), atomically: false, encoding: .utf8)
            var args = ["mirror", "-f", dir.file("list.txt"), "-j", "1", "--blob-jobs", "1", "--all", "-o", dir.file("failed.txt"),
                        "--report", dir.file("report.json")]
            if let profile {
                try profile.write(toFile: dir.file("registries.yaml"), atomically: false, encoding: .utf8)
                args += ["--registries-config", dir.file("registries.yaml")]
            }
            return try Dray.run(args + extra)
        }

        /// Every image is at the destination with its source digest, and every blob is there.
        func expectCopied(project: String = "team", sourceLocation: SourceLocation = #_sourceLocation) async throws {
            let dst = RegistryClient(registry: destination.host, options: RegistryKindsCLITests.noAuth)
            for (i, im) in images.enumerated() {
                let m = try await dst.manifest("\(project)/app\(i)", .tag("v\(i)"))
                #expect(m.bytes == im.tree.top.bytes, sourceLocation: sourceLocation)
                for (d, _) in im.tree.blobs {
                    #expect(try await dst.headBlob("\(project)/app\(i)", d) != nil, "blob \(d) missing", sourceLocation: sourceLocation)
                }
            }
        }

        var report: [String: Any] { (try? MirrorCLITests.report(dir.file("report.json"))) ?? [:] }
    }

    @Test("harbor: a missing project is created (private) before the push; a mount from a project the token cannot read falls back to an upload")
    func harborProjects() async throws {
        let s = try await Scene(.harbor(.init(projects: ["library", "secret"], unreadableProjects: ["secret"])))
        // app0 goes to the unreadable project first; app1.. mount its base layer from there and get 401.
        let lines = s.images.enumerated().map { i, im in
            "\(s.source.host)/\(im.name) \(s.imitation.host)/\(i == 0 ? "secret" : "team")/app\(i) v\(i)"
        }
        try lines.joined(separator: "\n").write(toFile: s.dir.file("list.txt"), atomically: false, encoding: .utf8)
        let r = try Dray.run(["mirror", "-f", s.dir.file("list.txt"), "-j", "1", "--blob-jobs", "1", "--all", "-o", s.dir.file("failed.txt"),
                              "--dest-creds", "admin:Harbor-admin-pw"])
        #expect(r.status == 0, "\(r.stderr.suffix(2000))")
        #expect(s.imitation.created.map(\.name) == ["team"])
        #expect(s.imitation.created.first?.public == false)
        #expect(s.imitation.count(.harborPing) == 1 && s.imitation.count(.projectHead) == 2)
        #expect(r.stderr.contains("created Harbor project team (private)"))
        let refusedMounts = s.imitation.exchanges.filter { $0.kind == .mount && $0.query.contains("from=secret") && $0.status == 401 }
        #expect(refusedMounts.count >= 1, "\(s.imitation.exchanges.filter { $0.kind == .mount })")
        let dst = RegistryClient(registry: s.destination.host, options: Self.noAuth)
        for (i, im) in s.images.enumerated() {
            #expect(try await dst.manifest("\(i == 0 ? "secret" : "team")/app\(i)", .tag("v\(i)")).bytes == im.tree.top.bytes)
        }
    }

    @Test("harbor: --harbor-public-projects creates public projects; --skip-create-project leaves them missing and the pushes fail NOT_FOUND; a robot account gets one clear line naming the project")
    func harborFlags() async throws {
        let s = try await Scene(.harbor(.init(robots: ["robot$ci"])), count: 1)
        let pub = try s.mirror(project: "open", ["--harbor-public-projects", "--dest-creds", "admin:Harbor-admin-pw"])
        #expect(pub.status == 0, "\(pub.stderr.suffix(2000))")
        #expect(s.imitation.created.map(\.public) == [true])

        let skipped = try s.mirror(project: "absent", ["--skip-create-project", "--retries", "0"])
        #expect(skipped.status == 1)
        #expect(skipped.stderr.contains("NOT_FOUND"), "\(skipped.stderr.suffix(2000))")
        #expect(!s.imitation.created.contains { $0.name == "absent" })

        let robot = try s.mirror(project: "denied", ["--dest-creds", "robot$ci:s3cret-robot"])
        #expect(robot.status != 0)
        #expect(robot.stderr.contains("Harbor project \"denied\"") && robot.stderr.contains("403"), "\(robot.stderr.suffix(2000))")
        #expect(robot.stderr.split(separator: "\n").filter { $0.contains("error") }.count == 1)
    }

    @Test("ecr-no-mount: mounts answered with upload sessions are given up after 3; the later images try none")
    func ecrNoMount() async throws {
        let s = try await Scene(.ecrNoMount, count: 10)
        let r = try s.mirror()
        #expect(r.status == 0, "\(r.stderr.suffix(2000))")
        try await s.expectCopied()
        let mounts = s.imitation.exchanges.filter { $0.kind == .mount }
        /// Whether a mount names another repository than the one it is sent to.
        func crossRepository(_ x: RegistryImitation.Exchange) -> Bool {
            let repository = String(x.path.dropFirst(4).dropLast("/blobs/uploads/".count))
            let from = x.query.split(separator: "&").first { $0.hasPrefix("from=") }.map { String($0.dropFirst(5)) }
            return (from?.removingPercentEncoding ?? from) != repository
        }
        let cross = mounts.filter(crossRepository)
        // Each image after the first could mount the shared base: 9 chances, 3 taken before learning (a mount
        // already on its way when the third answer came may still arrive).
        #expect((3...5).contains(cross.count), "\(cross.count) cross-repository mounts: \(cross)")
        // The last images send no mount at all: existence is asked with HEAD instead.
        for i in 6..<10 {
            #expect(!mounts.contains { $0.path.hasPrefix("/v2/team/app\(i)/") }, "app\(i) still mounted: \(mounts)")
        }
        #expect(s.imitation.count(.headBlob) > 0)
        let learned = ((s.report["registries"] as? [String: Any])?[s.imitation.host] as? [String: Any])?["learned"] as? [String]
        #expect(learned?.contains { $0.hasPrefix("mount: never") } == true, "\(s.report["registries"] ?? "")")
    }

    @Test("gar-monolithic: a chunked or streamed upload refused once is learned; every later blob goes monolithic")
    func garMonolithic() async throws {
        for upload in ["chunked\n    chunkSize: 16KiB", "streamed"] {
            let s = try await Scene(.garMonolithic, count: 3)
            let r = try s.mirror(profile: "registries:\n  \"\(s.imitation.host)\":\n    upload: \(upload)\n")
            #expect(r.status == 0, "\(r.stderr.suffix(2000))")
            try await s.expectCopied()
            #expect(s.imitation.count(.patch) == 1, "\(upload): \(s.imitation.exchanges.filter { $0.kind == .patch })")
            #expect(s.imitation.count(.uploadPut) >= 4)
        }
        // Built-in knowledge: a host known as Artifact Registry never gets a PATCH.
        let s = try await Scene(.garMonolithic, count: 2)
        let r = try s.mirror(profile: "registries:\n  \"\(s.imitation.host)\":\n    kind: gar\n")
        #expect(r.status == 0)
        #expect(s.imitation.count(.patch) == 0)
    }

    @Test("OCI-Chunk-Min-Length: chunks are at least what the registry announces")
    func chunkMinLength() async throws {
        let s = try await Scene(.chunkMinLength(64 << 10), count: 2, layerSize: 150_000)
        let r = try s.mirror(profile: "registries:\n  \"\(s.imitation.host)\":\n    upload: chunked\n    chunkSize: 16KiB\n")
        #expect(r.status == 0, "\(r.stderr.suffix(2000))")
        try await s.expectCopied()
        #expect(!s.imitation.exchanges.contains { $0.status == 416 })
        // 150 KB layers in chunks of at least 64 KiB: 3 PATCHes each, not 10.
        #expect(s.imitation.count(.patch) <= 3 * 4, "\(s.imitation.count(.patch)) PATCHes")
    }

    @Test("refuse-streamed: a streamed PATCH without Content-Length refused once is learned")
    func refuseStreamed() async throws {
        let s = try await Scene(.refuseStreamed, count: 3)
        let r = try s.mirror(profile: "registries:\n  \"\(s.imitation.host)\":\n    upload: streamed\n")
        #expect(r.status == 0, "\(r.stderr.suffix(2000))")
        try await s.expectCopied()
        #expect(s.imitation.count(.streamedRequest) == 1)
    }

    @Test("s3-eventual: a manifest naming blobs uploaded moments ago is asked again briefly instead of failing")
    func s3Eventual() async throws {
        let s = try await Scene(.s3Eventual(.milliseconds(1200)), count: 2)
        let r = try s.mirror(["--retries", "0"])
        #expect(r.status == 0, "\(r.stderr.suffix(2000))")
        try await s.expectCopied()
        #expect(s.imitation.exchanges.contains { $0.kind == .manifestPut && $0.status == 400 }, "the imitation never said MANIFEST_BLOB_UNKNOWN")
    }

    @Test("artifactory-head-lies: with blobCheck get (built in for kind artifactory) blobs are checked by GET; trusting HEAD fails")
    func artifactoryHeadLies() async throws {
        let s = try await Scene(.artifactoryHeadLies, count: 2)
        let good = try s.mirror(profile: "registries:\n  \"\(s.imitation.host)\":\n    kind: artifactory\n")
        #expect(good.status == 0, "\(good.stderr.suffix(2000))")
        try await s.expectCopied()
        #expect(s.imitation.count(.headBlob) == 0)
        let t = try await Scene(.artifactoryHeadLies, count: 1)
        let bad = try t.mirror(["--retries", "0"], profile: "registries:\n  \"\(t.imitation.host)\":\n    blobCheck: head\n")
        #expect(bad.status == 1, "a HEAD that lies makes the blobs look present, so the manifest is refused")
        #expect(bad.stderr.contains("MANIFEST_BLOB_UNKNOWN"), "\(bad.stderr.suffix(2000))")
    }

    @Test("hub-401-missing: a repository that does not exist answers 401 to a valid token; the failure says not found, not bad credentials")
    func hub401Missing() async throws {
        let s = try await Scene(.hub401Missing, count: 1, inFrontOfSource: true)
        try "\(s.imitation.host)/kinds/app0:v0\n\(s.imitation.host)/kinds/nothere:v1\n".write(toFile: s.dir.file("list.txt"), atomically: false, encoding: .utf8)
        let r = try Dray.run(["mirror", "-f", s.dir.file("list.txt"), "-d", s.destination.host, "-j", "1", "--all",
                              "-o", s.dir.file("failed.txt"), "--retries", "0"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("not found") && r.stderr.contains("does not exist"), "\(r.stderr.suffix(2000))")
        #expect(!r.stderr.contains("authentication required"))
        #expect(try String(contentsOfFile: s.dir.file("failed.txt"), encoding: .utf8).contains("nothere"))
        let dst = RegistryClient(registry: s.destination.host, options: Self.noAuth)
        #expect(try await dst.manifest("kinds/app0", .tag("v0")).bytes == s.images[0].tree.top.bytes)
    }

    @Test("hub-ratelimit: RateLimit-Remaining is read and pulls pause at --ratelimit-min instead of running into 429s; the report shows what is left")
    func hubRateLimit() async throws {
        let s = try await Scene(.hubRateLimit(limit: 24, window: 3), count: 30, layerSize: 2000, inFrontOfSource: true)
        let list = s.images.enumerated().map { i, im in "\(s.imitation.host)/\(im.name):v\(i)" }
        try list.joined(separator: "\n").write(toFile: s.dir.file("list.txt"), atomically: false, encoding: .utf8)
        let r = try Dray.run(["mirror", "-f", s.dir.file("list.txt"), "-d", s.destination.host, "-j", "6", "--all",
                              "-o", s.dir.file("failed.txt"), "--report", s.dir.file("report.json"), "--ratelimit-min", "6"])
        #expect(r.status == 0, "\(r.stderr.suffix(2000))")

        #expect(s.imitation.count(.tooManyRequests) == 0, "\(s.imitation.count(.tooManyRequests)) 429s")
        #expect(s.imitation.count(.manifestGet) >= 30)
        let stats = (s.report["registries"] as? [String: Any])?[s.imitation.host] as? [String: Any]
        #expect(stats?["rateLimitLimit"] as? Int == 24, "\(s.report["registries"] ?? "")")
        #expect(stats?["rateLimitRemaining"] is Int)
    }

    @Test("nexus-bad-link and Quay: 2,500 tags listed whole whether Link is missing, names another host or another path, or pages are capped at 100")
    func tagPages() async throws {
        let registry = try RegistryServer()
        let client = RegistryClient(registry: registry.host, options: Self.noAuth)
        let tree = try SyntheticImage.single(layers: 1, layerSize: 100, seed: 77)
        try await SyntheticImage.push(tree, to: client, repository: "many/tags", tag: "t0")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 1..<2500 {
                if i > 16 { try await group.next() }
                group.addTask { try await client.putManifest("many/tags", .tag("t\(i)"), tree.top) }
            }
            try await group.waitForAll()
        }
        let expected = Set((0..<2500).map { "t\($0)" })
        for link in [RegistryImitation.NexusLink.missing, .otherHost, .otherPath] {
            let imitation = try RegistryImitation(target: registry.port, mode: .nexusBadLink(link, pageCap: 1000))
            let r = try Dray.run(["list-tags", "\(imitation.host)/many/tags"])
            #expect(r.status == 0, "\(link): \(r.stderr.suffix(1000))")
            #expect(Set(r.stdoutText.split(separator: "\n").map(String.init)) == expected, "\(link): \(r.stdoutText.split(separator: "\n").count) tags")
            #expect(imitation.count(.tagsPage) == 3, "\(link): \(imitation.count(.tagsPage)) pages")
            guard link == .otherHost else { continue }
            // A mirror of the repository's last ten tags (only the third page holds them) through the same listing.
            let destination = try RegistryServer()
            let dir = try TemporaryDirectory()
            try "\(imitation.host)/many/tags\n".write(toFile: dir.file("list.txt"), atomically: false, encoding: .utf8)
            let m = try Dray.run(["mirror", "-f", dir.file("list.txt"), "-d", destination.host, "--all", "-j", "4",
                                  "--exclude-tag", "^t([0-9]{1,3}|1[0-9]{3}|2[0-3][0-9]{2}|24[0-8][0-9])$", "-o", dir.file("f.txt")])
            #expect(m.status == 0, "\(m.stderr.suffix(2000))")
            let dst = RegistryClient(registry: destination.host, options: Self.noAuth)
            #expect(Set(try await dst.tags("many/tags")) == Set((2490..<2500).map { "t\($0)" }))
            #expect(try await dst.manifest("many/tags", .tag("t2499")).bytes == tree.top.bytes)
        }
        let quay = try RegistryImitation(target: registry.port, mode: .quayPageLimit(100))
        let dir = try TemporaryDirectory()
        try "registries:\n  \"\(quay.host)\":\n    kind: quay\n".write(toFile: dir.file("r.yaml"), atomically: false, encoding: .utf8)
        let r = try Dray.run(["list-tags", "\(quay.host)/many/tags", "--registries-config", dir.file("r.yaml")])
        #expect(Set(r.stdoutText.split(separator: "\n").map(String.init)) == expected)
        #expect(quay.exchanges.filter { $0.kind == .tagsPage }.allSatisfy { $0.query.contains("n=100") })
        // 25 full pages, and a 26th (empty) one when the last full page still carries a Link.
        #expect((25...26).contains(quay.count(.tagsPage)), "\(quay.count(.tagsPage)) pages")
    }
}
