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

    /// The `memory` scenario: peak RSS of a run with nothing to do (an empty list: start-up, parsing, the
    /// registry client and the engine set up) and of a cold mirror of the corpus at -j 4 and -j 20.
    func runMemory(_ scenarios: [String], list: String) throws {
        guard scenarios.contains("memory") else { return }
        let empty = writeList("empty.txt", [])
        let idle = try freshDestination()
        let rest = measure("rest", "dray", idle) { drayMirror(empty, to: idle) }
        note("rest", String(format: "peak RSS of a run with an empty list; target ≤ 16 MB %@", rest.peakRSS <= 16_000_000 ? "✅" : "❌"))
        for (jobs, target) in [(4, 32), (20, 40)] {
            let d = try freshDestination()
            let row = measure("memory -j \(jobs)", "dray", d) { drayMirror(list, to: d, jobs: jobs) }
            note("memory -j \(jobs)", String(format: "cold mirror of the corpus at -j %d; peak RSS target ≤ %d MB %@", jobs, target,
                                             row.peakRSS <= Int64(target) * 1_000_000 && row.failures.isEmpty ? "✅" : "❌"))
        }
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

extension Bench {
    /// The `wan` scenario: the corpus mirrored across a 200 Mbit/s link with 40 ms round trips and a 50 Mbit/s
    /// one with 100 ms (`WANLink`), dray (and skopeo ×4 with peers) running on the far side of the link; with
    /// `wan-big` also the 1 GB layer across the first link. The target is 1.15× the link's time for the bytes.
    func runWAN(_ scenarios: [String]) throws {
        guard scenarios.contains("wan") || scenarios.contains("wan-big") else { return }
        for (i, (rate, oneWay)) in [(200, 20), (50, 50)].enumerated() {
            let link = try WANLink(index: i + 1, rateMbit: rate)
            defer { link.close() }
            let sourceLine = try LatencyProxy(target: source.port, delay: .milliseconds(oneWay), address: link.hostAddress)
            func destination() throws -> Destination {
                let r = try RegistryServer(accessLog: true)
                return Destination(registry: r, proxy: try LatencyProxy(target: r.port, delay: .milliseconds(oneWay), address: link.hostAddress))
            }
            func mirror(_ names: [String], _ label: String, bytes: Int64) throws {
                let list = "\(work)/wan.txt"
                try names.map { "\(sourceLine.host)/\($0)" }.joined(separator: "\n").appending("\n")
                    .write(toFile: list, atomically: false, encoding: .utf8)
                let d = try destination()
                let row = measure(label, "dray", d) {
                    Runner.run(link.run([dray, "mirror", "-f", list, "-d", d.host, "--all", "-j", "\(jobs)", "--tls-verify=false",
                                         "-o", "\(work)/failed.txt"]), log: log)
                }
                let linkTime = Double(bytes) * 8 / (Double(rate) * 1e6)
                let ratio = row.wall / linkTime
                note(label, String(format: "%d Mbit/s, %d ms round trips: the link carries the %.1f MB in %.2f s; dray %.2f× that (target ≤ 1.15× %@)",
                                   rate, 2 * oneWay, Double(bytes) / 1e6, linkTime, ratio, ratio <= 1.15 && row.failures.isEmpty ? "✅" : "❌"))
                if peers {
                    let s = try destination()
                    measure(label, "skopeo ×4", s) {
                        Runner.runAll(names.map { name in
                            link.run(["skopeo", "copy", "--all", "--preserve-digests", "--src-tls-verify=false", "--dest-tls-verify=false",
                                      "docker://\(sourceLine.host)/\(name)", "docker://\(s.host)/\(name)"])
                        }, parallel: 4, log: log)
                    }
                }
            }
            if scenarios.contains("wan") {
                try mirror(corpus.imageNames, "wan \(rate)M", bytes: corpus.uniqueBytes)
            }
            if scenarios.contains("wan-big"), i == 0 {
                try mirror([corpus.bigName], "wan-big \(rate)M", bytes: corpus.bigSize)
            }
        }
    }
}
