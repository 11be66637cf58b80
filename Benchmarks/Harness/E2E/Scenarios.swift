import Foundation
import TestSupport

/// One measured run of one tool in one scenario.
struct Row: Codable, Sendable {
    var scenario: String
    /// Added one-way latency, ms (the round trip gains twice this).
    var latency: Int
    var tool: String
    var wall: Double
    var cpu: Double
    var peakRSS: Int64
    /// Bytes the destination registry read (request bodies: what the tool sent it).
    var bytesToDestination: Int64
    /// Requests both registries logged.
    var requests: Int
    var failures: [String]
    /// What else the scenario reports (faults injected, retries, pauses; a target met or not).
    var note: String? = nil
}

/// The registries and proxies of one latency setting, and the scenarios run against them.
final class Bench {
    let dray: String
    let corpus: Corpus
    let latency: Int
    let jobs: Int
    let peers: Bool
    let work: String
    let source: RegistryServer
    let sourceProxy: LatencyProxy?
    var rows: [Row] = []
    let log: String
    /// The last latency pass: round 3's scenarios and the WAN links run in it only (they set their own terms).
    var last = true

    var sourceHost: String { sourceProxy?.host ?? source.host }

    init(dray: String, corpus: Corpus, latency: Int, jobs: Int, peers: Bool, work: String, source: RegistryServer, log: String) throws {
        self.dray = dray
        self.corpus = corpus
        self.latency = latency
        self.jobs = jobs
        self.peers = peers
        self.work = work
        self.source = source
        sourceProxy = latency > 0 ? try LatencyProxy(target: source.port, delay: .milliseconds(latency)) : nil
        self.log = log
    }

    /// A fresh destination registry, behind its own latency proxy when latency is added.
    struct Destination {
        let registry: RegistryServer
        let proxy: LatencyProxy?
        var host: String { proxy?.host ?? registry.host }
    }

    func freshDestination() throws -> Destination {
        let r = try RegistryServer(accessLog: true)
        return Destination(registry: r, proxy: latency > 0 ? try LatencyProxy(target: r.port, delay: .milliseconds(latency)) : nil)
    }

    /// Runs `body` and records its cost with the requests and bytes the registries saw meanwhile.
    @discardableResult
    func measure(_ scenario: String, _ tool: String, _ dst: Destination, _ body: () -> Cost) -> Row {
        sync()  // flush earlier writes, so one tool's disk traffic does not slow the next
        let requests0 = source.requestCount() + dst.registry.requestCount()
        let bytes0 = dst.registry.bytesRead()
        Self.say("  \(scenario) · \(tool) …")
        let cost = body()
        usleep(200_000)  // let the access logs flush
        let row = Row(scenario: scenario, latency: latency, tool: tool, wall: cost.wall, cpu: cost.cpu, peakRSS: cost.peakRSS,
                      bytesToDestination: dst.registry.bytesRead() - bytes0,
                      requests: source.requestCount() + dst.registry.requestCount() - requests0, failures: cost.failures)
        Self.say(String(format: "    %.2f s wall, %.2f s CPU, %.0f MB RSS%@", row.wall, row.cpu, Double(row.peakRSS) / 1e6,
                        row.failures.isEmpty ? "" : " FAILED: \(row.failures.prefix(2).joined(separator: "; "))"))
        rows.append(row)
        return row
    }

    static func say(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }

    func writeList(_ name: String, _ images: [String]) -> String {
        let path = "\(work)/\(name)"
        try? images.map { "\(sourceHost)/\($0)" }.joined(separator: "\n").appending("\n").write(toFile: path, atomically: false, encoding: .utf8)
        return path
    }

    // MARK: Tools

    func drayMirror(_ list: String, to dst: Destination, jobs: Int? = nil, extra: [String] = []) -> Cost {
        Runner.run([dray, "mirror", "-f", list, "-d", dst.host, "--all", "-j", "\(jobs ?? self.jobs)", "-o", "\(work)/failed.txt"] + extra,
                   log: log)
    }

    /// `skopeo copy --all`; digests are preserved between registries (an OCI layout cannot hold a Docker
    /// manifest list, so skopeo converts those when saving).
    func skopeoCopy(_ from: String, _ to: String) -> [String] {
        ["skopeo", "copy", "--all"] + (to.hasPrefix("oci:") ? [] : ["--preserve-digests"])
            + ["--src-tls-verify=false", "--dest-tls-verify=false", from, to]
    }

    /// `skopeo copy --all` of each image, four at a time.
    func skopeoParallel(_ images: [String], to dst: Destination) -> Cost {
        Runner.runAll(images.map { skopeoCopy("docker://\(sourceHost)/\($0)", "docker://\(dst.host)/\($0)") }, parallel: 4, log: log)
    }

    /// Four workers, each running `command(worker, image)` for its share of `images` in turn (worker k takes
    /// every fourth image from k, so each OCI layout is written by one process only).
    func skopeoWorkers(_ images: [String], _ command: (Int, String) -> [String]) -> Cost {
        Runner.runAll((0..<4).map { k in
            let script = images.enumerated().filter { $0.offset % 4 == k }.map { command(k, $0.element).joined(separator: " ") }
                .joined(separator: " && ")
            return ["sh", "-c", script.isEmpty ? "true" : script]
        }, parallel: 4, log: log)
    }

    /// `skopeo sync --src yaml` of the corpus (one process, sequential).
    func skopeoSync(_ images: [String], to dst: Destination) -> Cost {
        var yaml = "\(sourceHost):\n  tls-verify: false\n  images:\n"
        for image in images {
            let (repo, tag) = (image.split(separator: ":")[0], image.split(separator: ":")[1])
            yaml += "    \(repo):\n      - \"\(tag)\"\n"
        }
        let path = "\(work)/sync.yaml"
        try? yaml.write(toFile: path, atomically: false, encoding: .utf8)
        return Runner.run(["skopeo", "sync", "--all", "--preserve-digests", "--src", "yaml", "--dest", "docker",
                           "--dest-tls-verify=false", path, "\(dst.host)/synced"], log: log)
    }

    // MARK: Scenarios

    func run(_ scenarios: [String]) throws {
        let images = corpus.imageNames
        let list = writeList("corpus.txt", images)
        if scenarios.contains("cold") || scenarios.contains("noop") {
            let d = try freshDestination()
            measure("cold", "dray", d) { drayMirror(list, to: d) }
            if scenarios.contains("noop") { measure("noop", "dray", d) { drayMirror(list, to: d) } }
            if peers {
                let s = try freshDestination()
                measure("cold", "skopeo ×4", s) { skopeoParallel(images, to: s) }
                if scenarios.contains("noop") { measure("noop", "skopeo ×4", s) { skopeoParallel(images, to: s) } }
                let y = try freshDestination()
                measure("cold", "skopeo sync", y) { skopeoSync(images, to: y) }
                if scenarios.contains("noop") { measure("noop", "skopeo sync", y) { skopeoSync(images, to: y) } }
            }
        }
        if scenarios.contains("big") {
            let bigList = writeList("big.txt", [corpus.bigName])
            do {
                let d = try freshDestination()
                measure("big", "dray", d) { drayMirror(bigList, to: d) }
            }
            if peers {
                let s = try freshDestination()
                measure("big", "skopeo", s) {
                    Runner.run(skopeoCopy("docker://\(sourceHost)/\(corpus.bigName)", "docker://\(s.host)/\(corpus.bigName)"), log: log)
                }
            }
        }
        if scenarios.contains("small") {
            let names = corpus.smallNames
            let smallList = writeList("small.txt", names)
            let d = try freshDestination()
            measure("small", "dray", d) { drayMirror(smallList, to: d, jobs: 20) }
            if peers {
                let s = try freshDestination()
                measure("small", "skopeo ×4", s) { skopeoParallel(names, to: s) }
            }
        }
        if last {
            try runMemory(scenarios, list: list)
            try runRound3(scenarios, list: list, images: images)
            try runWAN(scenarios)
        }
        let archive = "\(work)/dray.tar.zst"
        let layouts = "\(work)/peer-layouts"
        if scenarios.contains("save") || scenarios.contains("load") {
            // save reads only the source; the destination here only anchors the measurement.
            let none = try freshDestination()
            try? FileManager.default.removeItem(atPath: archive)
            try? FileManager.default.removeItem(atPath: "\(work)/dray-cache")
            measure("save", "dray", none) {
                Runner.run([dray, "save", "-f", list, "-d", archive, "--compress", "zstd", "--all", "-j", "\(jobs)",
                            "--cache", "\(work)/dray-cache", "-y", "-o", "\(work)/failed.txt"], log: log)
            }
            if peers {
                try? FileManager.default.removeItem(atPath: layouts)
                try FileManager.default.createDirectory(atPath: layouts, withIntermediateDirectories: true)
                measure("save", "skopeo ×4 + tar", none) {
                    let copies = skopeoWorkers(images) { k, image in
                        skopeoCopy("docker://\(sourceHost)/\(image)", "oci:\(layouts)/layout\(k):\(image)")
                    }
                    return copies + Runner.run(["tar", "--zstd", "-cf", "\(work)/peer.tar.zst", "-C", layouts, "."], log: log)
                }
            }
        }
        if scenarios.contains("load") {
            let d = try freshDestination()
            measure("load", "dray", d) { Runner.run([dray, "load", "--all", "-s", archive, "-d", d.host, "-o", "\(work)/failed.txt"], log: log) }
            if peers {
                let s = try freshDestination()
                measure("load", "skopeo ×4", s) {
                    skopeoWorkers(images) { k, image in
                        skopeoCopy("oci:\(layouts)/layout\(k):\(image)", "docker://\(s.host)/\(image)")
                    }
                }
            }
        }
    }
}
