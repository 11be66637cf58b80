import Engine
import Foundation
import Testing
import TestSupport
import Transports

@Suite("Sharded runs: --shard and report merge", .serialized)
struct ShardCLITests {
    static let noAuth = RegistryOptions(credentials: CredentialStore(authFiles: []))

    /// `count` single-platform images at `registry`; returns their list lines (Default format).
    static func seed(_ registry: RegistryServer, count: Int, from first: Int = 0) async throws -> [(line: String, repo: String, tree: SyntheticImage.Tree)] {
        let client = RegistryClient(registry: registry.host, options: noAuth)
        var out: [(String, String, SyntheticImage.Tree)] = []
        for i in first..<(first + count) {
            let tree = try SyntheticImage.single(seed: UInt64(500 + i))
            let repo = "shard/app\(i)"
            try await SyntheticImage.push(tree, to: client, repository: repo, tag: "1")
            out.append(("\(registry.host)/\(repo):1", repo, tree))
        }
        return out
    }

    static func destinations(_ report: String) throws -> [String] {
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report))) as! [String: Any]
        return (json["images"] as! [[String: Any]]).map { $0["destination"] as! String }
    }

    @Test("three mirror processes with --shard i/3 cover the list exactly once; report merge sums them and names a missing shard")
    func mirrorShards() async throws {
        let a = try RegistryServer(), b = try RegistryServer()
        // The slices hash the destination, whose port changes from run to run: with 12 images one shard was left
        // empty in about 2 % of runs. More images are added until every shard has one.
        var images = try await Self.seed(a, count: 12)
        while Set(images.map { Shard.slice(of: "\(b.host)/\($0.repo):1", count: 3) }).count < 3 {
            images += try await Self.seed(a, count: 1, from: images.count)
        }
        let n = images.count
        let dir = try TemporaryDirectory()
        try (images.map(\.line) + ["not a reference!"]).joined(separator: "\n")
            .write(toFile: dir.file("list.txt"), atomically: false, encoding: .utf8)

        // Side by side, as an Indexed Job runs them; the last one finds its index in JOB_COMPLETION_INDEX.
        let results = try await withThrowingTaskGroup(of: (Int, Shell.Result).self) { group in
            for i in 0..<3 {
                group.addTask {
                    let shard = i == 2 ? "auto/3" : "\(i)/3"
                    let env = i == 2 ? ["JOB_COMPLETION_INDEX": "2"] : [:]
                    return (i, try Dray.run(["mirror", "-f", dir.file("list.txt"), "-d", b.host, "--shard", shard, "-j", "4",
                                             "-o", dir.file("failed-\(i).txt"), "--report", dir.file("report-\(i).json")],
                                            extraEnvironment: env))
                }
            }
            var out: [Int: Shell.Result] = [:]
            for try await (i, r) in group { out[i] = r }
            return out
        }
        var seen: [String: Int] = [:]
        var invalidReported = 0
        for i in 0..<3 {
            let r = results[i]!
            #expect(r.stderr.contains("Shard \(i)/3: "), "\(r.stderr.suffix(1500))")
            let mine = try Self.destinations(dir.file("report-\(i).json"))
            #expect(!mine.isEmpty, "\(n) images over 3 shards, each holding at least one: each gets some")
            for d in mine {
                #expect(seen[d] == nil, "\(d) is in shards \(seen[d] ?? -1) and \(i)")
                seen[d] = i
                #expect(Shard.slice(of: d, count: 3) == i)
            }
            if FileManager.default.fileExists(atPath: dir.file("failed-\(i).txt")) {
                invalidReported += 1
                #expect(r.status != 0)
                #expect(r.stderr.contains("list.txt:\(n + 1): "), "\(r.stderr.suffix(1500))")
                #expect(try String(contentsOfFile: dir.file("failed-\(i).txt"), encoding: .utf8) == "not a reference!\n")
            } else {
                #expect(r.status == 0, "\(r.stderr.suffix(1500))")
            }
        }
        #expect(invalidReported == 1, "the invalid line belongs to exactly one shard")
        #expect(Set(seen.keys) == Set(images.map { "\(b.host)/\($0.repo):1" }), "the union is the whole list")
        let dst = RegistryClient(registry: b.host, options: Self.noAuth)
        for image in images { #expect(try await dst.manifest(image.repo, .tag("1")).digest == image.tree.top.digest) }

        // One summary from all three; -o and --failed write the merged report and list.
        let reports = (0..<3).map { dir.file("report-\($0).json") }
        let merged = try Dray.run(["report", "merge"] + reports + ["-o", dir.file("merged.json"), "--failed", dir.file("merged-failed.txt")])
        #expect(merged.status == 1, "an invalid line makes the merge exit 1")
        #expect(merged.stdoutText.contains("Merged 3 reports (3 of 3 shards): \(n + 1) images: \(n) copied, 0 skipped, 1 failed, 1 invalid lines"),
                "\(merged.stdoutText)\(merged.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir.file("merged.json")))) as! [String: Any]
        #expect((json["summary"] as! [String: Any])["copied"] as? Int == n)
        #expect((json["images"] as! [[String: Any]]).map { $0["id"] as! Int } == Array(1...n), "ids of the whole list, in order")
        #expect(json["shards"] as? [String] == ["0/3", "1/3", "2/3"])
        #expect(try String(contentsOfFile: dir.file("merged-failed.txt"), encoding: .utf8).isEmpty)

        let missing = try Dray.run(["report", "merge", reports[0], reports[2]])
        #expect(missing.status == 1)
        #expect(missing.stdoutText.contains("(2 of 3 shards)") && missing.stdoutText.contains("Missing: shard 1/3"))
        let twice = try Dray.run(["report", "merge", reports[0], reports[0]])
        #expect(twice.status == 1)
        #expect(twice.stderr.contains("\(reports[0]) and \(reports[0]) are both shard 0/3"))

        // Each shard validates its own slice.
        for i in 0..<3 {
            let v = try Dray.run(["mirror", "validate", "-f", dir.file("list.txt"), "-d", b.host, "--shard", "\(i)/3"])
            let passed = v.stdoutText.split(separator: "\n").filter { $0.hasPrefix("PASS") }.count
            #expect(passed == seen.values.filter { $0 == i }.count, "\(v.stdoutText)")
        }

        // A re-run of one shard is incremental like any run: nothing to copy.
        let again = try Dray.run(["mirror", "-f", dir.file("list.txt"), "-d", b.host, "--shard", "1/3", "-o", dir.file("f.txt"),
                                  "--report", dir.file("again.json")])
        let againJSON = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir.file("again.json")))) as! [String: Any]
        #expect((againJSON["summary"] as! [String: Any])["copied"] as? Int == 0, "\(again.stderr.suffix(800))")
        #expect(againJSON["shard"] as? String == "1/3")
    }

    @Test("sync with two shards fills two caches whose images together are the list")
    func syncShards() async throws {
        let a = try RegistryServer()
        let images = try await Self.seed(a, count: 6)
        let dir = try TemporaryDirectory()
        try images.map(\.line).joined(separator: "\n").write(toFile: dir.file("list.txt"), atomically: false, encoding: .utf8)
        var names: [String] = []
        for i in 0..<2 {
            let r = try Dray.run(["sync", "-f", dir.file("list.txt"), "-d", dir.file("cache-\(i)"), "--shard", "\(i)/2",
                                  "-o", dir.file("f\(i).txt")])
            #expect(r.status == 0, "\(r.stderr.suffix(1500))")
            let index = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir.file("cache-\(i)/index.json")))) as! [String: Any]
            let mine = (index["manifests"] as? [[String: Any]] ?? []).compactMap { ($0["annotations"] as? [String: String])?["org.opencontainers.image.ref.name"] }
            for n in mine { #expect(Shard.slice(of: n, count: 2) == i) }
            names += mine
        }
        #expect(names.sorted() == images.map(\.line).sorted())
    }

    @Test("bad --shard values fail at once with one line", arguments: [
        ("3/3", "--shard: INDEX must be between 0 and 2"),
        ("x/3", "--shard: INDEX must be a number or auto"),
        ("1", "--shard: expected INDEX/COUNT or auto/COUNT, e.g. 0/4"),
        ("0/0", "--shard: COUNT must be between 1 and 100000"),
        ("auto/4", "--shard: auto needs JOB_COMPLETION_INDEX in the environment"),
    ])
    func badShard(value: String, message: String) throws {
        let dir = try TemporaryDirectory()
        try "r.example/a/b:1\n".write(toFile: dir.file("list.txt"), atomically: false, encoding: .utf8)
        for command in [["mirror", "-d", "127.0.0.1:9"], ["sync", "-d", dir.file("c")], ["verify", "--key", dir.file("k.pub")]] {
            let r = try Dray.run(command + ["-f", dir.file("list.txt"), "--shard", value])
            #expect(r.status != 0)
            #expect(r.stderr.contains(message), "\(command[0]): \(r.stderr)")
            #expect(r.stderr.split(separator: "\n").count == 1, "\(command[0]): \(r.stderr)")
        }
    }
}
