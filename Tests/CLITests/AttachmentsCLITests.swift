import Engine
import Foundation
import Testing
import TestSupport
import Transports

/// Everything attached to an image travels with it: OCI 1.1 referrers (by the referrers API or the fallback tag)
/// and cosign's legacy tags, against real registries (the fallback-tag path) and the referrers layer in front of
/// one (the API path).
@Suite("Attachments: referrers, fallback tags and cosign tags travel with images", .serialized)
struct AttachmentsCLITests {
    static let noAuth = RegistryOptions(credentials: CredentialStore(authFiles: []))

    /// An image with something of every kind attached, in `repository` of `client`.
    struct Seeded {
        var tree: SyntheticImage.Tree
        /// Attachment manifest digest → its subject, for every attachment.
        var attachments: [Digest: Digest] = [:]
        /// The referrers (not legacy tags), by subject.
        var referrers: [Digest: [Digest]] = [:]
        /// The legacy tags and the digest each holds.
        var legacy: [String: Digest] = [:]
        var index: Digest { tree.top.digest }
        var amd64: RawManifest { tree.children[0] }
        var arm64: RawManifest { tree.children[1] }
    }

    /// Pushes a three-platform index with: a bundle, an SBOM (with a bundle on the SBOM), a notation signature and
    /// a Helm chart on the index; a bundle on the arm64 manifest; cosign `.sig` and `.sbom` on the index and `.att`
    /// on the amd64 manifest. `fallback` false: the registry serves the referrers API (no fallback tags written).
    static func seed(_ client: RegistryClient, _ repository: String, tag: String = "1", seed: UInt64 = 1701, fallback: Bool = true) async throws -> Seeded {
        let tree = try SyntheticImage.index(layers: 1, layerSize: 3_000, seed: seed)
        try await SyntheticImage.push(tree, to: client, repository: repository, tag: tag)
        var s = Seeded(tree: tree)
        func referrer(_ b: SyntheticImage.Built, on subject: RawManifest) async throws {
            try await AttachmentFixtures.pushReferrer(b, subject: subject.digest, to: client, repository: repository, fallback: fallback)
            s.attachments[b.manifest.digest] = subject.digest
            s.referrers[subject.digest, default: []].append(b.manifest.digest)
        }
        let sbom = try AttachmentFixtures.sbom(of: tree.top)
        try await referrer(try AttachmentFixtures.bundle(of: tree.top), on: tree.top)
        try await referrer(sbom, on: tree.top)
        try await referrer(try AttachmentFixtures.bundle(of: sbom.manifest, note: "on-sbom"), on: sbom.manifest)
        try await referrer(try AttachmentFixtures.notation(of: tree.top), on: tree.top)
        try await referrer(try AttachmentFixtures.helmChart(of: tree.top), on: tree.top)
        try await referrer(try AttachmentFixtures.bundle(of: tree.children[1], note: "arm64"), on: tree.children[1])
        for (kind, subject) in [("sig", tree.top), ("sbom", tree.top), ("att", tree.children[0])] {
            let b = try AttachmentFixtures.legacy(kind, of: subject)
            try await AttachmentFixtures.pushLegacy(b, kind: kind, subject: subject.digest, to: client, repository: repository)
            s.attachments[b.manifest.digest] = subject.digest
            s.legacy["\(subject.digest.dashed).\(kind)"] = b.manifest.digest
        }
        return s
    }

    /// The report's images, as dictionaries.
    static func reportImages(_ path: String) throws -> [[String: Any]] {
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
        return json["images"] as! [[String: Any]]
    }

    /// Each attachment of the report's first image: digest → (status, found).
    static func attachmentStatuses(_ path: String) throws -> [String: (status: String, found: String, reason: String?)] {
        let list = try reportImages(path).first?["attachments"] as? [[String: Any]] ?? []
        var out: [String: (String, String, String?)] = [:]
        for a in list { out[a["digest"] as! String] = (a["status"] as! String, a["found"] as! String, a["reason"] as? String) }
        return out
    }

    /// Every attachment of `s` is at `client`/`repository` byte for byte: referrers listed for their subjects
    /// (by the fallback tag, or by `proxy`'s referrers API), legacy tags holding the same digests.
    static func expectCarried(_ s: Seeded, to client: RegistryClient, _ repository: String, proxy: ReferrersProxy? = nil,
                              sourceLocation: SourceLocation = #_sourceLocation) async throws {
        for (d, _) in s.attachments {
            #expect(try await client.headManifest(repository, .digest(d))?.digest == d, "\(d) is missing", sourceLocation: sourceLocation)
        }
        for (subject, referrers) in s.referrers {
            let listed: [Digest]
            if let proxy {
                listed = proxy.referrers(repository, of: subject).map(\.digest)
            } else {
                listed = try await AttachmentFixtures.fallbackList(client, repository, subject) ?? []
            }
            #expect(Set(listed) == Set(referrers), "referrers of \(subject): \(listed) vs \(referrers)", sourceLocation: sourceLocation)
        }
        for (tag, d) in s.legacy {
            #expect(try await client.headManifest(repository, .tag(tag))?.digest == d, "\(tag)", sourceLocation: sourceLocation)
        }
    }

    @Test("fallback tag to fallback tag: every referrer, an SBOM's own signature and the cosign tags arrive byte for byte; a re-run finds them present")
    func fallbackToFallback() async throws {
        let a = try RegistryServer(), b = try RegistryServer()
        let src = RegistryClient(registry: a.host, options: Self.noAuth)
        let dst = RegistryClient(registry: b.host, options: Self.noAuth)
        let s = try await Self.seed(src, "team/app")
        let dir = try TemporaryDirectory()
        try "\(a.host)/team/app:1\n".write(toFile: dir.file("list.txt"), atomically: false, encoding: .utf8)
        let mirror = ["mirror", "-f", dir.file("list.txt"), "-d", b.host, "--all", "-o", dir.file("failed.txt")]
        let first = try Dray.run(mirror + ["--report", dir.file("r1.json")])
        #expect(first.status == 0, "\(first.stderr)")
        try await Self.expectCarried(s, to: dst, "team/app")
        let statuses = try Self.attachmentStatuses(dir.file("r1.json"))
        #expect(statuses.count == s.attachments.count, "\(statuses)")
        #expect(statuses.values.allSatisfy { $0.status == "copied" }, "\(statuses)")
        for (d, _) in s.legacy.values.map({ ($0, 0) }) { #expect(statuses[d.description]?.found == "legacy-tag") }
        #expect(statuses.values.filter { $0.found == "fallback-tag" }.count == 6)

        let second = try Dray.run(mirror + ["--report", dir.file("r2.json")])
        #expect(second.status == 0, "\(second.stderr)")
        let again = try Self.attachmentStatuses(dir.file("r2.json"))
        #expect(again.count == s.attachments.count && again.values.allSatisfy { $0.status == "present" }, "\(again)")

        // mirror validate checks attachments: it passes, then fails once a referrer is unlisted and a cosign tag gone.
        let validate = ["mirror", "validate", "-f", dir.file("list.txt"), "-d", b.host, "--all"]
        let ok = try Dray.run(validate)
        #expect(ok.status == 0 && ok.stdoutText.contains("1 passed, 0 failed"), "\(ok.stdoutText)\(ok.stderr)")
        let kept = s.referrers[s.index]!.dropFirst().map { d in
            try! JSONSerialization.jsonObject(with: JSONEncoder().encode(Descriptor(mediaType: .ociManifest, digest: d, size: 1)))
        }
        try await AttachmentFixtures.putIndex(kept, to: dst, repository: "team/app", tag: s.index.dashed)
        try await dst.deleteManifest("team/app", s.legacy["\(s.amd64.digest.dashed).att"]!)
        let bad = try Dray.run(validate)
        #expect(bad.status != 0, "\(bad.stdoutText)")
        #expect(bad.stdoutText.contains("2 attachments missing") && bad.stdoutText.contains(s.referrers[s.index]![0].description)
                && bad.stdoutText.contains("cosign .att of \(s.amd64.digest) is missing"), "\(bad.stdoutText)")
        // --referrers none checks the images only.
        #expect(try Dray.run(validate + ["--referrers", "none"]).status == 0)
    }

    @Test("referrers API to fallback tag, and fallback tag to referrers API (auto learns; --referrers-mode tag keeps the tag as well)")
    func apiAndFallback() async throws {
        let a = try RegistryServer(), b = try RegistryServer(), c = try RegistryServer()
        let apiSource = try ReferrersProxy(target: a.port)
        let apiDestination = try ReferrersProxy(target: c.port)
        let src = RegistryClient(registry: apiSource.host, options: Self.noAuth)
        let s = try await Self.seed(src, "team/app", fallback: false)
        #expect(try await AttachmentFixtures.fallbackList(src, "team/app", s.index) == nil, "the API source has no fallback tags")
        let dir = try TemporaryDirectory()

        // API → fallback tag.
        try "\(apiSource.host)/team/app:1\n".write(toFile: dir.file("l1.txt"), atomically: false, encoding: .utf8)
        let toFallback = try Dray.run(["mirror", "-f", dir.file("l1.txt"), "-d", b.host, "--all", "-o", dir.file("f1.txt"), "--report", dir.file("r1.json")])
        #expect(toFallback.status == 0, "\(toFallback.stderr)")
        let dst = RegistryClient(registry: b.host, options: Self.noAuth)
        try await Self.expectCarried(s, to: dst, "team/app")
        let found = try Self.attachmentStatuses(dir.file("r1.json"))
        #expect(found.values.filter { $0.found == "api" }.count == 6 && found.values.allSatisfy { $0.status == "copied" }, "\(found)")
        #expect((apiSource.requestCounts["referrers"] ?? 0) >= 6, "\(apiSource.requestCounts)")

        // Fallback tag → API: the destination indexes the subjects; no fallback tag is written there.
        try "\(b.host)/team/app:1\n".write(toFile: dir.file("l2.txt"), atomically: false, encoding: .utf8)
        let toAPI = try Dray.run(["mirror", "-f", dir.file("l2.txt"), "-d", apiDestination.host, "--all", "-o", dir.file("f2.txt"), "--report", dir.file("r2.json")])
        #expect(toAPI.status == 0, "\(toAPI.stderr)")
        let dst2 = RegistryClient(registry: apiDestination.host, options: Self.noAuth)
        try await Self.expectCarried(s, to: dst2, "team/app", proxy: apiDestination)
        #expect(try await AttachmentFixtures.fallbackList(dst2, "team/app", s.index) == nil)
        #expect(try Self.attachmentStatuses(dir.file("r2.json")).values.filter { $0.found == "fallback-tag" }.count == 6)

        // An anchored media type is passed to the API as its artifactType filter (and applied here again).
        let d = try RegistryServer()
        try "\(apiSource.host)/team/app:1\n".write(toFile: dir.file("l4.txt"), atomically: false, encoding: .utf8)
        let filtered = try Dray.run(["mirror", "-f", dir.file("l4.txt"), "-d", d.host, "--all", "-o", dir.file("f4.txt"),
                                     "--referrer-type", #"^application/spdx\+json$"#, "--report", dir.file("r4.json")])
        #expect(filtered.status == 0, "\(filtered.stderr)")
        #expect((apiSource.requestCounts["referrers-filtered"] ?? 0) >= 4, "\(apiSource.requestCounts)")
        let sbom = s.referrers[s.index]![1]
        #expect(Set(try Self.attachmentStatuses(dir.file("r4.json")).filter { $0.value.status == "copied" }.keys) == [sbom.description])

        // --referrers-mode tag: the fallback tag too, for readers that only know the tag.
        let tagMode = try Dray.run(["mirror", "-f", dir.file("l2.txt"), "-d", apiDestination.host, "--all", "-o", dir.file("f3.txt"),
                                    "--referrers-mode", "tag", "--report", dir.file("r3.json")])
        #expect(tagMode.status == 0, "\(tagMode.stderr)")
        try await Self.expectCarried(s, to: dst2, "team/app")
    }

    @Test("a registry that claims OCI-Subject without the API gets the fallback tag; one that refuses referrers of an index fails them with the reason and leaves the tag unmoved")
    func misbehavingDestinations() async throws {
        let a = try RegistryServer(), b = try RegistryServer(), c = try RegistryServer()
        let src = RegistryClient(registry: a.host, options: Self.noAuth)
        let s = try await Self.seed(src, "team/app")
        let liar = try ReferrersProxy(target: b.port, behaviour: .init(lieAboutAPI: true))
        let refuser = try ReferrersProxy(target: c.port, behaviour: .init(refuseIndexSubjects: true))
        let dir = try TemporaryDirectory()
        try "\(a.host)/team/app:1\n".write(toFile: dir.file("list.txt"), atomically: false, encoding: .utf8)

        let lied = try Dray.run(["mirror", "-f", dir.file("list.txt"), "-d", liar.host, "--all", "-o", dir.file("f1.txt")])
        #expect(lied.status == 0, "\(lied.stderr)")
        try await Self.expectCarried(s, to: RegistryClient(registry: liar.host, options: Self.noAuth), "team/app")

        let refused = try Dray.run(["mirror", "-f", dir.file("list.txt"), "-d", refuser.host, "--all", "-o", dir.file("f2.txt"), "--report", dir.file("r2.json")])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("attachments could not be copied"), "\(refused.stderr)")
        let statuses = try Self.attachmentStatuses(dir.file("r2.json"))
        let failed = statuses.filter { $0.value.status == "failed" }
        #expect(Set(failed.keys) == Set(s.referrers[s.index]!.map(\.description)), "\(statuses)")
        #expect(failed.values.allSatisfy { $0.reason?.contains("subject is an image index is not supported") == true }, "\(failed)")
        #expect(statuses[s.referrers[s.arm64.digest]![0].description]?.status == "copied")
        let dst = RegistryClient(registry: refuser.host, options: Self.noAuth)
        #expect(try await dst.headManifest("team/app", .tag("1")) == nil, "the tag must not move while the index's referrers are missing")
        #expect(try String(contentsOfFile: dir.file("f2.txt"), encoding: .utf8).contains("team/app:1"))
        // Leaving those out by type lets the image through.
        let excluded = try Dray.run(["mirror", "-f", dir.file("list.txt"), "-d", refuser.host, "--all", "-o", dir.file("f3.txt"),
                                     "--exclude-referrer-type", "sigstore|spdx|notary|helm", "--report", dir.file("r3.json")])
        #expect(excluded.status == 0, "\(excluded.stderr)")
        #expect(try await dst.headManifest("team/app", .tag("1"))?.digest == s.index)
    }

    @Test("--referrers signatures|none, --referrer-type and a platform filter take what they say and report the rest as skipped")
    func filters() async throws {
        let a = try RegistryServer()
        let src = RegistryClient(registry: a.host, options: Self.noAuth)
        let s = try await Self.seed(src, "team/app")
        let dir = try TemporaryDirectory()
        try "\(a.host)/team/app:1\n".write(toFile: dir.file("list.txt"), atomically: false, encoding: .utf8)
        var servers: [RegistryServer] = []
        defer { withExtendedLifetime(servers) {} }
        func run(_ extra: [String]) throws -> (Shell.Result, [String: (status: String, found: String, reason: String?)], RegistryClient) {
            let b = try RegistryServer()
            servers.append(b)
            let r = try Dray.run(["mirror", "-f", dir.file("list.txt"), "-d", b.host, "-o", dir.file("f.txt"), "--report", dir.file("r.json")] + extra)
            return (r, try Self.attachmentStatuses(dir.file("r.json")), RegistryClient(registry: b.host, options: Self.noAuth))
        }
        // Signatures: the index's bundle and notation signature, the arm64 bundle and the .sig tag.
        let (sigs, sigStatus, sigDst) = try run(["--all", "--referrers", "signatures"])
        #expect(sigs.status == 0, "\(sigs.stderr)")
        let copied = Set(sigStatus.filter { $0.value.status == "copied" }.keys)
        let sbom = s.referrers[s.index]![1]
        let expected = Set([s.referrers[s.index]![0], s.referrers[s.index]![2], s.referrers[s.arm64.digest]![0],
                            s.legacy["\(s.index.dashed).sig"]!].map(\.description))
        #expect(copied == expected, "\(sigStatus)")
        #expect(sigStatus[sbom.description]?.reason?.contains("not a signature") == true)
        #expect(try await sigDst.headManifest("team/app", .digest(sbom)) == nil)

        let (none, noneStatus, noneDst) = try run(["--all", "--referrers", "none"])
        #expect(none.status == 0 && noneStatus.isEmpty, "\(none.stderr)")
        #expect(try await noneDst.tags("team/app") == ["1"])

        // Only SBOMs (referrer or cosign tag) and what is attached to them.
        let (spdx, spdxStatus, _) = try run(["--all", "--referrer-type", "spdx|cosign.sbom"])
        #expect(spdx.status == 0)
        #expect(Set(spdxStatus.filter { $0.value.status == "copied" }.keys) == Set([sbom, s.legacy["\(s.index.dashed).sbom"]!].map(\.description)), "\(spdxStatus)")

        // A platform filter rewrites the index: its attachments stay behind (said in the log and report); the
        // kept platform's travel.
        let (filtered, filteredStatus, filteredDst) = try run(["-a", "amd64"])
        #expect(filtered.status == 0, "\(filtered.stderr)")
        #expect(filtered.stderr.contains("do not apply to the filtered index"), "\(filtered.stderr)")
        #expect(filteredStatus[s.legacy["\(s.amd64.digest.dashed).att"]!.description]?.status == "copied")
        #expect(filteredStatus[s.referrers[s.index]![0].description]?.reason?.contains("rewrote") == true)
        #expect(filteredStatus[s.referrers[s.arm64.digest]![0].description] == nil, "a platform left out is not looked at")
        #expect(try await AttachmentFixtures.fallbackList(filteredDst, "team/app", s.index) == nil)
    }

    @Test("hostile fallback tags: one that resolves to the image itself, one listing a manifest with another subject, a loop back to the image")
    func hostileFallbackTags() async throws {
        let a = try RegistryServer(), b = try RegistryServer()
        let src = RegistryClient(registry: a.host, options: Self.noAuth)
        let tree = try SyntheticImage.index(layers: 1, layerSize: 2_000, seed: 1750)
        try await SyntheticImage.push(tree, to: src, repository: "team/app", tag: "1")
        // GitLab: sha256-<hex> of the index resolves to the index itself.
        try await src.putManifest("team/app", .tag(tree.top.digest.dashed), tree.top)
        // The amd64 manifest's fallback index lists a bundle whose subject is the arm64 manifest, and the index.
        let stray = try AttachmentFixtures.bundle(of: tree.children[1])
        try await AttachmentFixtures.pushManifest(stray, to: src, repository: "team/app")
        let good = try AttachmentFixtures.bundle(of: tree.children[0], note: "good")
        try await AttachmentFixtures.pushManifest(good, to: src, repository: "team/app")
        let enc = JSONEncoder()
        func entry(_ m: RawManifest) throws -> Any { try JSONSerialization.jsonObject(with: enc.encode(m.descriptor())) }
        try await AttachmentFixtures.putIndex([try entry(stray.manifest), try entry(good.manifest), try entry(tree.top)], to: src,
                                              repository: "team/app", tag: tree.children[0].digest.dashed)
        // The good bundle's own fallback tag loops back to the amd64 manifest.
        try await AttachmentFixtures.putIndex([try entry(tree.children[0])], to: src, repository: "team/app", tag: good.manifest.digest.dashed)
        // The arm64 manifest's fallback index goes stale: its referrer is deleted after it was listed.
        let gone = try AttachmentFixtures.bundle(of: tree.children[1], note: "gone")
        try await AttachmentFixtures.pushReferrer(gone, subject: tree.children[1].digest, to: src, repository: "team/app")
        try await src.deleteManifest("team/app", gone.manifest.digest)
        // The destination already has something that is not an index under the index's fallback tag.
        let dstClient = RegistryClient(registry: b.host, options: Self.noAuth)
        let squatter = try SyntheticImage.single(layers: 1, layerSize: 100, seed: 1751)
        try await SyntheticImage.push(squatter, to: dstClient, repository: "team/app", tag: tree.top.digest.dashed)
        let onIndex = try AttachmentFixtures.sbom(of: tree.top)
        try await AttachmentFixtures.pushManifest(onIndex, to: src, repository: "team/app")
        try await src.putManifest("team/app", .tag(tree.top.digest.dashed), try RawManifest(bytes: Array(try JSONSerialization.data(
            withJSONObject: ["schemaVersion": 2, "mediaType": MediaType.ociIndex.rawValue, "manifests": [try entry(onIndex.manifest)]] as [String: Any],
            options: [.sortedKeys])), mediaType: .ociIndex))

        let dir = try TemporaryDirectory()
        try "\(a.host)/team/app:1\n".write(toFile: dir.file("list.txt"), atomically: false, encoding: .utf8)
        let r = try Dray.run(["mirror", "-f", dir.file("list.txt"), "-d", b.host, "--all", "-o", dir.file("f.txt"), "--report", dir.file("r.json")])
        // The SBOM on the index cannot be listed where a non-index squats its fallback tag: it fails, with why.
        #expect(r.status != 0, "\(r.stderr)")
        let dst = RegistryClient(registry: b.host, options: Self.noAuth)
        let statuses = try Self.attachmentStatuses(dir.file("r.json"))
        #expect(statuses[good.manifest.digest.description]?.status == "copied", "\(statuses)")
        #expect(statuses[stray.manifest.digest.description]?.status == "skipped", "\(statuses)")
        #expect(statuses[gone.manifest.digest.description]?.status == "skipped"
                && statuses[gone.manifest.digest.description]?.reason?.contains("no such manifest") == true, "\(statuses)")
        #expect(statuses[onIndex.manifest.digest.description]?.status == "failed"
                && statuses[onIndex.manifest.digest.description]?.reason?.contains("not an image index") == true, "\(statuses)")
        #expect(statuses[tree.top.digest.description] == nil, "\(statuses)")
        #expect(try await dst.headManifest("team/app", .tag(tree.top.digest.dashed))?.digest == squatter.top.digest, "left as it was")
        #expect(try await AttachmentFixtures.fallbackList(dst, "team/app", tree.children[0].digest) == [good.manifest.digest])
        #expect(try await dst.headManifest("team/app", .digest(stray.manifest.digest)) == nil)
        #expect(try await dst.headManifest("team/app", .tag("1")) == nil, "the tag does not move while an attachment failed")
    }

    @Test("tag patterns and all-tags copies never take attachment tags as images")
    func attachmentTagsAreNotImages() async throws {
        let a = try RegistryServer(), b = try RegistryServer()
        let src = RegistryClient(registry: a.host, options: Self.noAuth)
        let s = try await Self.seed(src, "team/app", tag: "1.0.0")
        // Image tags that only look like digests (docker/metadata-action's sha-<commit>) are images.
        let commitTag = "sha-860c1904a1ce19322e91ac35af1ab07466440c37"
        try await SyntheticImage.push(s.tree, to: src, repository: "team/app", tag: commitTag)
        let dir = try TemporaryDirectory()
        try "\(a.host)/team/app\n".write(toFile: dir.file("list.txt"), atomically: false, encoding: .utf8)
        let r = try Dray.run(["mirror", "-f", dir.file("list.txt"), "-d", b.host, "--all", "-o", dir.file("f.txt"),
                              "--exclude-tag", "^latest$", "--report", dir.file("r.json")])
        #expect(r.status == 0, "\(r.stderr)")
        let images = try Self.reportImages(dir.file("r.json"))
        #expect(Set(images.compactMap { ($0["source"] as? String)?.split(separator: ":").last.map(String.init) }) == ["1.0.0", commitTag],
                "\(images.map { $0["source"] ?? "" })")
        try await Self.expectCarried(s, to: RegistryClient(registry: b.host, options: Self.noAuth), "team/app")
    }

    @Test("registry → archive → registry and registry → folder → registry: every attachment arrives; a re-load finds them present")
    func archiveRoundTrip() async throws {
        let a = try RegistryServer(), b = try RegistryServer(), c = try RegistryServer()
        let src = RegistryClient(registry: a.host, options: Self.noAuth)
        let s = try await Self.seed(src, "team/app")
        let plain = try SyntheticImage.single(layers: 1, layerSize: 2_000, seed: 1790)
        try await SyntheticImage.push(plain, to: src, repository: "team/plain", tag: "1")
        let dir = try TemporaryDirectory()
        try "\(a.host)/team/app:1\n\(a.host)/team/plain:1\n".write(toFile: dir.file("list.txt"), atomically: false, encoding: .utf8)
        let archive = dir.file("images.tar.zst"), cache = dir.file("cache")
        let save = try Dray.run(["save", "-f", dir.file("list.txt"), "-d", archive, "--cache", cache, "--all", "-o", dir.file("f.txt")])
        #expect(save.status == 0, "\(save.stderr)")
        // The plan predicted every attachment entry, so the archive was written while downloading.
        #expect(save.stderr.contains("while downloading"), "\(save.stderr)")

        // archive ls lists them under their image; skopeo and umoci read the fallback index and a referrer from the
        // saved folder.
        let ls = try Dray.run(["archive", "ls", archive])
        #expect(ls.status == 0 && ls.stdoutText.contains("2 images (and 9 attachments)"), "\(ls.stdoutText)")
        #expect(ls.stdoutText.contains("+ \(AttachmentFixtures.bundleType)  \(s.referrers[s.index]![0])"), "\(ls.stdoutText)")
        let lsJSON = try JSONSerialization.jsonObject(with: Data(try Dray.run(["archive", "ls", archive, "--json"]).stdout)) as! [[String: Any]]
        #expect((lsJSON.first { ($0["name"] as? String)?.hasSuffix("team/app:1") == true }?["attachments"] as? [Any])?.count == 9)
        let fallbackName = "\(a.host)/team/app:\(s.index.dashed)"
        let raw = try Shell.run("skopeo", ["inspect", "--raw", "oci:\(cache):\(fallbackName)"])
        let listed = try JSONDecoder().decode(ImageIndex.self, from: Data(raw.stdout)).manifests.map(\.digest)
        #expect(raw.status == 0 && Set(listed) == Set(s.referrers[s.index]!), "\(raw.stderr)")
        let umoci = try Shell.run("umoci", ["ls", "--layout", cache])
        #expect(umoci.status == 0 && umoci.stdoutText.contains(fallbackName) && umoci.stdoutText.contains("\(s.index.dashed).sig"), "\(umoci.stdoutText)\(umoci.stderr)")

        let saveValidate = try Dray.run(["save", "validate", "-f", dir.file("list.txt"), "-d", archive, "--all"])
        #expect(saveValidate.status == 0, "\(saveValidate.stdoutText)\(saveValidate.stderr)")
        let load = try Dray.run(["load", "--all", "-s", archive, "-d", b.host, "-o", dir.file("f.txt"), "--report", dir.file("r1.json")])
        #expect(load.status == 0, "\(load.stderr)")
        let dst = RegistryClient(registry: b.host, options: Self.noAuth)
        try await Self.expectCarried(s, to: dst, "team/app")
        let statuses = try Self.attachmentStatuses(dir.file("r1.json"))
        #expect(statuses.count == s.attachments.count && statuses.values.allSatisfy { $0.status == "copied" }, "\(statuses)")
        let loadValidate = try Dray.run(["load", "validate", "-s", archive, "-d", b.host])
        #expect(loadValidate.status == 0, "\(loadValidate.stdoutText)\(loadValidate.stderr)")
        try await dst.deleteManifest("team/app", s.legacy["\(s.index.dashed).sig"]!)
        let loadInvalid = try Dray.run(["load", "validate", "-s", archive, "-d", b.host])
        #expect(loadInvalid.status != 0 && loadInvalid.stdoutText.contains("cosign .sig of \(s.index) is missing"), "\(loadInvalid.stdoutText)")
        let again = try Dray.run(["load", "--all", "-s", archive, "-d", b.host, "-o", dir.file("f.txt"), "--report", dir.file("r2.json")])
        #expect(again.status == 0, "\(again.stderr)")
        let reloaded = try Self.attachmentStatuses(dir.file("r2.json"))
        #expect(reloaded[s.legacy["\(s.index.dashed).sig"]!.description]?.status == "copied", "the deleted .sig is loaded again")
        #expect(reloaded.values.filter { $0.status == "present" }.count == s.attachments.count - 1, "\(reloaded)")

        let folder = try Dray.run(["load", "--all", "-s", cache, "-d", c.host, "-o", dir.file("f.txt")])
        #expect(folder.status == 0, "\(folder.stderr)")
        try await Self.expectCarried(s, to: RegistryClient(registry: c.host, options: Self.noAuth), "team/app")
    }

    @Test("copy carries attachments: registry → registry, registry → oci-archive → registry, registry → oci layout (bare name) → registry")
    func copyCarries() async throws {
        let a = try RegistryServer(), b = try RegistryServer(), c = try RegistryServer(), d = try RegistryServer()
        let src = RegistryClient(registry: a.host, options: Self.noAuth)
        let s = try await Self.seed(src, "team/app")
        let dir = try TemporaryDirectory()
        let direct = try Dray.run(["copy", "\(a.host)/team/app:1", "\(b.host)/team/app:1"])
        #expect(direct.status == 0 && direct.stdoutText.contains("attachments: 9 copied"), "\(direct.stdoutText)\(direct.stderr)")
        try await Self.expectCarried(s, to: RegistryClient(registry: b.host, options: Self.noAuth), "team/app")

        let archive = "oci-archive:\(dir.file("app.tar.gz"))"
        let out = try Dray.run(["copy", "\(a.host)/team/app:1", archive])
        #expect(out.status == 0, "\(out.stderr)")
        let back = try Dray.run(["copy", archive, "\(c.host)/team/app:1"])
        #expect(back.status == 0 && back.stdoutText.contains("attachments: 9 copied"), "\(back.stdoutText)\(back.stderr)")
        try await Self.expectCarried(s, to: RegistryClient(registry: c.host, options: Self.noAuth), "team/app")

        let layout = "oci:\(dir.file("layout")):v1"
        #expect(try Dray.run(["copy", "\(a.host)/team/app:1", layout]).status == 0)
        let names = try OCILayout(path: dir.file("layout"), create: false).names()
        #expect(names.contains("v1") && names.contains(s.index.dashed) && names.contains("\(s.index.dashed).sig"), "\(names)")
        let fromLayout = try Dray.run(["copy", layout, "\(d.host)/team/app:1"])
        #expect(fromLayout.status == 0, "\(fromLayout.stderr)")
        try await Self.expectCarried(s, to: RegistryClient(registry: d.host, options: Self.noAuth), "team/app")

        // The same bare-named layout as an archive another tool made (a tar of the folder): copy takes its
        // attachments and archive ls lists them.
        let bare = dir.file("bare.tar")
        #expect(try Shell.run("tar", ["-cf", bare, "-C", dir.file("layout"), "."]).status == 0)
        let e = try RegistryServer()
        let fromArchive = try Dray.run(["copy", "oci-archive:\(bare):v1", "\(e.host)/team/app:1"])
        #expect(fromArchive.status == 0 && fromArchive.stdoutText.contains("attachments: 9 copied"), "\(fromArchive.stdoutText)\(fromArchive.stderr)")
        try await Self.expectCarried(s, to: RegistryClient(registry: e.host, options: Self.noAuth), "team/app")
        let ls = try Dray.run(["archive", "ls", bare])
        #expect(ls.status == 0 && ls.stdoutText.contains("1 image (and 9 attachments)"), "\(ls.stdoutText)")
    }

    @Test("10,000 referrers of one digest: paged through the API, cut at --max-referrers with a warning; the same from a fallback index")
    func manyReferrers() async throws {
        let a = try RegistryServer(), b = try RegistryServer(), c = try RegistryServer()
        let proxy = try ReferrersProxy(target: a.port, behaviour: .init(pageSize: 100))
        let src = RegistryClient(registry: proxy.host, options: Self.noAuth)
        let tree = try SyntheticImage.single(layers: 1, layerSize: 2_000, seed: 1810)
        try await SyntheticImage.push(tree, to: src, repository: "team/app", tag: "1")
        // The first 20 exist; the other 9,980 are listed only (a copy that took them would fail).
        var real: [Descriptor] = []
        for i in 0..<20 {
            let b = try AttachmentFixtures.bundle(of: tree.top, note: "n\(i)")
            try await AttachmentFixtures.pushManifest(b, to: src, repository: "team/app")
            real.append(try ReferrersIndex.entry(for: b.manifest))
        }
        let fake = (20..<10_000).map { i in
            Descriptor(mediaType: .ociManifest, digest: .sha256(of: Array("fake \(i)".utf8)), size: 500, artifactType: AttachmentFixtures.bundleType)
        }
        proxy.record("team/app", subject: tree.top.digest, entries: fake)
        let dir = try TemporaryDirectory()
        try "\(proxy.host)/team/app:1\n".write(toFile: dir.file("list.txt"), atomically: false, encoding: .utf8)
        let before = proxy.requestCounts["referrers"] ?? 0
        let r = try Dray.run(["mirror", "-f", dir.file("list.txt"), "-d", b.host, "--all", "-o", dir.file("f.txt"),
                              "--max-referrers", "20", "--report", dir.file("r.json")])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("has more than 20 referrers; the first 20 are taken (--max-referrers)"), "\(r.stderr)")
        let statuses = try Self.attachmentStatuses(dir.file("r.json"))
        #expect(statuses.count == 20 && Set(statuses.keys) == Set(real.map(\.digest.description)), "\(statuses.count)")
        // One page of the subject's list answered the 20 (the other 99 pages were never asked for), then one
        // request for each referrer's own referrers.
        #expect((proxy.requestCounts["referrers"] ?? 0) - before == 21, "\(proxy.requestCounts)")
        let dst = RegistryClient(registry: b.host, options: Self.noAuth)
        #expect(Set(try await AttachmentFixtures.fallbackList(dst, "team/app", tree.top.digest) ?? []) == Set(real.map(\.digest)))

        // A fallback index longer than --max-referrers is cut the same way (the registry checks that an index's
        // entries exist, so this one lists the 20 real ones and 30 more).
        var more: [Descriptor] = []
        for i in 0..<30 {
            let b = try AttachmentFixtures.bundle(of: tree.top, note: "m\(i)")
            try await AttachmentFixtures.pushManifest(b, to: dst, repository: "team/app")
            more.append(try ReferrersIndex.entry(for: b.manifest))
        }
        let enc = JSONEncoder()
        let entries = try (real + more).map { try JSONSerialization.jsonObject(with: enc.encode($0)) }
        try await AttachmentFixtures.putIndex(entries, to: dst, repository: "team/app", tag: tree.top.digest.dashed)
        try "\(b.host)/team/app:1\n".write(toFile: dir.file("l2.txt"), atomically: false, encoding: .utf8)
        let r2 = try Dray.run(["mirror", "-f", dir.file("l2.txt"), "-d", c.host, "--all", "-o", dir.file("f2.txt"),
                               "--max-referrers", "20", "--report", dir.file("r2.json")])
        #expect(r2.status == 0 && r2.stderr.contains("has more than 20 referrers"), "\(r2.stderr)")
        #expect(Set(try Self.attachmentStatuses(dir.file("r2.json")).keys) == Set(real.map(\.digest.description)))
    }

    @Test("a fallback index over 4 MiB is no list (a warning, nothing copied from it); the image still mirrors")
    func oversizedFallbackIndex() async throws {
        let a = try RegistryServer(), b = try RegistryServer()
        let src = RegistryClient(registry: a.host, options: Self.noAuth)
        let tree = try SyntheticImage.single(layers: 1, layerSize: 2_000, seed: 1820)
        try await SyntheticImage.push(tree, to: src, repository: "team/app", tag: "1")
        // A registry refuses to store such an index; the layer in front serves it, and has no referrers API.
        let proxy = try ReferrersProxy(target: a.port, behaviour: .init(lieAboutAPI: true))
        let enc = JSONEncoder()
        let pad = String(repeating: "x", count: 1000)
        let entries = try (0..<4_500).map { i in
            try JSONSerialization.jsonObject(with: enc.encode(Descriptor(mediaType: .ociManifest, digest: .sha256(of: Array("e\(i)".utf8)), size: 9,
                                                                         annotations: ["pad": pad])))
        }
        let object: [String: Any] = ["schemaVersion": 2, "mediaType": MediaType.ociIndex.rawValue, "manifests": entries]
        let bytes = Array(try JSONSerialization.data(withJSONObject: object))
        #expect(bytes.count > 4 << 20)
        proxy.serve("/v2/team/app/manifests/\(tree.top.digest.dashed)", type: MediaType.ociIndex.rawValue, body: bytes)
        try await src.putManifest("team/app", .tag(tree.top.digest.dashed), try RawManifest(bytes: Array(try JSONSerialization.data(withJSONObject: [
            "schemaVersion": 2, "mediaType": MediaType.ociIndex.rawValue, "manifests": [Any]()] as [String: Any])), mediaType: .ociIndex))
        let dir = try TemporaryDirectory()
        try "\(proxy.host)/team/app:1\n".write(toFile: dir.file("list.txt"), atomically: false, encoding: .utf8)
        let r = try Dray.run(["mirror", "-f", dir.file("list.txt"), "-d", b.host, "--all", "-o", dir.file("f.txt"), "--report", dir.file("r.json")])
        #expect(r.status == 0 && r.stderr.contains("the fallback tag cannot be read"), "\(r.stderr)")
        let dst = RegistryClient(registry: b.host, options: Self.noAuth)
        #expect(try await dst.headManifest("team/app", .tag("1"))?.digest == tree.top.digest)
        #expect(try await dst.headManifest("team/app", .tag(tree.top.digest.dashed)) == nil)
    }

    @Test("two dray processes adding referrers to one subject's fallback tag at once lose no entry")
    func twoWriters() async throws {
        let a = try RegistryServer(), b = try RegistryServer()
        let src = RegistryClient(registry: a.host, options: Self.noAuth)
        let tree = try SyntheticImage.single(layers: 1, layerSize: 2_000, seed: 1830)
        var expected: [Digest] = []
        for side in ["one", "two"] {
            try await SyntheticImage.push(tree, to: src, repository: "w/\(side)", tag: "1")
            for i in 0..<8 {
                let r = try AttachmentFixtures.bundle(of: tree.top, note: "\(side)\(i)")
                try await AttachmentFixtures.pushReferrer(r, subject: tree.top.digest, to: src, repository: "w/\(side)")
                expected.append(r.manifest.digest)
            }
        }
        let dir = try TemporaryDirectory()
        var processes: [Process] = []
        for side in ["one", "two"] {
            try "\(a.host)/w/\(side) \(b.host)/team/app 1\n".write(toFile: dir.file("\(side).txt"), atomically: false, encoding: .utf8)
            let log = FileHandle(forWritingAtPath: dir.file("\(side).log")) ?? {
                FileManager.default.createFile(atPath: dir.file("\(side).log"), contents: nil)
                return FileHandle(forWritingAtPath: dir.file("\(side).log"))!
            }()
            processes.append(try Dray.start(["mirror", "-f", dir.file("\(side).txt"), "--all", "-o", dir.file("\(side)-f.txt")], stderr: log))
        }
        for p in processes { p.waitUntilExit() }
        for (p, side) in zip(processes, ["one", "two"]) {
            #expect(p.terminationStatus == 0, "\((try? String(contentsOfFile: dir.file("\(side).log"), encoding: .utf8)) ?? "")")
        }
        let dst = RegistryClient(registry: b.host, options: Self.noAuth)
        let listed = try await AttachmentFixtures.fallbackList(dst, "team/app", tree.top.digest) ?? []
        #expect(Set(listed) == Set(expected), "\(listed.count) of \(expected.count) listed")
    }
}

extension AttachmentsCLITests {
    /// An index with BuildKit attestation manifests (index entries marked `attestation-manifest`, not referrers).
    static func buildKitIndex(seed: UInt64) throws -> SyntheticImage.Tree {
        let base = try SyntheticImage.index(platforms: Array(SyntheticImage.threePlatforms.prefix(2)), layers: 1, layerSize: 2_000, seed: seed)
        var tree = base
        var entries = base.children.enumerated().map { i, c in c.descriptor(platform: SyntheticImage.threePlatforms[i]) }
        for (i, child) in base.children.enumerated() {
            let statement = Array(#"{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"https://slsa.dev/provenance/v0.2","n":\#(i)}"#.utf8)
            let att = try AttachmentFixtures.referrer(of: child, artifactType: nil, layerType: "application/vnd.in-toto+json", payload: statement,
                                                      annotations: [:])
            // BuildKit's attestation manifests carry no subject: rebuild it without one.
            var object = try JSONSerialization.jsonObject(with: Data(att.manifest.bytes)) as! [String: Any]
            object["subject"] = nil
            let bytes = Array(try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
            let m = try RawManifest(bytes: bytes, mediaType: .ociManifest)
            tree.children.append(m)
            for (d, b) in att.blobs { tree.blobs[d.digest] = (d, b) }
            entries.append(Descriptor(mediaType: .ociManifest, digest: m.digest, size: Int64(bytes.count),
                                      annotations: ["vnd.docker.reference.type": "attestation-manifest", "vnd.docker.reference.digest": child.digest.description],
                                      platform: Platform(os: "unknown", architecture: "unknown")))
        }
        let index = ImageIndex(mediaType: .ociIndex, manifests: entries)
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        tree.top = try RawManifest(bytes: Array(try enc.encode(index)), mediaType: .ociIndex)
        return tree
    }

    @Test("BuildKit attestation manifests travel with their platform; a bundle on the index and a cosign .sig on a platform go too")
    func buildKitAttestations() async throws {
        let a = try RegistryServer(), b = try RegistryServer(), c = try RegistryServer()
        let src = RegistryClient(registry: a.host, options: Self.noAuth)
        let tree = try Self.buildKitIndex(seed: 1850)
        try await SyntheticImage.push(tree, to: src, repository: "bk/app", tag: "1")
        let bundle = try AttachmentFixtures.bundle(of: tree.top)
        try await AttachmentFixtures.pushReferrer(bundle, subject: tree.top.digest, to: src, repository: "bk/app")
        let sig = try AttachmentFixtures.legacy("sig", of: tree.children[0])
        try await AttachmentFixtures.pushLegacy(sig, kind: "sig", subject: tree.children[0].digest, to: src, repository: "bk/app")
        let dir = try TemporaryDirectory()
        try "\(a.host)/bk/app:1\n".write(toFile: dir.file("list.txt"), atomically: false, encoding: .utf8)
        let all = try Dray.run(["mirror", "-f", dir.file("list.txt"), "-d", b.host, "--all", "-o", dir.file("f.txt")])
        #expect(all.status == 0, "\(all.stderr)")
        let dst = RegistryClient(registry: b.host, options: Self.noAuth)
        #expect(try await dst.headManifest("bk/app", .tag("1"))?.digest == tree.top.digest)
        for child in tree.children { #expect(try await dst.headManifest("bk/app", .digest(child.digest))?.digest == child.digest) }
        #expect(try await AttachmentFixtures.fallbackList(dst, "bk/app", tree.top.digest) == [bundle.manifest.digest])
        #expect(try await dst.headManifest("bk/app", .tag("\(tree.children[0].digest.dashed).sig"))?.digest == sig.manifest.digest)
        // amd64 only: its attestation manifest and its .sig stay with it; arm64's attestation does not.
        let amd = try Dray.run(["mirror", "-f", dir.file("list.txt"), "-d", c.host, "-a", "amd64", "-o", dir.file("f.txt")])
        #expect(amd.status == 0, "\(amd.stderr)")
        let dst2 = RegistryClient(registry: c.host, options: Self.noAuth)
        guard case .index(let written) = try await dst2.manifest("bk/app", .tag("1")).parsed() else { Issue.record("not an index"); return }
        #expect(Set(written.manifests.map(\.digest)) == Set([tree.children[0].digest, tree.children[2].digest]))
        #expect(try await dst2.headManifest("bk/app", .tag("\(tree.children[0].digest.dashed).sig"))?.digest == sig.manifest.digest)
    }

    @Test("a source whose tag list is refused (a pull-only credential): a warning, and each attachment tag is asked for instead")
    func tagListRefused() async throws {
        let a = try RegistryServer(), b = try RegistryServer()
        let src = RegistryClient(registry: a.host, options: Self.noAuth)
        let s = try await Self.seed(src, "team/app")
        let proxy = try FaultProxy(target: a.port) { x in
            x.path.hasSuffix("/tags/list") ? .status(403, headers: [:]) : .pass
        }
        let dir = try TemporaryDirectory()
        try "\(proxy.host)/team/app:1\n".write(toFile: dir.file("list.txt"), atomically: false, encoding: .utf8)
        let r = try Dray.run(["mirror", "-f", dir.file("list.txt"), "-d", b.host, "--all", "-o", dir.file("f.txt")])
        #expect(r.status == 0 && r.stderr.contains("tags cannot be listed"), "\(r.stderr)")
        try await Self.expectCarried(s, to: RegistryClient(registry: b.host, options: Self.noAuth), "team/app")
    }

    @Test("a cosign .sig merged into the destination's own is a new manifest there: what is attached to the source's stays behind, reported")
    func mergedSignatureKeepsItsAttachmentsBehind() async throws {
        let a = try RegistryServer(), b = try RegistryServer()
        let src = RegistryClient(registry: a.host, options: Self.noAuth), dst = RegistryClient(registry: b.host, options: Self.noAuth)
        let tree = try SyntheticImage.single(layers: 1, layerSize: 1_000, seed: 1860)
        try await SyntheticImage.push(tree, to: src, repository: "m/app", tag: "1")
        let mine = try AttachmentFixtures.legacy("sig", of: tree.top, note: "source")
        try await AttachmentFixtures.pushLegacy(mine, kind: "sig", subject: tree.top.digest, to: src, repository: "m/app")
        let onSig = try AttachmentFixtures.bundle(of: mine.manifest, note: "on-sig")
        try await AttachmentFixtures.pushReferrer(onSig, subject: mine.manifest.digest, to: src, repository: "m/app")
        let theirs = try AttachmentFixtures.legacy("sig", of: tree.top, note: "destination")
        try await SyntheticImage.push(tree, to: dst, repository: "m/app", tag: "1")
        try await AttachmentFixtures.pushLegacy(theirs, kind: "sig", subject: tree.top.digest, to: dst, repository: "m/app")
        let dir = try TemporaryDirectory()
        try "\(a.host)/m/app:1\n".write(toFile: dir.file("list.txt"), atomically: false, encoding: .utf8)
        let r = try Dray.run(["mirror", "-f", dir.file("list.txt"), "-d", b.host, "--all", "-o", dir.file("f.txt"), "--report", dir.file("r.json")])
        #expect(r.status == 0, "\(r.stderr)")
        let statuses = try Self.attachmentStatuses(dir.file("r.json"))
        #expect(statuses[mine.manifest.digest.description]?.reason?.contains("merged") == true, "\(statuses)")
        #expect(statuses[onSig.manifest.digest.description]?.status == "skipped", "\(statuses)")
        #expect(try await dst.headManifest("m/app", .digest(onSig.manifest.digest)) == nil)
        guard case .image(let merged) = try await dst.manifest("m/app", .tag("\(tree.top.digest.dashed).sig")).parsed() else { Issue.record("no .sig"); return }
        #expect(merged.layers.count == 2, "both signatures are in the merged tag")
    }
}
