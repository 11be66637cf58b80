import Engine
import Foundation
import Testing
import TestSupport
import Transports

/// `load -f LIST` against what `save -s REGISTRY` wrote.
@Suite("load -f with lists saved under save -s", .serialized)
struct LoadListCLITests {
    @Test("a list saved with -s loads (with or without --source-registry); a missing line fails with its reason, its own line and number; report and console agree")
    func savedWithSource() async throws {
        let a = try RegistryServer()
        let corpus = try await MirrorCLITests.seedCorpus(a, count: 2)
        let dir = try TemporaryDirectory()
        // Lines without a registry, saved from the registry given by -s.
        let lines = corpus.enumerated().map { i, c in "\(c.name):v\(i)" }
        try lines.joined(separator: "\n").write(toFile: dir.file("list.txt"), atomically: false, encoding: .utf8)
        let save = try Dray.run(["save", "-f", dir.file("list.txt"), "-s", a.host, "-d", dir.file("s.tar.gz"), "--cache", dir.file("cache"),
                                 "--all", "-o", dir.file("save-failed.txt")])
        #expect(save.status == 0, "\(save.stderr.suffix(800))")

        for (source, extra) in [(dir.file("s.tar.gz"), [String]()), (dir.file("cache"), ["--source-registry", a.host])] {
            let b = try RegistryServer()
            let load = try Dray.run(["load", "--all", "-s", source, "-d", b.host, "-f", dir.file("list.txt"), "-o", dir.file("failed.txt")] + extra)
            #expect(load.status == 0, "\(source): \(load.stderr.suffix(1500))")
            let dst = RegistryClient(registry: b.host, options: MirrorCLITests.noAuth)
            for (i, c) in corpus.enumerated() {
                #expect(try await dst.headManifest(c.name, .tag("v\(i)"))?.digest == c.tree.top.digest, "\(source) \(c.name)")
            }
            let check = try Dray.run(["load", "validate", "-s", source, "-d", b.host, "-f", dir.file("list.txt")] + extra)
            #expect(check.status == 0 && check.stdoutText.contains("2 passed, 0 failed"), "\(check.stdoutText)\(check.stderr)")
        }

        // A line naming an image that was not saved: its reason on the console, its own line in the failed list.
        try "\(lines[0])\ncorpus/absent:1\n".write(toFile: dir.file("two.txt"), atomically: false, encoding: .utf8)
        for source in [dir.file("s.tar.gz"), dir.file("cache")] {
            let b = try RegistryServer()
            let load = try Dray.run(["load", "--all", "-s", source, "-d", b.host, "-f", dir.file("two.txt"), "--source-registry", a.host,
                                     "-o", dir.file("failed.txt"), "--report", dir.file("r.json")])
            #expect(load.status == 1, "\(load.stderr.suffix(1500))")
            #expect(load.stderr.contains("\(dir.file("two.txt")):2: \(a.host)/corpus/absent:1 is not in \(source)"), "\(load.stderr.suffix(1500))")
            #expect(load.stderr.contains("Loaded 2 images: 1 copied, 0 skipped, 1 failed"), "\(load.stderr.suffix(800))")
            #expect(try String(contentsOfFile: dir.file("failed.txt"), encoding: .utf8) == "corpus/absent:1\n")
            let summary = try MirrorCLITests.report(dir.file("r.json"))["summary"] as! [String: Any]
            #expect(summary["total"] as? Int == 2 && summary["failed"] as? Int == 1 && summary["copied"] as? Int == 1, "\(summary)")
        }
    }
}
