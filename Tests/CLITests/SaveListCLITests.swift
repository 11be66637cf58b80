import Engine
import Foundation
import Testing
import TestSupport
import Transports

/// `save` through a cache that holds more than the list: the archive is the list's, Ctrl-C and total failure
/// leave no archive.
@Suite("save writes its list, not its cache", .serialized)
struct SaveListCLITests {
    /// The names in an archive's or folder's `index.json`.
    static func names(_ path: String) throws -> Set<String> {
        Set(try ArchiveCatalog.read(path).index.manifests.compactMap(OCILayout.name(of:)))
    }

    /// The blob files (hex digests) of a tree: its manifests and every blob.
    static func blobFiles(_ tree: SyntheticImage.Tree) -> Set<String> {
        Set(tree.blobs.keys.map(\.hex) + [tree.top.digest.hex] + tree.children.map(\.digest.hex))
    }

    @Test("two lists through one cache: each archive and folder holds its own images (and signatures); validate refuses extras")
    func listNotCache() async throws {
        let a = try RegistryServer()
        let corpus = try await MirrorCLITests.seedCorpus(a, count: 3)
        let dir = try TemporaryDirectory()
        let names = corpus.enumerated().map { i, c in "\(a.host)/\(c.name):v\(i)" }
        try SignedMirrorCLITests.keyPair(dir)
        #expect(try Dray.run(["sign", "--key", dir.file("k.key"), "--passphrase-file", dir.file("pass"), "--signature-format", "simplesigning", names[0]]).status == 0)
        try names.prefix(2).joined(separator: "\n").write(toFile: dir.file("a.txt"), atomically: false, encoding: .utf8)
        try names[2].write(toFile: dir.file("b.txt"), atomically: false, encoding: .utf8)
        let cache = dir.file("cache")
        func save(_ list: String, _ destination: String, _ extra: [String] = []) throws -> Shell.Result {
            try Dray.run(["save", "-f", dir.file(list), "-d", dir.file(destination), "--cache", cache, "--all",
                          "-o", dir.file("failed.txt")] + extra)
        }

        #expect(try save("a.txt", "a.tar.gz").status == 0)
        let b = try save("b.txt", "b.tar.gz")
        #expect(b.status == 0 && b.stderr.contains("Archived 1 image into \(dir.file("b.tar.gz"))"), "\(b.stderr.suffix(800))")
        #expect(try Self.names(dir.file("b.tar.gz")) == [names[2]])
        let listing = try Shell.run("tar", ["-tzf", dir.file("b.tar.gz")]).stdoutText.split(separator: "\n")
            .filter { $0.hasPrefix("blobs/sha256/") && !$0.hasSuffix("/") }.map { String($0.dropFirst("blobs/sha256/".count)) }
        #expect(Set(listing) == Self.blobFiles(corpus[2].tree))
        // The cache keeps everything, so a re-run is cheap.
        #expect(try Self.names(cache).isSuperset(of: names))

        // The first list again, with the second in the cache: its images and their signatures only.
        let again = try save("a.txt", "a2.tar.gz")
        #expect(again.status == 0 && again.stderr.contains("Archived 2 images"), "\(again.stderr.suffix(800))")
        let tree0 = corpus[0].tree
        let signatures = ([tree0.top.digest] + tree0.children.map(\.digest))
            .map { "\(a.host)/\(corpus[0].name):\(SignatureAttachment.tag(for: $0))" }
        #expect(try Self.names(dir.file("a2.tar.gz")) == Set(names.prefix(2) + signatures))

        // --compress dir: a folder of the list's images; the cache stays whole.
        let folder = try save("b.txt", "bdir", ["--compress", "dir"])
        #expect(folder.status == 0 && folder.stderr.contains("Saved 1 image"), "\(folder.stderr.suffix(800))")
        #expect(try Self.names(dir.file("bdir")) == [names[2]])
        let linked = try FileManager.default.contentsOfDirectory(atPath: dir.file("bdir/blobs/sha256"))
        #expect(Set(linked) == Self.blobFiles(corpus[2].tree))
        #expect(try Self.names(cache).isSuperset(of: names))
        try LayoutConsistency.expectConsistent(cache, allowTemporaries: false)
        try LayoutConsistency.expectConsistent(dir.file("bdir"), allowTemporaries: false)
        // The cache itself as the folder would replace the cache: refused before anything is downloaded.
        let same = try Dray.run(["save", "-f", dir.file("b.txt"), "-d", cache + "/", "--cache", cache, "--compress", "dir", "-y"])
        #expect(same.status == 1 && same.stderr.contains("is the cache folder") && !same.stderr.contains("[IMG:"), "\(same.stderr)")
        #expect(try Self.names(cache).isSuperset(of: names))

        // save validate: an archive holding more than the list fails unless --allow-extra.
        #expect(try Dray.run(["compress", "-f", cache, "-d", dir.file("all.tar.gz")]).status == 0)
        let extra = try Dray.run(["save", "validate", "-f", dir.file("b.txt"), "-d", dir.file("all.tar.gz"), "--all"])
        #expect(extra.status == 1 && extra.stdoutText.contains("\(names[0]): in the archive but not in the list"), "\(extra.stdoutText)")
        #expect(!extra.stdoutText.contains(".sig:"), "attachments are not images: \(extra.stdoutText)")
        let allowed = try Dray.run(["save", "validate", "-f", dir.file("b.txt"), "-d", dir.file("all.tar.gz"), "--all", "--allow-extra"])
        #expect(allowed.status == 0 && allowed.stdoutText.contains("1 passed, 0 failed"), "\(allowed.stdoutText)")
        let own = try Dray.run(["save", "validate", "-f", dir.file("b.txt"), "-d", dir.file("b.tar.gz"), "--all"])
        #expect(own.status == 0, "\(own.stdoutText)")
    }

    @Test("a save in which no image succeeded writes no archive and no folder, and exits 1")
    func nothingSaved() async throws {
        let a = try RegistryServer()
        let dir = try TemporaryDirectory()
        try "\(a.host)/nothing/here:1\n".write(toFile: dir.file("l.txt"), atomically: false, encoding: .utf8)
        for (destination, extra) in [("n.tar.gz", [String]()), ("ndir", ["--compress", "dir"])] {
            let r = try Dray.run(["save", "-f", dir.file("l.txt"), "-d", dir.file(destination), "--cache", dir.file("cache"),
                                  "--retries", "0", "-o", dir.file("failed.txt")] + extra)
            #expect(r.status == 1, "\(r.stderr.suffix(800))")
            #expect(r.stderr.contains("no image was saved"), "\(r.stderr.suffix(800))")
            #expect(!FileManager.default.fileExists(atPath: dir.file(destination)), "\(destination)")
            let left = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".partial") }
            #expect(left.isEmpty, "\(left)")
        }
    }

    @Test("Ctrl-C while the archive is written: exit 130, no archive, nothing partial, the cache intact")
    func interruptedArchive() async throws {
        let a = try RegistryServer()
        // 48 MB of random layers: gzip takes a while over them.
        let tree = try SyntheticImage.single(layers: 3, layerSize: 16 << 20, seed: 7_300)
        try await SyntheticImage.push(tree, to: RegistryClient(registry: a.host, options: MirrorCLITests.noAuth),
                                      repository: "big/app", tag: "1")
        let dir = try TemporaryDirectory()
        let name = "\(a.host)/big/app:1"
        try name.write(toFile: dir.file("l.txt"), atomically: false, encoding: .utf8)
        let cache = dir.file("cache")
        // The cache holds the image already, so the run goes straight to the archive.
        #expect(try Dray.run(["sync", "-f", dir.file("l.txt"), "-d", cache]).status == 0)

        let archive = dir.file("big.tar.gz")
        let err = Pipe()
        let p = try Dray.start(["save", "-f", dir.file("l.txt"), "-d", archive, "--cache", cache, "-o", dir.file("failed.txt")],
                               stderr: err)
        // Wait until the unfinished archive holds a megabyte, then press Ctrl-C.
        var started = false
        while p.isRunning && !started {
            let partial = (try? FileManager.default.contentsOfDirectory(atPath: dir.path))?.first { $0.hasSuffix(".partial") }
            let size = partial.flatMap { try? FileManager.default.attributesOfItem(atPath: dir.file($0))[.size] as? NSNumber }
            started = (size?.int64Value ?? 0) > 1 << 20
            if !started { usleep(10_000) }
        }
        #expect(started, "the archive was finished before it could be interrupted")
        // Only a running dray is signalled (a finished one's PID may belong to another process by now).
        if started && p.isRunning { p.interrupt() }
        p.waitUntilExit()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(p.terminationReason == .exit && p.terminationStatus == 130, "\(p.terminationStatus): \(stderr.suffix(800))")
        #expect(!FileManager.default.fileExists(atPath: archive), "a complete archive after Ctrl-C")
        #expect(stderr.contains("interrupted: no archive was written to \(archive); the cache folder \(cache) is intact"), "\(stderr.suffix(800))")
        let left = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".partial") }
        #expect(left.isEmpty, "\(left)")
        #expect(try Self.names(cache) == [name])
        try LayoutConsistency.expectConsistent(cache, allowTemporaries: false)
    }
}
