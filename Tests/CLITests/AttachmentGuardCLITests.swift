import Engine
import Foundation
import Synchronization
import Testing
import TestSupport
import Transports

/// Guards of the review fixes to attachment handling (bb47459): each test fails when its fix is undone.
@Suite("Attachments: guards of review fixes", .serialized)
struct AttachmentGuardCLITests {
    static let noAuth = AttachmentsCLITests.noAuth

    /// A single-platform image tagged `1` in `repository`, with a cosign `.sig` tag.
    static func signedImage(_ client: RegistryClient, _ repository: String, seed: UInt64) async throws -> (tree: SyntheticImage.Tree, sig: Digest) {
        let tree = try SyntheticImage.single(layers: 1, layerSize: 1_500, seed: seed)
        try await SyntheticImage.push(tree, to: client, repository: repository, tag: "1")
        let sig = try AttachmentFixtures.legacy("sig", of: tree.top)
        try await AttachmentFixtures.pushLegacy(sig, kind: "sig", subject: tree.top.digest, to: client, repository: repository)
        return (tree, sig.manifest.digest)
    }

    @Test("copy to a digest destination writes the top manifest before the referrers that name it")
    func digestDestinationTopFirst() async throws {
        let a = try RegistryServer(), b = try RegistryServer()
        let src = RegistryClient(registry: a.host, options: Self.noAuth)
        let s = try await AttachmentsCLITests.seed(src, "team/app")
        let puts = Mutex<[String]>([])
        let proxy = try FaultProxy(target: b.port) { x in
            if x.method == "PUT", x.isManifest { puts.withLock { $0.append(String(x.path)) } }
            return .pass
        }
        let r = try Dray.run(["copy", "\(a.host)/team/app@\(s.index)", "\(proxy.host)/team/app@\(s.index)"])
        #expect(r.status == 0, "\(r.stdoutText)\(r.stderr)")
        let order = puts.withLock { $0 }
        let referrers = Set(s.referrers.values.flatMap { $0 }.map { "/v2/team/app/manifests/\($0)" })
        let top = order.firstIndex(of: "/v2/team/app/manifests/\(s.index)")
        let firstReferrer = order.firstIndex { referrers.contains($0) }
        #expect(top != nil && firstReferrer != nil, "\(order)")
        if let top, let firstReferrer {
            #expect(top < firstReferrer, "the top manifest must be stored before its referrers: \(order)")
        }
        try await AttachmentsCLITests.expectCarried(s, to: RegistryClient(registry: b.host, options: Self.noAuth), "team/app")
    }

    @Test("mirror validate skips the attachments of an image the platform filter leaves out")
    func validateSkipsFilteredOutImage() async throws {
        let a = try RegistryServer(), b = try RegistryServer()
        let src = RegistryClient(registry: a.host, options: Self.noAuth)
        let (tree, _) = try await Self.signedImage(src, "team/one", seed: 1901)
        try await AttachmentFixtures.pushReferrer(try AttachmentFixtures.bundle(of: tree.top), subject: tree.top.digest, to: src, repository: "team/one")
        let dir = try TemporaryDirectory()
        try "\(a.host)/team/one:1\n".write(toFile: dir.file("list.txt"), atomically: false, encoding: .utf8)
        let mirror = try Dray.run(["mirror", "-f", dir.file("list.txt"), "-d", b.host, "-a", "s390x", "-o", dir.file("f.txt")])
        #expect(mirror.status == 0, "\(mirror.stderr)")
        let dst = RegistryClient(registry: b.host, options: Self.noAuth)
        #expect(try await dst.headManifest("team/one", .tag("1")) == nil, "the filter leaves the amd64 image out")
        let validate = try Dray.run(["mirror", "validate", "-f", dir.file("list.txt"), "-d", b.host, "-a", "s390x"])
        #expect(validate.status == 0, "\(validate.stdoutText)\(validate.stderr)")
        #expect(!validate.stdoutText.contains("missing"), "\(validate.stdoutText)")
    }

    @Test("the prefetched source tag list is retried: a slow 503 on the first tags/list still brings the cosign .sig")
    func prefetchRetried() async throws {
        let a = try RegistryServer(), b = try RegistryServer()
        let src = RegistryClient(registry: a.host, options: Self.noAuth)
        let (tree, sig) = try await Self.signedImage(src, "team/app", seed: 1902)
        let lists = Mutex(0)
        let proxy = try FaultProxy(target: a.port) { x in
            guard x.path.hasSuffix("/tags/list") else { return .pass }
            let n = lists.withLock { $0 += 1; return $0 }
            guard n == 1 else { return .pass }
            // Slow enough that discovery joins this fetch instead of starting its own.
            Thread.sleep(forTimeInterval: 1.5)
            return .status(503)
        }
        let dir = try TemporaryDirectory()
        try "\(proxy.host)/team/app:1\n".write(toFile: dir.file("list.txt"), atomically: false, encoding: .utf8)
        let r = try Dray.run(["mirror", "-f", dir.file("list.txt"), "-d", b.host, "--all", "-o", dir.file("f.txt"), "--report", dir.file("r.json")])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(lists.withLock { $0 } >= 2, "the tag list was asked for \(lists.withLock { $0 }) time(s)")
        let dst = RegistryClient(registry: b.host, options: Self.noAuth)
        #expect(try await dst.headManifest("team/app", .tag("\(tree.top.digest.dashed).sig"))?.digest == sig)
    }

    @Test("NAME_UNKNOWN from the referrers endpoint teaches nothing: a later image in the run still uses the API")
    func nameUnknownTeachesNothing() async throws {
        let a = try RegistryServer(), b = try RegistryServer()
        let src = RegistryClient(registry: a.host, options: Self.noAuth)
        var subjects: [(repository: String, subject: Digest, referrer: Digest)] = []
        for (i, name) in ["one", "two"].enumerated() {
            let tree = try SyntheticImage.single(layers: 1, layerSize: 1_500, seed: 1903 + UInt64(i))
            try await SyntheticImage.push(tree, to: src, repository: "team/\(name)", tag: "1")
            let bundle = try AttachmentFixtures.bundle(of: tree.top, note: name)
            try await AttachmentFixtures.pushReferrer(bundle, subject: tree.top.digest, to: src, repository: "team/\(name)")
            subjects.append(("new/\(name)", tree.top.digest, bundle.manifest.digest))
        }
        // Both repositories are new at the destination; the first one's referrers endpoint says NAME_UNKNOWN until
        // its first referrer is stored.
        let proxy = try ReferrersProxy(target: b.port, behaviour: .init(unknownUntilReferred: ["new/one"]))
        let dir = try TemporaryDirectory()
        try "\(a.host)/team/one \(proxy.host)/new/one 1\n\(a.host)/team/two \(proxy.host)/new/two 1\n"
            .write(toFile: dir.file("list.txt"), atomically: false, encoding: .utf8)
        let r = try Dray.run(["mirror", "-f", dir.file("list.txt"), "--all", "-o", dir.file("f.txt"), "--referrers-mode", "auto", "-j", "1"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect((proxy.requestCounts["name-unknown"] ?? 0) >= 1, "the NAME_UNKNOWN case was met: \(proxy.requestCounts)")
        let dst = RegistryClient(registry: proxy.host, options: Self.noAuth)
        for (repository, subject, referrer) in subjects {
            #expect(try await dst.headManifest(repository, .digest(referrer))?.digest == referrer, "\(repository)")
            #expect(proxy.referrers(repository, of: subject).map(\.digest) == [referrer], "\(repository)")
        }
        // The first image's own subject met NAME_UNKNOWN and so, that once, went by the fallback tag as well (as oras
        // does); that is not asserted here. The second image met the API (the first's NAME_UNKNOWN taught nothing):
        // no fallback tag was written for it.
        #expect(try await AttachmentFixtures.fallbackList(dst, subjects[1].repository, subjects[1].subject) == nil,
                "a fallback tag was written for the second image: the NAME_UNKNOWN was taken for a registry without the API")
    }

    @Test("save skips a stale fallback entry (a listed referrer whose manifest was deleted) and archives the image")
    func saveSkipsStaleFallbackEntry() async throws {
        let a = try RegistryServer()
        let src = RegistryClient(registry: a.host, options: Self.noAuth)
        let tree = try SyntheticImage.index(layers: 1, layerSize: 2_000, seed: 1905)
        try await SyntheticImage.push(tree, to: src, repository: "team/app", tag: "1")
        let kept = try AttachmentFixtures.bundle(of: tree.children[1], note: "kept")
        try await AttachmentFixtures.pushReferrer(kept, subject: tree.children[1].digest, to: src, repository: "team/app")
        // The arm64 manifest's fallback index goes stale: a referrer is deleted after it was listed.
        let gone = try AttachmentFixtures.bundle(of: tree.children[1], note: "gone")
        try await AttachmentFixtures.pushReferrer(gone, subject: tree.children[1].digest, to: src, repository: "team/app")
        try await src.deleteManifest("team/app", gone.manifest.digest)
        #expect(try await AttachmentFixtures.fallbackList(src, "team/app", tree.children[1].digest) == [kept.manifest.digest, gone.manifest.digest])

        let dir = try TemporaryDirectory()
        try "\(a.host)/team/app:1\n".write(toFile: dir.file("list.txt"), atomically: false, encoding: .utf8)
        let archive = dir.file("images.tar.gz")
        let save = try Dray.run(["save", "-f", dir.file("list.txt"), "-d", archive, "--cache", dir.file("cache"), "--all", "-o", dir.file("f.txt")])
        #expect(save.status == 0, "\(save.stderr)")
        // Planned whole (the stale entry left out), so the archive was written while downloading.
        #expect(save.stderr.contains("while downloading"), "\(save.stderr)")
        let ls = try Dray.run(["archive", "ls", archive])
        #expect(ls.status == 0 && ls.stdoutText.contains("team/app:1") && ls.stdoutText.contains("(and 1 attachment)"), "\(ls.stdoutText)\(ls.stderr)")
        #expect(ls.stdoutText.contains(kept.manifest.digest.description) && !ls.stdoutText.contains(gone.manifest.digest.description), "\(ls.stdoutText)")
    }
}
