import Foundation
import TestSupport

/// Round 3's scenarios: the wide no-op (200 images at -j 20), 1,000 immutable tags re-run, and the fault mix.
extension Bench {
    /// The port behind a `127.0.0.1:PORT` host.
    static func port(_ host: String) -> Int { Int(host.split(separator: ":").last!)! }

    /// Attaches a note to the last row of `scenario` (and prints it).
    func note(_ scenario: String, _ text: String) {
        Self.say("    \(text)")
        if let i = rows.lastIndex(where: { $0.scenario == scenario && $0.tool == "dray" }) { rows[i].note = text }
    }

    func runRound3(_ scenarios: [String], list: String, images: [String]) throws {
        if scenarios.contains("noop200") {
            // 200 three-platform images (the corpus under 10 tags each) at -j 20: a cold run, then the no-op.
            let wide = writeList("wide.txt", corpus.wideNames)
            let d = try freshDestination()
            measure("cold200", "dray", d) { drayMirror(wide, to: d, jobs: 20) }
            let row = measure("noop200", "dray", d) { drayMirror(wide, to: d, jobs: 20) }
            note("noop200", String(format: "200 images, %.1f requests per image; target ≤ 0.5 s %@", Double(row.requests) / 200,
                                   row.wall <= 0.5 ? "✅" : "❌"))
        }
        if scenarios.contains("immutable") {
            // 1,000 immutable tags (the corpus under 50 release tags each): recorded by a first run, then re-run.
            let tags = writeList("immutable.txt", corpus.immutableNames)
            let d = try freshDestination()
            let state = "\(work)/immutable-state.json"
            try? FileManager.default.removeItem(atPath: state)
            let flags = ["--immutable-tags", "^v?[0-9]+\\.[0-9]+\\.[0-9]+$", "--state", state]
            measure("immutable cold", "dray", d) { drayMirror(tags, to: d, jobs: 20, extra: flags) }
            let row = measure("immutable noop", "dray", d) { drayMirror(tags, to: d, jobs: 20, extra: flags) }
            note("immutable noop", String(format: "1,000 recorded immutable tags, %d requests; target well under 1 s %@",
                                          row.requests, row.wall < 1 ? "✅" : "❌"))
        }
        if scenarios.contains("faults") {
            // The reliability mix: source 5% 503, 3% 429 with Retry-After: 1, 10% of blob bodies cut halfway;
            // destination 5% 503. Compared with the same mirror without faults.
            let clean = try freshDestination()
            let reference = measure("faults: none", "dray", clean) { drayMirror(list, to: clean) }
            let d = try freshDestination()
            let coin = Coin(seed: 2026)
            let half = corpus.layerSize / 2
            let src = try FaultProxy(target: Self.port(sourceHost)) { x in
                if coin.flip(0.05) { return .status(503) }
                if coin.flip(0.03) { return .status(429, headers: ["Retry-After": "1"]) }
                if x.isBlob && x.method == "GET" && coin.flip(0.10) { return .resetResponse(afterBytes: half) }
                return .pass
            }
            let dst = try FaultProxy(target: Self.port(d.host)) { _ in coin.flip(0.05) ? .status(503) : .pass }
            let faulty = "\(work)/faults.txt"
            try images.map { "\(src.host)/\($0)" }.joined(separator: "\n").appending("\n")
                .write(toFile: faulty, atomically: false, encoding: .utf8)
            let report = "\(work)/faults-report.json"
            let row = measure("faults", "dray", d) {
                Runner.run([dray, "mirror", "-f", faulty, "-d", dst.host, "--all", "-j", "\(jobs)", "--retries", "6",
                            "-o", "\(work)/failed.txt", "--report", report], log: log)
            }
            var throttled = 0, pauses = 0
            if let data = FileManager.default.contents(atPath: report),
               let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
               let registries = json["registries"] as? [String: [String: Any]] {
                for stats in registries.values {
                    throttled += stats["throttled"] as? Int ?? 0
                    pauses += stats["pauses"] as? Int ?? 0
                }
            }
            let kinds = src.faultsByKind.merging(dst.faultsByKind) { $0 + $1 }.sorted { $0.key < $1.key }
                .map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            let ratio = reference.wall > 0 ? row.wall / reference.wall : 0
            let met = ratio <= 3 && row.failures.isEmpty
            note("faults", "\(src.faults + dst.faults) faults injected (\(kinds)); \(throttled) throttling answers, \(pauses) host pauses; "
                 + String(format: "%.1f× the fault-free run (%.2f s); target ≤ 3× %@", ratio, reference.wall, met ? "✅" : "❌"))
        }
    }
}

/// A seeded coin, shared by the fault rules of one scenario.
final class Coin: @unchecked Sendable {
    private var state: UInt64
    private let lock = NSLock()
    init(seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 | 1 }
    func flip(_ p: Double) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return Double(state % 1_000_000) / 1_000_000 < p
    }
}
