import Engine
import Testing

@Suite("Shards")
struct ShardTests {
    @Test("the slice of a key is fixed by SHA-256 of its text, so every process and every release agree")
    func stableRule() throws {
        // sha256("harbor.example.com/library/nginx:1.27") starts with these 8 bytes (checked with sha256sum).
        let key = "harbor.example.com/library/nginx:1.27"
        #expect(Digest.sha256(of: Array(key.utf8)).hex.prefix(16) == "b05550d96eab1dd6")
        // 0xb05550d96eab1dd6 modulo 1, 2, 3, 7 and 100.
        for (count, slice) in [(1, 0), (2, 0), (3, 2), (7, 2), (100, 62)] {
            #expect(Shard.slice(of: key, count: count) == slice)
        }
        let shards = try (0..<5).map { try Shard(index: $0, count: 5) }
        #expect(shards.filter { $0.contains(key) }.count == 1)
    }

    @Test("10,000 references spread evenly over 8 shards, each in exactly one")
    func spread() throws {
        let shards = try (0..<8).map { try Shard(index: $0, count: 8) }
        var sizes = [Int](repeating: 0, count: 8)
        for i in 0..<10_000 {
            let key = "registry.example.com/team\(i % 37)/app\(i):v\(i % 5)"
            let owners = shards.filter { $0.contains(key) }
            #expect(owners.count == 1)
            sizes[owners[0].index] += 1
        }
        // 1,250 each on average; a fair hash stays well within ±15%.
        #expect(sizes.allSatisfy { (1_060...1_440).contains($0) }, "\(sizes)")
    }

    @Test("INDEX/COUNT and auto/COUNT parse; the rest is refused")
    func parsing() throws {
        #expect(try Shard(parsing: "2/4", environment: [:]) == Shard(index: 2, count: 4))
        #expect(try Shard(parsing: "auto/4", environment: ["JOB_COMPLETION_INDEX": "3"]) == Shard(index: 3, count: 4))
        for bad in ["4/4", "-1/4", "a/4", "2", "2/", "/4", "1/2/3", "auto/4"] {
            #expect(throws: ShardError.self) { try Shard(parsing: bad, environment: [:]) }
        }
        #expect(throws: ShardError.self) { try Shard(parsing: "auto/4", environment: ["JOB_COMPLETION_INDEX": "x"]) }
    }
}
