import ArgumentParser
import Foundation
import TestSupport
import Transports

/// The end-to-end harness: two local registries, a reproducible synthetic corpus, an optional latency proxy
/// per registry, and dray against skopeo on the same scenarios in one run, each with a fresh destination.
@main
struct E2E: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dray-e2e",
        abstract: "Benchmark dray against skopeo end to end on local registries.",
        discussion: """
            Scenarios: cold (mirror of the corpus), noop (the same again), big (one single-layer image), \
            small (many tiny images), save (corpus to tar.zst), load (that archive into an empty registry).
            Results: a Markdown table and an SVG chart in --out, with the machine described.
            """)

    @Option(help: "The dray binary (a release build).") var dray: String = "../.build/release/dray"
    @Option(help: "Multi-platform images in the corpus.") var images: Int = 20
    @Option(help: "Bytes of each image's own layer, per platform.") var layerSize: Int = 4_900_000
    @Option(help: "Bytes of the shared base layer, per platform.") var baseSize: Int = 7_000_000
    @Option(help: "Bytes of the big scenario's single layer.") var bigSize: Int64 = 1_000_000_000
    @Option(help: "Images in the small scenario.") var smallImages: Int = 200
    @Option(help: "Added one-way latencies to run, ms, comma-separated (10 = 20 ms round trips).") var latency: String = "0,10"
    @Option(help: "Scenarios, comma-separated.") var scenarios: String = "cold,noop,big,small,save,load,memory,noop200,immutable,faults,wan,wan-big"
    @Option(help: "dray's -j for the corpus scenarios.") var jobs: Int = 20
    @Flag(help: "Run dray only.") var noPeers = false
    @Flag(help: "Attach to every corpus image a Sigstore bundle and an SBOM (referrers, by the fallback tag) and a cosign .sig tag, so cold and noop carry attachments.")
    var attached = false
    @Option(help: "Where results go.") var out: String = "results"
    @Flag(help: "Seed the corpus, print the source registry and the list files, and wait (for profiling by hand).")
    var serve = false

    func run() async throws {
        let chosen = scenarios.split(separator: ",").map(String.init)
        let latencies = latency.split(separator: ",").compactMap { Int($0) }
        guard FileManager.default.isExecutableFile(atPath: dray) else {
            throw ValidationError("--dray \(dray): not an executable (build with swift build -c release first)")
        }
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        try? FileManager.default.removeItem(atPath: "\(out)/commands.log")
        let work = try TemporaryDirectory(prefix: "dray-e2e")
        var corpus = Corpus(images: images, layerSize: layerSize, baseSize: baseSize, bigSize: bigSize, smallImages: smallImages)
        corpus.attached = attached

        Bench.say("Seeding the source registry …")
        let source = try RegistryServer(accessLog: true)
        let client = RegistryClient(registry: source.host, options: RegistryOptions(credentials: CredentialStore(authFiles: [])))
        try await corpus.seed(client, scenarios: Set(chosen), scratch: work.path)
        Bench.say("Corpus: \(corpus.images) images × 3 platforms, \(Report.mb(corpus.uniqueBytes)) MB of unique blobs")
        if serve {
            let lists = [("corpus.txt", corpus.imageNames), ("small.txt", corpus.smallNames), ("big.txt", [corpus.bigName])]
            for (name, images) in lists {
                try images.map { "\(source.host)/\($0)" }.joined(separator: "\n").appending("\n")
                    .write(toFile: "\(out)/\(name)", atomically: false, encoding: .utf8)
            }
            Bench.say("Serving \(source.host); lists in \(out)/corpus.txt, small.txt, big.txt. Ctrl-C stops.")
            while true { try await Task.sleep(for: .seconds(3600)) }
        }

        var rows: [Row] = []
        for (i, l) in latencies.enumerated() {
            Bench.say("Added latency \(l) ms each way (\(2 * l) ms round trips):")
            let bench = try Bench(dray: dray, corpus: corpus, latency: l, jobs: jobs, peers: !noPeers, work: work.path, source: source,
                                  log: "\(out)/commands.log")
            bench.last = i == latencies.count - 1
            try bench.run(chosen)
            rows += bench.rows
        }
        let report = Report(rows: rows, corpus: corpus, machine: Machine.describe(dray: dray), command: CommandLine.arguments.joined(separator: " "))
        let markdown = report.markdown()
        try markdown.write(toFile: "\(out)/results.md", atomically: false, encoding: .utf8)
        try report.svg().write(toFile: "\(out)/results.svg", atomically: false, encoding: .utf8)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(rows).write(to: URL(fileURLWithPath: "\(out)/results.json"))
        print(markdown)
        Bench.say("Wrote \(out)/results.md, results.svg and results.json")
    }
}

/// The machine the figures come from.
enum Machine {
    static func describe(dray: String) -> String {
        func first(_ file: String, _ prefix: String) -> String {
            ((try? String(contentsOfFile: file, encoding: .utf8)) ?? "").split(separator: "\n")
                .first { $0.hasPrefix(prefix) }.map { String($0.split(separator: ":", maxSplits: 1).last ?? "").trimmingCharacters(in: .whitespaces) } ?? "?"
        }
        func output(_ args: [String]) -> String {
            (try? Shell.run(args[0], Array(args.dropFirst())))
                .map { ($0.stdoutText + $0.stderr).split(separator: "\n").first.map(String.init) ?? "" } ?? "?"
        }
        let cpu = first("/proc/cpuinfo", "model name")
        let memory = first("/proc/meminfo", "MemTotal")
        return """
            \(ProcessInfo.processInfo.activeProcessorCount) × \(cpu), \(memory) RAM, Linux \(output(["uname", "-r"])); \
            \(output([dray, "version"])); \(output(["skopeo", "--version"])); docker-registry \(output(["docker-registry", "--version"]))
            """
    }
}
