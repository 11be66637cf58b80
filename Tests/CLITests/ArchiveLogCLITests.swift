import Engine
import Foundation
import Testing
import TestSupport
import Transports

/// What save and load say about archives: the real source and destination, blob counts, bad sizes.
@Suite("archive logs and reports", .serialized)
struct ArchiveLogCLITests {
    @Test("save and load name the real source and destination; an archive load counts its blobs; --part-size 0 is refused")
    func logs() async throws {
        let a = try RegistryServer(), b = try RegistryServer()
        let corpus = try await MirrorCLITests.seedCorpus(a, count: 1)
        let tree = corpus[0].tree
        let dir = try TemporaryDirectory()
        let name = "\(a.host)/\(corpus[0].name):v0"
        try name.write(toFile: dir.file("l.txt"), atomically: false, encoding: .utf8)
        let (cache, archive) = (dir.file("cache"), dir.file("s.tar.gz"))
        let save = try Dray.run(["save", "-f", dir.file("l.txt"), "-d", archive, "--cache", cache, "--all", "-o", dir.file("f.txt")])
        #expect(save.status == 0 && save.stderr.contains("[IMG:1] Copying [\(name)] => [oci:\(cache):\(name)]"), "\(save.stderr.suffix(800))")

        let load = try Dray.run(["load", "--all", "-s", archive, "-d", b.host, "--report", dir.file("r.json"), "-o", dir.file("f.txt")])
        #expect(load.status == 0, "\(load.stderr.suffix(800))")
        let pushed = "\(b.host)/\(corpus[0].name):v0"
        #expect(load.stderr.contains("[IMG:1] Copying [oci-archive:\(archive):\(name)] => [\(pushed)]"), "\(load.stderr.suffix(800))")
        #expect(load.stderr.contains("\(tree.blobs.count) blobs copied"), "\(load.stderr.suffix(800))")
        let image = (try MirrorCLITests.report(dir.file("r.json"))["images"] as! [[String: Any]])[0]
        #expect(image["blobsCopied"] as? Int == tree.blobs.count, "\(image)")

        let c = try RegistryServer()
        let folder = try Dray.run(["load", "--all", "-s", cache, "-d", c.host, "-o", dir.file("f.txt")])
        #expect(folder.status == 0 && folder.stderr.contains("[IMG:1] Copying [oci:\(cache):\(name)] => [\(c.host)/\(corpus[0].name):v0]"),
                "\(folder.stderr.suffix(800))")

        for args in [["save", "-f", dir.file("l.txt"), "-d", dir.file("p.tar.gz"), "--cache", cache],
                     ["compress", "-f", cache, "-d", dir.file("p.tar.gz")]] {
            let zero = try Dray.run(args + ["--part", "--part-size", "0"])
            #expect(zero.status == 1 && zero.stderr == "dray: error: --part-size must be positive (got \"0\")\n", "\(zero.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: dir.file("p.tar.gz.part0")))
    }
}
