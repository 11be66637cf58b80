import Engine
import Foundation
import Testing
import TestSupport
import Transports

@Suite("OCI layout transport", .serialized)
struct LayoutCLITests {
    @Test("registry → oci: layout → registry keeps every digest; skopeo and umoci read the layout",
          arguments: SyntheticImage.Format.allCases)
    func roundTrip(format: SyntheticImage.Format) async throws {
        let a = try RegistryServer(), b = try RegistryServer()
        let tree = try SyntheticImage.index(format: format, layers: 2, layerSize: 50_000, seed: 61)
        try await SyntheticImage.push(tree, to: RegistryClient(registry: a.host, options: MirrorCLITests.noAuth),
                                      repository: "lay/app", tag: "1.0")
        let dir = try TemporaryDirectory()
        let layoutPath = dir.file("layout")
        let name = "\(a.host)/lay/app:1.0"

        let save = try Dray.run(["copy", "\(a.host)/lay/app:1.0", "oci:\(layoutPath)"])
        #expect(save.status == 0, "\(save.stderr)")
        let index = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(layoutPath)/index.json"))) as! [String: Any]
        let entry = (index["manifests"] as! [[String: Any]])[0]
        #expect(entry["digest"] as? String == tree.top.digest.description)
        let annotations = entry["annotations"] as! [String: String]
        #expect(annotations["org.opencontainers.image.ref.name"] == name)
        #expect(annotations["io.containerd.image.name"] == name)
        #expect(FileManager.default.fileExists(atPath: "\(layoutPath)/oci-layout"))

        // skopeo reads it by the full reference, byte for byte, and can copy from it. (skopeo 1.9 and umoci 0.4
        // read only OCI-typed entries from a layout; Docker-typed images are stored unconverted so that their
        // digests survive, and only dray's own round trip below applies to them.)
        if format == .oci {
            try peersRead(layoutPath: layoutPath, name: name, tree: tree, a: a, b: b, dir: dir)
        }

        // Back to an empty registry: every digest, index included.
        // Back to an empty registry: every digest, index included.
        let load = try Dray.run(["copy", "oci:\(layoutPath):\(name)", "\(b.host)/lay/app:1.0"])
        #expect(load.status == 0, "\(load.stderr)")
        let dst = RegistryClient(registry: b.host, options: MirrorCLITests.noAuth)
        #expect(try await dst.manifest("lay/app", .tag("1.0")).bytes == tree.top.bytes)
        for child in tree.children { #expect(try await dst.headManifest("lay/app", .digest(child.digest)) != nil) }
        for (d, _) in tree.blobs.values { #expect(try await dst.headBlob("lay/app", d.digest) == d.size) }

        // A flipped byte in a layer of the layout is refused, naming the blob; nothing is tagged.
        guard case .image(let m) = try tree.children[1].parsed() else { return }
        let layer = m.layers.last!
        let path = "\(layoutPath)/blobs/sha256/\(layer.digest.hex)"
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[bytes.count / 2] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let c = try RegistryServer()
        // The registry refuses the damaged blob (its own digest check); with --blob-check always, dray's hash does.
        let bad = try Dray.run(["copy", "--retries", "0", "oci:\(layoutPath):\(name)", "\(c.host)/lay/app:1.0"])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("DIGEST_INVALID") && bad.stderr.contains(layer.digest.description), "\(bad.stderr)")
        let hashed = try Dray.run(["copy", "--blob-check", "always", "oci:\(layoutPath):\(name)", "\(c.host)/lay/app:1.0"])
        #expect(hashed.status != 0)
        #expect(hashed.stderr.contains("digest mismatch") && hashed.stderr.contains(layer.digest.description), "\(hashed.stderr)")
        #expect(try await RegistryClient(registry: c.host, options: MirrorCLITests.noAuth).headManifest("lay/app", .tag("1.0")) == nil)
    }

    /// skopeo inspects and copies from the layout; umoci unpacks a platform image written to a layout.
    func peersRead(layoutPath: String, name: String, tree: SyntheticImage.Tree, a: RegistryServer, b: RegistryServer,
                   dir: TemporaryDirectory) throws {
        let raw = try Shell.run("skopeo", ["inspect", "--raw", "oci:\(layoutPath):\(name)"])
        #expect(raw.status == 0, "\(raw.stderr)")
        #expect(raw.stdout == tree.top.bytes)
        let skopeoCopy = try Shell.run("skopeo", ["copy", "--all", "--dest-tls-verify=false", "--preserve-digests",
                                                  "oci:\(layoutPath):\(name)", "docker://\(b.host)/skopeo/app:1.0"])
        #expect(skopeoCopy.status == 0, "\(skopeoCopy.stderr)")

        // umoci unpacks a platform image from a layout dray wrote (umoci names images by tag: give it one).
        let amd = tree.children[0]
        let single = try Dray.run(["copy", "\(a.host)/lay/app@\(amd.digest)", "oci:\(dir.file("umoci")):app"])
        #expect(single.status == 0, "\(single.stderr)")
        let unpack = try Shell.run("umoci", ["raw", "unpack", "--rootless", "--image", "\(dir.file("umoci")):app", dir.file("rootfs")])
        #expect(unpack.status == 0, "\(unpack.stderr)")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.file("rootfs"))
        #expect(files.contains { $0.hasPrefix("file-") })

    }

    @Test("layout locations: a missing layout and an ambiguous one give one-line errors")
    func badLayouts() throws {
        let dir = try TemporaryDirectory()
        let missing = try Dray.run(["copy", "oci:\(dir.file("nope"))", "127.0.0.1:1/a/b:1"])
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("not an OCI image layout"), "\(missing.stderr)")
        let empty = try Dray.run(["copy", "oci:", "127.0.0.1:1/a/b:1"])
        #expect(empty.stderr.contains("oci: needs a path"), "\(empty.stderr)")
    }
}

@Suite("dray sync into a cache folder", .serialized)
struct SyncCLITests {
    @Test("sync adds images, re-adding is a no-op, a new image downloads only what the cache lacks")
    func sync() async throws {
        let a = try RegistryServer(), b = try RegistryServer()
        let corpus = try await MirrorCLITests.seedCorpus(a, count: 4, format: { _ in .oci })
        let dir = try TemporaryDirectory()
        let cache = dir.file("saved-image-cache")
        let names = corpus.enumerated().map { i, c in "\(a.host)/\(c.name):v\(i)" }
        try (names.prefix(3) + ["\(a.host)/x/y dst/z 1"]).joined(separator: "\n")
            .write(toFile: dir.file("l.txt"), atomically: false, encoding: .utf8)

        let first = try Dray.run(["sync", "-f", dir.file("l.txt"), "-d", cache, "--all", "-j", "3",
                                  "-o", dir.file("failed.txt"), "--report", dir.file("r1.json")])
        #expect(first.status == 1, "the Mirror-format line fails: \(first.stderr.suffix(1500))")
        #expect(first.stderr.contains("\(dir.file("l.txt")):4: a cache takes Default-format lines"))
        let layout = try OCILayout(path: cache, create: false)
        #expect(Set(try layout.names()) == Set(names.prefix(3)))

        try names.prefix(3).joined(separator: "\n").write(toFile: dir.file("l.txt"), atomically: false, encoding: .utf8)
        let again = try Dray.run(["sync", "-f", dir.file("l.txt"), "-d", cache, "--all", "--report", dir.file("r2.json")])
        #expect(again.status == 0)
        let s2 = try MirrorCLITests.report(dir.file("r2.json"))["summary"] as! [String: Any]
        #expect(s2["skipped"] as? Int == 3)
        #expect((s2["bytesCopied"] as? NSNumber)?.int64Value == 0)

        // The fourth image shares its base layers with the cached ones: only its own blobs are downloaded.
        try names[3].write(toFile: dir.file("l4.txt"), atomically: false, encoding: .utf8)
        let fourth = try Dray.run(["sync", "-f", dir.file("l4.txt"), "-d", cache, "--all", "--report", dir.file("r3.json")])
        #expect(fourth.status == 0, "\(fourth.stderr)")
        var cached = Set<Digest>()
        for c in corpus.prefix(3) { cached.formUnion(c.tree.blobs.keys) }
        let missing = corpus[3].tree.blobs.values.filter { !cached.contains($0.0.digest) }.reduce(Int64(0)) { $0 + $1.0.size }
        let s3 = try MirrorCLITests.report(dir.file("r3.json"))["summary"] as! [String: Any]
        #expect((s3["bytesCopied"] as? NSNumber)?.int64Value == missing)
        #expect(missing < corpus[3].tree.blobs.values.reduce(Int64(0)) { $0 + $1.0.size })

        // The cache is a standard layout: skopeo reads it; dray loads it back with every digest.
        let raw = try Shell.run("skopeo", ["inspect", "--raw", "oci:\(cache):\(names[3])"])
        #expect(raw.stdout == corpus[3].tree.top.bytes, "\(raw.stderr)")
        let back = try Dray.run(["copy", "oci:\(cache):\(names[0])", "\(b.host)/back/app:v0"])
        #expect(back.status == 0, "\(back.stderr)")
        #expect(try await RegistryClient(registry: b.host, options: MirrorCLITests.noAuth)
            .manifest("back/app", .tag("v0")).bytes == corpus[0].tree.top.bytes)
    }
}

/// A registry with `count` OCI images, synced by `dray sync` into the folder `cache` of a temporary directory.
enum SyncedCache {
    static func make(count: Int) async throws
        -> (RegistryServer, [(name: String, tree: SyntheticImage.Tree)], TemporaryDirectory, String)
    {
        let a = try RegistryServer()
        let corpus = try await MirrorCLITests.seedCorpus(a, count: count, format: { _ in .oci })
        let dir = try TemporaryDirectory()
        let cache = dir.file("cache")
        try corpus.enumerated().map { i, c in "\(a.host)/\(c.name):v\(i)" }.joined(separator: "\n")
            .write(toFile: dir.file("l.txt"), atomically: false, encoding: .utf8)
        #expect(try Dray.run(["sync", "-f", dir.file("l.txt"), "-d", cache, "--all"]).status == 0)
        return (a, corpus, dir, cache)
    }
}

@Suite("dray compress", .serialized)
struct CompressCLITests {
    @Test("a cache folder becomes tar.gz, tar.zst, tar and split parts that tar, zstd and skopeo read")
    func compress() async throws {
        let (a, corpus, dir, cache) = try await SyncedCache.make(count: 3)

        for (args, name) in [(["--compress", "gzip"], "o.tar.gz"), (["--compress", "zstd"], "o.tar.zst"),
                             (["--compress", "none"], "o.tar")] {
            let r = try Dray.run(["compress", "-f", cache, "-d", dir.file(name)] + args)
            #expect(r.status == 0, "\(r.stderr)")
        }
        let listing = try Shell.run("tar", ["-tzf", dir.file("o.tar.gz")]).stdoutText.split(separator: "\n")
        #expect(Array(listing.prefix(2)) == ["oci-layout", "index.json"], "metadata first, so readers can stream")
        let zstdList = try Shell.run("sh", ["-c", "zstd -dc '\(dir.file("o.tar.zst"))' | tar -t | wc -l"])
        #expect(Int(zstdList.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)) == listing.count)

        // Parts, exactly like split: cat NAME.part* | tar -xz restores the folder byte for byte.
        let parts = try Dray.run(["compress", "-f", cache, "-d", dir.file("p.tar.gz"), "--part", "--part-size", "64K"])
        #expect(parts.status == 0, "\(parts.stderr)")
        let partFiles = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix("p.tar.gz.part") }
        #expect(partFiles.count > 2)
        try FileManager.default.createDirectory(atPath: dir.file("x"), withIntermediateDirectories: true)
        let restore = try Shell.run("sh", ["-c", "cd '\(dir.path)' && cat $(ls p.tar.gz.part* | sort -V) | tar -xz -C x && diff -r x cache"])
        #expect(restore.status == 0, "\(restore.stderr)\(restore.stdoutText)")

        // skopeo opens the plain and gzip archives by full reference.
        let name = "\(a.host)/\(corpus[1].name):v1"
        for archive in ["o.tar", "o.tar.gz"] {
            let raw = try Shell.run("skopeo", ["inspect", "--raw", "oci-archive:\(dir.file(archive)):\(name)"])
            #expect(raw.stdout == corpus[1].tree.top.bytes, "\(archive): \(raw.stderr)")
        }

        // No overwrite without -y; with -y it is replaced.
        let again = try Dray.run(["compress", "-f", cache, "-d", dir.file("o.tar.gz")])
        #expect(again.status != 0 && again.stderr.contains("exists; pass -y"))
        #expect(try Dray.run(["compress", "-f", cache, "-d", dir.file("o.tar.gz"), "-y"]).status == 0)

        // A corrupted blob in the cache fails the archive and leaves no file under the name.
        guard case .image(let m) = try corpus[0].tree.children[0].parsed() else { return }
        let blob = "\(cache)/blobs/sha256/\(m.layers.last!.digest.hex)"
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: blob)))
        bytes[10] ^= 0xff
        try Data(bytes).write(to: URL(fileURLWithPath: blob))
        let bad = try Dray.run(["compress", "-f", cache, "-d", dir.file("bad.tar.gz")])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("corrupted") && bad.stderr.contains(m.layers.last!.digest.description), "\(bad.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.file("bad.tar.gz")))
    }
}

@Suite("dray decompress", .serialized)
struct DecompressCLITests {
    @Test("every archive form extracts to the same folder; bad archives are refused, naming what is wrong")
    func decompress() async throws {
        let (_, corpus, dir, cache) = try await SyncedCache.make(count: 2)
        for (args, name) in [(["--compress", "gzip"], "o.tar.gz"), (["--compress", "zstd"], "o.tar.zst"),
                             (["--compress", "none"], "o.tar"), (["--part", "--part-size", "64K"], "p.tar.gz")] {
            #expect(try Dray.run(["compress", "-f", cache, "-d", dir.file(name)] + args).status == 0)
            let out = dir.file("x-\(name)")
            let r = try Dray.run(["decompress", "-f", dir.file(name), "-d", out])
            #expect(r.status == 0, "\(name): \(r.stderr)")
            #expect(try Shell.run("diff", ["-r", cache, out]).status == 0, "\(name) differs")
        }
        // A non-empty target needs -y.
        let busy = try Dray.run(["decompress", "-f", dir.file("o.tar.gz"), "-d", dir.file("x-o.tar.gz")])
        #expect(busy.status != 0 && busy.stderr.contains("is not empty; pass -y"))

        // A flipped byte inside a layer of the plain tar: the blob is named, and not left behind.
        guard case .image(let m) = try corpus[0].tree.children[0].parsed() else { return }
        let layer = m.layers.last!
        var tar = Array(try Data(contentsOf: URL(fileURLWithPath: dir.file("o.tar"))))
        let original = Array(try Data(contentsOf: URL(fileURLWithPath: "\(cache)/blobs/sha256/\(layer.digest.hex)")))
        let at = Self.find(tar, Array(original.prefix(64)))!
        tar[at + 100] ^= 0xff
        try Data(tar).write(to: URL(fileURLWithPath: dir.file("bad.tar")))
        let bad = try Dray.run(["decompress", "-f", dir.file("bad.tar"), "-d", dir.file("bad")])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("blob \(layer.digest) is corrupted"), "\(bad.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.file("bad/blobs/sha256/\(layer.digest.hex)")))

        // A truncated archive and a missing part.
        try Data(tar.prefix(tar.count / 2)).write(to: URL(fileURLWithPath: dir.file("short.tar")))
        let short = try Dray.run(["decompress", "-f", dir.file("short.tar"), "-d", dir.file("short")])
        #expect(short.status != 0 && short.stderr.contains("ends"), "\(short.stderr)")
        try FileManager.default.removeItem(atPath: dir.file("p.tar.gz.part1"))
        let gap = try Dray.run(["decompress", "-f", dir.file("p.tar.gz"), "-d", dir.file("gap")])
        #expect(gap.status != 0 && gap.stderr.contains("p.tar.gz.part1: missing part"), "\(gap.stderr)")

        // Entries that would escape the folder are refused before anything is written for them.
        for evil in ["../escape.txt", "/tmp/dray-abs-escape.txt", "blobs/../../up.txt"] {
            let sink = try FileSink(path: dir.file("evil.tar"))
            let w = TarWriter(sink)
            try w.addFile("oci-layout", bytes: Array(#"{"imageLayoutVersion":"1.0.0"}"#.utf8))
            try w.addFile(evil, bytes: Array("gotcha".utf8))
            try w.finish()
            let r = try Dray.run(["decompress", "-f", dir.file("evil.tar"), "-d", dir.file("evil/inner"), "-y"])
            #expect(r.status != 0 && r.stderr.contains("unsafe path"), "\(evil): \(r.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: dir.file("evil/escape.txt")))
        #expect(!FileManager.default.fileExists(atPath: "/tmp/dray-abs-escape.txt"))
        #expect(!FileManager.default.fileExists(atPath: dir.file("up.txt")))
    }

    static func find(_ haystack: [UInt8], _ needle: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for i in 0...(haystack.count - needle.count) where haystack[i] == needle[0] && Array(haystack[i..<(i + needle.count)]) == needle {
            return i
        }
        return nil
    }
}

@Suite("Air-gap workflow: save, sync, compress, decompress, load", .serialized)
struct AirGapCLITests {
    @Test("10 multi-arch images: save to tar.gz, tar.zst and parts; sync adds the one that failed; load gives every digest")
    func airGap() async throws {
        let a = try RegistryServer(), b = try RegistryServer()
        let corpus = try await MirrorCLITests.seedCorpus(a, count: 10)
        let dir = try TemporaryDirectory()
        let names = corpus.enumerated().map { i, c in "\(a.host)/\(c.name):v\(i)" }
        // The list names an 11th image that does not exist yet: it fails and lands in the failed list.
        let late = "\(a.host)/corpus/late:1"
        try (names + [late]).joined(separator: "\n").write(toFile: dir.file("list.txt"), atomically: false, encoding: .utf8)
        let cache = dir.file("saved-image-cache")

        let save = try Dray.run(["save", "-f", dir.file("list.txt"), "-d", dir.file("saved.tar.gz"), "--cache", cache,
                                 "--all", "-j", "4", "-o", dir.file("save-failed.txt")])
        #expect(save.status == 1, "one image is missing: \(save.stderr.suffix(1500))")
        // The missing image fails while planning, so the archive of the other ten is written during the download.
        #expect(save.stderr.contains("while downloading"), "\(save.stderr.suffix(800))")
        #expect(try String(contentsOfFile: dir.file("save-failed.txt"), encoding: .utf8) == late + "\n")
        #expect(FileManager.default.fileExists(atPath: dir.file("saved.tar.gz")))

        // The missing image appears; sync adds it to the cache, then compress carries it.
        let lateTree = try SyntheticImage.index(layers: 1, layerSize: 10_000, seed: 4242, sharedBase: [7, 8])
        try await SyntheticImage.push(lateTree, to: RegistryClient(registry: a.host, options: MirrorCLITests.noAuth),
                                      repository: "corpus/late", tag: "1")
        let sync = try Dray.run(["sync", "-f", dir.file("save-failed.txt"), "-d", cache, "--all"])
        #expect(sync.status == 0, "\(sync.stderr)")
        for (args, name) in [(["--compress", "gzip"], "all.tar.gz"), (["--compress", "zstd"], "all.tar.zst"),
                             (["--part", "--part-size", "200K"], "parts.tar.gz")] {
            #expect(try Dray.run(["compress", "-f", cache, "-d", dir.file(name)] + args).status == 0)
        }
        // save itself writes zstd parts too; with everything cached, the archive streams from the cache.
        let parts = try Dray.run(["save", "-f", dir.file("list.txt"), "-d", dir.file("saved.tar.zst"), "--cache", cache, "--all",
                                  "--compress", "zstd", "--part", "--part-size", "300K", "-o", dir.file("save2-failed.txt")])
        #expect(parts.status == 0 && parts.stderr.contains("parts") && parts.stderr.contains("while downloading"), "\(parts.stderr.suffix(800))")
        #expect(FileManager.default.fileExists(atPath: dir.file("saved.tar.zst.part1")))
        // save validate: the first archive lacks the late image; the new one has everything.
        let v1 = try Dray.run(["save", "validate", "-f", dir.file("list.txt"), "-d", dir.file("saved.tar.gz"), "--all"])
        #expect(v1.status != 0 && v1.stdoutText.contains("\(late): missing from the archive") && v1.stdoutText.contains("10 passed, 1 failed"),
                "\(v1.stdoutText)")
        let v2 = try Dray.run(["save", "validate", "-f", dir.file("list.txt"), "-d", dir.file("all.tar.zst"), "--all"])
        #expect(v2.status == 0 && v2.stdoutText.contains("11 passed, 0 failed"), "\(v2.stdoutText)")

        // skopeo copies an OCI-typed image straight out of the archive.
        let sk = try Shell.run("skopeo", ["copy", "--all", "--preserve-digests", "--dest-tls-verify=false",
                                          "oci-archive:\(dir.file("all.tar.gz")):\(names[0])", "docker://\(b.host)/skopeo/app0:v0"])
        #expect(sk.status == 0, "\(sk.stderr)")

        // Across the air gap: decompress each form and load; every digest arrives.
        for (i, archive) in ["all.tar.gz", "all.tar.zst", "parts.tar.gz"].enumerated() {
            let target = try RegistryServer()
            let folder = dir.file("unpacked-\(i)")
            #expect(try Dray.run(["decompress", "-f", dir.file(archive), "-d", folder]).status == 0)
            let load = try Dray.run(["load", "--all", "-s", folder, "-d", target.host, "-j", "4", "-o", dir.file("load-failed.txt")])
            #expect(load.status == 0, "\(archive): \(load.stderr.suffix(1500))")
            let dst = RegistryClient(registry: target.host, options: MirrorCLITests.noAuth)
            for (j, c) in corpus.enumerated() {
                #expect(try await dst.manifest(c.name, .tag("v\(j)")).bytes == c.tree.top.bytes, "\(archive) \(c.name)")
            }
            #expect(try await dst.headManifest("corpus/late", .tag("1"))?.digest == lateTree.top.digest)
            if i == 0 {
                // load validate reads the compressed archive directly, and catches a deleted tag.
                let ok = try Dray.run(["load", "validate", "-s", dir.file(archive), "-d", target.host])
                #expect(ok.status == 0 && ok.stdoutText.contains("11 passed, 0 failed"), "\(ok.stdoutText)\(ok.stderr)")
                // Loading again changes nothing.
                let again = try Dray.run(["load", "--all", "-s", folder, "-d", target.host, "--report", dir.file("again.json")])
                let s = try MirrorCLITests.report(dir.file("again.json"))["summary"] as! [String: Any]
                #expect(again.status == 0 && s["skipped"] as? Int == 11)
                try await dst.deleteManifest(corpus[5].name, corpus[5].tree.top.digest)
                let gone = try Dray.run(["load", "validate", "-s", folder, "-d", target.host])
                #expect(gone.status != 0 && gone.stdoutText.contains("\(target.host)/\(corpus[5].name):v5: missing at the destination"),
                        "\(gone.stdoutText)")
            }
        }

        // Straight from the archives, streamed once without extracting: every digest arrives.
        for archive in ["all.tar.gz", "all.tar.zst", "parts.tar.gz", "saved.tar.zst"] {
            let target = try RegistryServer()
            let load = try Dray.run(["load", "--all", "-s", dir.file(archive), "-d", target.host, "-o", dir.file("sfail.txt"),
                                     "--report", dir.file("stream.json")])
            #expect(load.status == 0, "\(archive): \(load.stderr.suffix(1500))")
            let dst = RegistryClient(registry: target.host, options: MirrorCLITests.noAuth)
            for (j, c) in corpus.enumerated() {
                #expect(try await dst.manifest(c.name, .tag("v\(j)")).bytes == c.tree.top.bytes, "\(archive) \(c.name)")
                for child in c.tree.children { #expect(try await dst.headManifest(c.name, .digest(child.digest)) != nil) }
            }
            #expect(try await dst.headManifest("corpus/late", .tag("1"))?.digest == lateTree.top.digest)
            if archive == "all.tar.gz" {
                let again = try Dray.run(["load", "--all", "-s", dir.file(archive), "-d", target.host, "--report", dir.file("s2.json")])
                let s2 = try MirrorCLITests.report(dir.file("s2.json"))["summary"] as! [String: Any]
                #expect(again.status == 0 && s2["skipped"] as? Int == 11 && (s2["bytesCopied"] as? NSNumber)?.int64Value == 0)
            }
        }
        // A flipped byte in a layer of a plain tar, streamed: only that image fails, naming the blob.
        #expect(try Dray.run(["compress", "-f", cache, "-d", dir.file("all.tar"), "--compress", "none"]).status == 0)
        do {
            guard case .image(let m) = try corpus[4].tree.children[0].parsed() else { return }
            let layer = m.layers.last!
            var tar = Array(try Data(contentsOf: URL(fileURLWithPath: dir.file("all.tar"))))
            let original = Array(try Data(contentsOf: URL(fileURLWithPath: "\(cache)/blobs/sha256/\(layer.digest.hex)")))
            let at = DecompressCLITests.find(tar, Array(original.prefix(64)))!
            tar[at + 200] ^= 0x01
            try Data(tar).write(to: URL(fileURLWithPath: dir.file("flipped.tar")))
            let target = try RegistryServer()
            let r = try Dray.run(["load", "--all", "-s", dir.file("flipped.tar"), "-d", target.host, "-o", dir.file("ffail.txt")])
            #expect(r.status == 1)
            #expect(r.stderr.contains(layer.digest.description) && r.stderr.contains("digest mismatch"), "\(r.stderr.suffix(1500))")
            #expect(try String(contentsOfFile: dir.file("ffail.txt"), encoding: .utf8) == names[4] + "\n")
            let dst = RegistryClient(registry: target.host, options: MirrorCLITests.noAuth)
            #expect(try await dst.headManifest(corpus[4].name, .tag("v4")) == nil)
            #expect(try await dst.headManifest(corpus[5].name, .tag("v5"))?.digest == corpus[5].tree.top.digest)
        }

        // A flipped byte in a layer of the folder: that image fails on load with the blob named; the others load.
        let folder = dir.file("unpacked-0")
        guard case .image(let m) = try corpus[2].tree.children[1].parsed() else { return }
        let layer = m.layers.last!
        let path = "\(folder)/blobs/sha256/\(layer.digest.hex)"
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[bytes.count - 3] ^= 0x10
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let fresh = try RegistryServer()
        let bad = try Dray.run(["load", "--all", "-s", folder, "-d", fresh.host, "-j", "4", "-o", dir.file("bad-failed.txt")])
        #expect(bad.status == 1)
        // Refused by the registry's digest check (dray's own hash with --blob-check always).
        #expect(bad.stderr.contains(layer.digest.description) && bad.stderr.contains("DIGEST_INVALID"), "\(bad.stderr.suffix(2000))")
        #expect(try String(contentsOfFile: dir.file("bad-failed.txt"), encoding: .utf8) == names[2] + "\n")
        let dst = RegistryClient(registry: fresh.host, options: MirrorCLITests.noAuth)
        #expect(try await dst.headManifest(corpus[2].name, .tag("v2")) == nil, "nothing is tagged for the affected image")
        #expect(try await dst.headManifest(corpus[3].name, .tag("v3"))?.digest == corpus[3].tree.top.digest)
    }
}

@Suite("dray archive ls", .serialized)
struct ArchiveListCLITests {
    @Test("lists images, platforms and sizes of archives, parts and folders, reading only the metadata")
    func list() async throws {
        let a = try RegistryServer()
        let corpus = try await MirrorCLITests.seedCorpus(a, count: 3)
        let dir = try TemporaryDirectory()
        let names = corpus.enumerated().map { i, c in "\(a.host)/\(c.name):v\(i)" }
        try names.joined(separator: "\n").write(toFile: dir.file("l.txt"), atomically: false, encoding: .utf8)
        let save = try Dray.run(["save", "-f", dir.file("l.txt"), "-d", dir.file("s.tar.gz"), "--cache", dir.file("c"), "--all"])
        #expect(save.status == 0, "\(save.stderr)")
        #expect(save.stderr.contains("while downloading"), "the archive is written as layers arrive: \(save.stderr.suffix(800))")
        // Streamed in arrival order, the archive still has its metadata first and every blob of the folder.
        let listing = try Shell.run("tar", ["-tzf", dir.file("s.tar.gz")]).stdoutText.split(separator: "\n").map(String.init)
        #expect(Array(listing.prefix(2)) == ["oci-layout", "index.json"])
        let cached = try FileManager.default.contentsOfDirectory(atPath: dir.file("c/blobs/sha256")).filter { !$0.hasPrefix(".") }
        #expect(Set(listing.filter { $0.hasPrefix("blobs/sha256/") && !$0.hasSuffix("/") }) == Set(cached.map { "blobs/sha256/\($0)" }))
        #expect(listing.count == Set(listing).count, "no entry twice")
        #expect(try Dray.run(["compress", "-f", dir.file("c"), "-d", dir.file("s.tar"), "--compress", "none"]).status == 0)
        #expect(try Dray.run(["compress", "-f", dir.file("c"), "-d", dir.file("p.tar.zst"), "--compress", "zstd", "--part", "--part-size", "64K"]).status == 0)

        for target in ["s.tar.gz", "s.tar", "p.tar.zst", "c"] {
            let r = try Dray.run(["archive", "ls", "--json", dir.file(target)])
            #expect(r.status == 0, "\(target): \(r.stderr)")
            let images = try JSONSerialization.jsonObject(with: Data(r.stdout)) as! [[String: Any]]
            #expect(Set(images.map { $0["name"] as! String }) == Set(names), "\(target)")
            let first = images.first { $0["name"] as? String == names[0] }!
            #expect(first["digest"] as? String == corpus[0].tree.top.digest.description)
            #expect((first["platforms"] as! [String]) == ["linux/amd64", "linux/arm64/v8", "linux/arm/v7"])
            let expected = corpus[0].tree.blobs.values.reduce(Int64(0)) { $0 + $1.0.size }
                + Int64(corpus[0].tree.top.bytes.count) + corpus[0].tree.children.reduce(Int64(0)) { $0 + Int64($1.bytes.count) }
            #expect((first["size"] as? NSNumber)?.int64Value == expected)
        }
        // Cut the plain tar to 60%: the layers at its end are gone, the listing still works.
        let tar = try Data(contentsOf: URL(fileURLWithPath: dir.file("s.tar")))
        try tar.prefix(tar.count * 6 / 10).write(to: URL(fileURLWithPath: dir.file("cut.tar")))
        let cut = try Dray.run(["archive", "ls", dir.file("cut.tar")])
        #expect(cut.status == 0, "\(cut.stderr)")
        #expect(cut.stdoutText.contains("3 images"))
        let none = try Dray.run(["archive", "ls", dir.file("nothing.tar")])
        #expect(none.status != 0 && none.stderr.contains("no such archive"))

        // An image that fails mid-download (a corrupted layer at the source) is left out: the archive streamed
        // during the download promised it, so it is rebuilt from the cache folder and holds the other two.
        let others = Set(corpus[0].tree.blobs.keys).union(corpus[2].tree.blobs.keys)
        let layers = try corpus[1].tree.children.flatMap { c -> [Digest] in
            guard case .image(let m) = try c.parsed() else { return [] }
            return m.layers.map(\.digest)
        }
        let unique = layers.first { !others.contains($0) }!
        let path = a.blobDataPath(unique.hex)
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[bytes.count / 2] ^= 0xff
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let partial = try Dray.run(["save", "-f", dir.file("l.txt"), "-d", dir.file("s2.tar.gz"), "--cache", dir.file("c2"), "--all",
                                    "--retries", "0", "-o", dir.file("s2-failed.txt")])
        #expect(partial.status == 1)
        #expect(partial.stderr.contains("from the cache folder (some images failed)"), "\(partial.stderr.suffix(800))")
        let two = try Dray.run(["archive", "ls", "--json", dir.file("s2.tar.gz")])
        let listed = try JSONSerialization.jsonObject(with: Data(two.stdout)) as! [[String: Any]]
        #expect(Set(listed.map { $0["name"] as! String }) == [names[0], names[2]])
    }
}
