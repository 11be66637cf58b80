import Engine
import Foundation
import Testing
import TestSupport
import Transports

/// Invalid lines, totals and merged indexes say the same thing in every output of a run.
@Suite("dray mirror: reports, logs and validate agree", .serialized)
struct RunReportCLITests {
    @Test("an invalid line: printed once by validate, counted in the log and report totals, and --dry-run exits 1")
    func invalidLines() async throws {
        let a = try RegistryServer(), b = try RegistryServer()
        let corpus = try await MirrorCLITests.seedCorpus(a, count: 1)
        let dir = try TemporaryDirectory()
        let list = dir.file("l.txt")
        try "\(a.host)/\(corpus[0].name):v0\njust two\n".write(toFile: list, atomically: false, encoding: .utf8)

        let dry = try Dray.run(["mirror", "-f", list, "-d", b.host, "--dry-run"])
        #expect(dry.status == 1 && dry.stdoutText.contains("1 image planned, 1 invalid line"), "\(dry.stdoutText)")

        let run = try Dray.run(["mirror", "-f", list, "-d", b.host, "--all", "-o", dir.file("f.txt"), "--report", dir.file("r.json")])
        #expect(run.status == 1)
        #expect(run.stderr.contains("Mirrored 2 images: 1 copied, 0 skipped, 1 failed"), "\(run.stderr)")
        let summary = try MirrorCLITests.report(dir.file("r.json"))["summary"] as! [String: Any]
        #expect(summary["total"] as? Int == 2 && summary["failed"] as? Int == 1 && summary["copied"] as? Int == 1, "\(summary)")
        let merged = try Dray.run(["report", "merge", dir.file("r.json")])
        #expect(merged.stdoutText.contains("2 images: 1 copied, 0 skipped, 1 failed, 1 invalid lines"), "\(merged.stdoutText)")

        let validate = try Dray.run(["mirror", "validate", "-f", list, "-d", b.host, "--all"])
        #expect(validate.status == 1)
        #expect(validate.stdoutText.components(separatedBy: "\(list):2:").count == 2, "once: \(validate.stdoutText)")
        #expect(validate.stdoutText.contains("1 passed, 1 failed"), "\(validate.stdoutText)")
    }

    @Test("an index merged into the destination's is logged with the merged platforms")
    func mergedPlatforms() async throws {
        let a = try RegistryServer(), b = try RegistryServer()
        let corpus = try await MirrorCLITests.seedCorpus(a, count: 1)
        let dir = try TemporaryDirectory()
        try "\(a.host)/\(corpus[0].name):v0\n".write(toFile: dir.file("l.txt"), atomically: false, encoding: .utf8)
        #expect(try Dray.run(["mirror", "-f", dir.file("l.txt"), "-d", b.host, "-a", "arm"]).status == 0)
        let r = try Dray.run(["mirror", "-f", dir.file("l.txt"), "-d", b.host, "-a", "amd64"])
        #expect(r.status == 0)
        #expect(r.stderr.contains("(index merged with the destination's: linux/amd64, linux/arm/v7)"), "\(r.stderr)")
    }
}
