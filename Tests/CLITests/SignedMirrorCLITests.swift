import Engine
import Foundation
import Testing
import TestSupport
import Transports

/// Signatures across mirror, save and load, against real registries.
@Suite("Signed mirroring: mirror signs and carries .sig attachments; save/load keep them", .serialized)
struct SignedMirrorCLITests {
    /// The passphrase of the test keys: long enough that no random temporary path contains it by chance ("pw"
    /// did: /tmp/dray-test-iU2pwc failed the check that the passphrase never appears).
    static let passphrase = "hunter2-passphrase"

    /// A key pair in `dir` (k.key, k.pub, passphrase in `pass`).
    static func keyPair(_ dir: TemporaryDirectory, _ prefix: String = "k") throws {
        if !FileManager.default.fileExists(atPath: dir.file("pass")) {
            try "\(passphrase)\n".write(toFile: dir.file("pass"), atomically: false, encoding: .utf8)
        }
        let gen = try Dray.run(["generate-key", "--prefix", dir.file(prefix), "--passphrase-file", dir.file("pass")])
        #expect(gen.status == 0, "\(gen.stderr)")
    }

    /// The report's images, as dictionaries.
    static func reportImages(_ path: String) throws -> [[String: Any]] {
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
        return json["images"] as! [[String: Any]]
    }

    /// The number of signature layers under `sha256-<hex>.sig` for `digest`, or nil when there is no such tag.
    static func signatureCount(_ client: RegistryClient, _ repository: String, _ digest: Digest) async throws -> Int? {
        let tag = SignatureAttachment.tag(for: digest)
        guard try await client.headManifest(repository, .tag(tag)) != nil else { return nil }
        guard case .image(let m) = try await client.manifest(repository, .tag(tag)).parsed() else { return nil }
        return m.layers.count
    }

    @Test("mirror --sigstore-private-key signs index and platforms; verify and mirror validate pass; re-run adds nothing; a re-pointed tag fails")
    func mirrorSigns() async throws {
        let a = try RegistryServer(), b = try RegistryServer()
        let src = RegistryClient(registry: a.host, options: MirrorCLITests.noAuth)
        let dst = RegistryClient(registry: b.host, options: MirrorCLITests.noAuth)
        let app = try SyntheticImage.index(layers: 1, layerSize: 20_000, seed: 601)
        let tool = try SyntheticImage.single(layers: 1, layerSize: 10_000, seed: 602)
        let other = try SyntheticImage.single(layers: 1, layerSize: 10_000, seed: 603)
        try await SyntheticImage.push(app, to: src, repository: "team/app", tag: "1")
        try await SyntheticImage.push(tool, to: src, repository: "team/tool", tag: "2")
        let dir = try TemporaryDirectory()
        try Self.keyPair(dir)
        try Self.keyPair(dir, "k2")
        try "\(a.host)/team/app:1\n\(a.host)/team/tool:2\n".write(toFile: dir.file("list.txt"), atomically: false, encoding: .utf8)

        let mirror = ["mirror", "-f", dir.file("list.txt"), "-d", b.host, "--all", "-o", dir.file("failed.txt"),
                      "--sigstore-private-key", dir.file("k.key"), "--sigstore-passphrase-file", dir.file("pass"), "--signature-format", "simplesigning"]
        let first = try Dray.run(mirror + ["--report", dir.file("r1.json")])
        #expect(first.status == 0, "\(first.stderr)")
        let images = try Self.reportImages(dir.file("r1.json"))
        #expect(images.map { $0["signaturesAdded"] as? Int } == [4, 1], "index + 3 platforms, and the single image")
        #expect(first.stderr.contains("4 signed"), "\(first.stderr)")
        // Each copied manifest is signed once, under the destination's name.
        for d in [app.top.digest] + app.children.map(\.digest) {
            #expect(try await Self.signatureCount(dst, "team/app", d) == 1, "\(d)")
        }
        let images2 = ["\(b.host)/team/app:1", "\(b.host)/team/tool:2"]
        let verify = try Dray.run(["verify", "--key", dir.file("k.pub")] + images2)
        #expect(verify.status == 0 && verify.stdoutText.contains("2 passed, 0 failed"), "\(verify.stdoutText)\(verify.stderr)")
        let validate = try Dray.run(["mirror", "validate", "-f", dir.file("list.txt"), "-d", b.host, "--all",
                                     "--sigstore-public-key", dir.file("k.pub")])
        #expect(validate.status == 0 && validate.stdoutText.contains("2 passed, 0 failed"), "\(validate.stdoutText)\(validate.stderr)")
        let wrongKey = try Dray.run(["mirror", "validate", "-f", dir.file("list.txt"), "-d", b.host, "--all",
                                     "--sigstore-public-key", dir.file("k2.pub")])
        #expect(wrongKey.status == 1 && wrongKey.stdoutText.contains("signature: bad signature"), "\(wrongKey.stdoutText)")

        // A re-run finds every image there and signed: nothing moves, no signature is added.
        let again = try Dray.run(mirror + ["--report", dir.file("r2.json")])
        #expect(again.status == 0, "\(again.stderr)")
        let rerun = try Self.reportImages(dir.file("r2.json"))
        #expect(rerun.map { $0["status"] as? String } == ["skipped", "skipped"])
        #expect(rerun.map { $0["signaturesAdded"] as? Int } == [0, 0])
        #expect(try await Self.signatureCount(dst, "team/app", app.top.digest) == 1)

        // An image mirrored unsigned gets signed by a re-run with the key (the skip still signs).
        try "\(a.host)/team/app \(b.host)/later/app 1\n".write(toFile: dir.file("later.txt"), atomically: false, encoding: .utf8)
        #expect(try Dray.run(["mirror", "-f", dir.file("later.txt"), "--all", "-o", dir.file("failed.txt")]).status == 0)
        #expect(try await Self.signatureCount(dst, "later/app", app.top.digest) == nil)
        let late = try Dray.run(["mirror", "-f", dir.file("later.txt"), "--all", "-o", dir.file("failed.txt"),
                                 "--sigstore-private-key", dir.file("k.key"), "--sigstore-passphrase-file", dir.file("pass"), "--signature-format", "simplesigning"])
        #expect(late.status == 0 && late.stderr.contains("Skipped") && late.stderr.contains("4 signed"), "\(late.stderr)")

        // Re-point the destination tag at another image: verify fails as unsigned.
        try await SyntheticImage.push(other, to: dst, repository: "team/app", tag: "elsewhere")
        try await dst.putManifest("team/app", .tag("1"), other.top)
        let moved = try Dray.run(["verify", "--key", dir.file("k.pub"), "\(b.host)/team/app:1"])
        #expect(moved.status == 1 && moved.stdoutText.contains("unsigned"), "\(moved.stdoutText)")

        // Bad key flags fail before anything moves.
        let badKey = try Dray.run(["mirror", "-f", dir.file("list.txt"), "-d", b.host, "--sigstore-private-key", dir.file("k.pub"),
                                   "--sigstore-passphrase-file", dir.file("pass"), "--signature-format", "simplesigning"])
        #expect(badKey.status != 0 && badKey.stderr.contains("--sigstore-private-key"), "\(badKey.stderr)")
        #expect(!badKey.stderr.contains(Self.passphrase), "the passphrase never appears")
    }

    @Test("mirror copies the source's signatures (same digests), merges into ones already there, leaves them with --remove-signatures, warns for a filtered index")
    func mirrorCarries() async throws {
        let a = try RegistryServer(), b = try RegistryServer()
        let src = RegistryClient(registry: a.host, options: MirrorCLITests.noAuth)
        let dst = RegistryClient(registry: b.host, options: MirrorCLITests.noAuth)
        let app = try SyntheticImage.index(layers: 1, layerSize: 20_000, seed: 611)
        try await SyntheticImage.push(app, to: src, repository: "team/app", tag: "1")
        let dir = try TemporaryDirectory()
        try Self.keyPair(dir)
        try Self.keyPair(dir, "k2")
        let source = "\(a.host)/team/app:1"
        #expect(try Dray.run(["sign", "--key", dir.file("k.key"), "--passphrase-file", dir.file("pass"), "--signature-format", "simplesigning", source]).status == 0)
        try "\(source)\n".write(toFile: dir.file("list.txt"), atomically: false, encoding: .utf8)
        let sigTag = SignatureAttachment.tag(for: app.top.digest)
        let sourceSig = try await src.headManifest("team/app", .tag(sigTag))?.digest

        // Plain mirror: the attachments arrive with their digests.
        let plain = try Dray.run(["mirror", "-f", dir.file("list.txt"), "-d", b.host, "--all", "--report", dir.file("r.json"),
                                  "-o", dir.file("failed.txt")])
        #expect(plain.status == 0 && plain.stderr.contains("4 signatures copied"), "\(plain.stderr)")
        #expect(try Self.reportImages(dir.file("r.json")).first?["signaturesCopied"] as? Int == 4)
        #expect(try await dst.headManifest("team/app", .tag(sigTag))?.digest == sourceSig)
        let remapped = try Dray.run(["verify", "--key", dir.file("k.pub"), "\(b.host)/team/app:1",
                                     "--identity", "remap:\(b.host)/team=\(a.host)/team"])
        #expect(remapped.status == 0, "\(remapped.stdoutText)")

        // --remove-signatures: the image without them.
        let bare = try Dray.run(["mirror", "-f", dir.file("list.txt"), "-d", b.host, "--all", "--destination-project", "bare",
                                 "--remove-signatures", "-o", dir.file("failed.txt")])
        #expect(bare.status == 0, "\(bare.stderr)")
        #expect(try await dst.headManifest("bare/app", .tag("1"))?.digest == app.top.digest)
        #expect(try await Self.signatureCount(dst, "bare/app", app.top.digest) == nil)

        // The same destination, later mirrored with the signatures: they merge with the destination's own.
        let own = try Dray.run(["mirror", "-f", dir.file("list.txt"), "-d", b.host, "--all", "--destination-project", "merged",
                                "--remove-signatures", "-o", dir.file("failed.txt"),
                                "--sigstore-private-key", dir.file("k2.key"), "--sigstore-passphrase-file", dir.file("pass"), "--signature-format", "simplesigning"])
        #expect(own.status == 0, "\(own.stderr)")
        #expect(try await Self.signatureCount(dst, "merged/app", app.top.digest) == 1)
        let merge = try Dray.run(["mirror", "-f", dir.file("list.txt"), "-d", b.host, "--all", "--destination-project", "merged",
                                  "-o", dir.file("failed.txt")])
        #expect(merge.status == 0 && merge.stderr.contains("Skipped") && merge.stderr.contains("4 signatures copied"), "\(merge.stderr)")
        #expect(try await Self.signatureCount(dst, "merged/app", app.top.digest) == 2)
        let both = try Dray.run(["verify", "--key", dir.file("k2.pub"), "\(b.host)/merged/app:1"])
        #expect(both.status == 0, "the destination's own signature is kept: \(both.stdoutText)")
        let theirs = try Dray.run(["verify", "--key", dir.file("k.pub"), "\(b.host)/merged/app:1",
                                   "--identity", "remap:\(b.host)/merged=\(a.host)/team"])
        #expect(theirs.status == 0, "the source's signature was added: \(theirs.stdoutText)")
        let once = try Dray.run(["mirror", "-f", dir.file("list.txt"), "-d", b.host, "--all", "--destination-project", "merged",
                                 "-o", dir.file("failed.txt")])
        #expect(!once.stderr.contains("signature"), "merging again adds nothing: \(once.stderr)")
        #expect(try await Self.signatureCount(dst, "merged/app", app.top.digest) == 2)

        // A filtered index gets a new digest: the index's source signatures do not apply, the platforms' do.
        let filtered = try Dray.run(["mirror", "-f", dir.file("list.txt"), "-d", b.host, "-a", "amd64", "--os", "linux",
                                     "--destination-project", "filtered", "-o", dir.file("failed.txt")])
        #expect(filtered.status == 0 && filtered.stderr.contains("do not apply to the filtered index"), "\(filtered.stderr)")
        #expect(filtered.stderr.contains("1 signature copied"), "\(filtered.stderr)")
        let amd64 = app.children[0].digest
        #expect(try await dst.headManifest("filtered/app", .tag(SignatureAttachment.tag(for: amd64)))?.digest
                == (try await src.headManifest("team/app", .tag(SignatureAttachment.tag(for: amd64)))?.digest))
    }

    @Test("save carries .sig entries in the archive head; load (streamed and from the folder) restores them and verify passes")
    func saveLoadCarry() async throws {
        let a = try RegistryServer(), b = try RegistryServer()
        let src = RegistryClient(registry: a.host, options: MirrorCLITests.noAuth)
        let dst = RegistryClient(registry: b.host, options: MirrorCLITests.noAuth)
        let app = try SyntheticImage.index(layers: 1, layerSize: 30_000, seed: 621)
        let plain = try SyntheticImage.single(layers: 1, layerSize: 10_000, seed: 622)
        try await SyntheticImage.push(app, to: src, repository: "team/app", tag: "1")
        try await SyntheticImage.push(plain, to: src, repository: "team/plain", tag: "1")
        let dir = try TemporaryDirectory()
        try Self.keyPair(dir)
        let source = "\(a.host)/team/app:1"
        #expect(try Dray.run(["sign", "--key", dir.file("k.key"), "--passphrase-file", dir.file("pass"), "--signature-format", "simplesigning", source]).status == 0)
        try "\(source)\n\(a.host)/team/plain:1\n".write(toFile: dir.file("list.txt"), atomically: false, encoding: .utf8)

        let save = try Dray.run(["save", "-f", dir.file("list.txt"), "-d", dir.file("out.tar.gz"), "--all",
                                 "--cache", dir.file("cache"), "-o", dir.file("failed.txt")])
        #expect(save.status == 0 && save.stderr.contains("while downloading"), "signatures are planned into the head: \(save.stderr)")
        let catalog = try ArchiveCatalog.read(dir.file("out.tar.gz"))
        let names = Set(catalog.index.manifests.compactMap(OCILayout.name(of:)))
        let expected = Set([app.top.digest] + app.children.map(\.digest)).map { "\(a.host)/team/app:\(SignatureAttachment.tag(for: $0))" }
        #expect(names == Set([source, "\(a.host)/team/plain:1"] + expected), "\(names.sorted())")
        // archive ls counts the images, and lists their signature attachments under them.
        let ls = try Dray.run(["archive", "ls", dir.file("out.tar.gz")])
        #expect(ls.status == 0 && ls.stdoutText.contains("2 images (and 4 attachments)"), "\(ls.stdoutText)")
        #expect(!ls.stdoutText.contains("team/app:sha256-"), "attachment entries are not listed as images: \(ls.stdoutText)")

        // Streamed from the archive: images and their signatures, same digests.
        let load = try Dray.run(["load", "--all", "-s", dir.file("out.tar.gz"), "-d", b.host, "--report", dir.file("load.json"),
                                 "-o", dir.file("failed.txt")])
        #expect(load.status == 0 && load.stderr.contains("Loaded 2 images"), "signatures are not counted as images: \(load.stderr)")
        let sigTag = SignatureAttachment.tag(for: app.top.digest)
        #expect(try await dst.headManifest("team/app", .tag(sigTag))?.digest == (try await src.headManifest("team/app", .tag(sigTag))?.digest))
        let rule = "remap:\(b.host)/team=\(a.host)/team"
        let verify = try Dray.run(["verify", "--key", dir.file("k.pub"), "\(b.host)/team/app:1", "--identity", rule])
        #expect(verify.status == 0 && verify.stdoutText.contains("PASS"), "\(verify.stdoutText)\(verify.stderr)")
        let unsigned = try Dray.run(["verify", "--key", dir.file("k.pub"), "\(b.host)/team/plain:1", "--identity", rule])
        #expect(unsigned.status == 1 && unsigned.stdoutText.contains("unsigned"))

        // From the cache folder, through the mirror engine, into another project; and --remove-signatures.
        let folder = try Dray.run(["load", "--all", "-s", dir.file("cache"), "-d", b.host, "--destination-project", "fromdir",
                                   "-o", dir.file("failed.txt")])
        #expect(folder.status == 0 && folder.stderr.contains("4 signatures copied"), "\(folder.stderr)")
        let remapped = try Dray.run(["verify", "--key", dir.file("k.pub"), "\(b.host)/fromdir/app:1",
                                     "--identity", "remap:\(b.host)/fromdir=\(a.host)/team"])
        #expect(remapped.status == 0, "\(remapped.stdoutText)")
        let without = try Dray.run(["load", "--all", "-s", dir.file("out.tar.gz"), "-d", b.host, "--destination-project", "nosig",
                                    "--remove-signatures", "-o", dir.file("failed.txt")])
        #expect(without.status == 0, "\(without.stderr)")
        #expect(try await Self.signatureCount(dst, "nosig/app", app.top.digest) == nil)
    }
}
