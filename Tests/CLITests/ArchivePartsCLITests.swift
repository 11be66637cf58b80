import Engine
import Foundation
import Testing
import TestSupport
import Transports

/// Damaged archives: a truncated part must not leave a folder that looks complete.
@Suite("decompress of damaged parts", .serialized)
struct ArchivePartsCLITests {
    /// Entries of `dir` that end in `.partial`.
    static func partials(_ dir: TemporaryDirectory) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".partial") }
    }

    @Test("a truncated part (middle or last) or archive: the error names it, no folder is left, the next try extracts")
    func truncatedPart() async throws {
        let (_, _, dir, cache) = try await SyncedCache.make(count: 2)
        let base = dir.file("p.tar.gz")
        #expect(try Dray.run(["compress", "-f", cache, "-d", base, "--part", "--part-size", "64K"]).status == 0)
        var parts: [String] = []
        while FileManager.default.fileExists(atPath: "\(base).part\(parts.count)") { parts.append("\(base).part\(parts.count)") }
        #expect(parts.count >= 3)
        for damaged in [parts[1], parts.last!] {
            let original = try Data(contentsOf: URL(fileURLWithPath: damaged))
            try original.prefix(original.count / 2).write(to: URL(fileURLWithPath: damaged))
            let out = dir.file("out")
            let r = try Dray.run(["decompress", "-f", base, "-d", out])
            #expect(r.status == 1, "\(r.stderr)")
            #expect(r.stderr.contains(damaged) && r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
            #expect(!FileManager.default.fileExists(atPath: out), "a folder was left for a damaged archive")
            #expect(try Self.partials(dir).isEmpty)
            #expect(try Dray.run(["archive", "ls", out]).status != 0)
            // load and archive ls name the damaged part too.
            let target = try RegistryServer()
            let load = try Dray.run(["load", "--all", "-s", base, "-d", target.host, "-o", dir.file("f.txt")])
            #expect(load.status == 1 && load.stderr.contains(damaged), "\(load.stderr.suffix(800))")
            try original.write(to: URL(fileURLWithPath: damaged))
        }
        let whole = try Dray.run(["decompress", "-f", base, "-d", dir.file("out") + "/"])
        #expect(whole.status == 0, "\(whole.stderr)")
        #expect(try Shell.run("diff", ["-r", cache, dir.file("out")]).status == 0)

        // One truncated file: nothing under the final name either.
        #expect(try Dray.run(["compress", "-f", cache, "-d", dir.file("o.tar.zst"), "--compress", "zstd"]).status == 0)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: dir.file("o.tar.zst")))
        try bytes.prefix(bytes.count * 3 / 4).write(to: URL(fileURLWithPath: dir.file("o.tar.zst")))
        let short = try Dray.run(["decompress", "-f", dir.file("o.tar.zst"), "-d", dir.file("o")])
        #expect(short.status == 1 && short.stderr.contains("o.tar.zst"), "\(short.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.file("o")))
        #expect(try Self.partials(dir).isEmpty)
    }
}
