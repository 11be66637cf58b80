import ArgumentParser
import Engine
import FoundationEssentials

/// `dray report`: work with the JSON reports runs write (`--report`).
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report", abstract: "Work with the JSON reports of runs (--report).",
        discussion: """
            Examples:
              dray report merge out/report-*.json -o report.json
            """,
        subcommands: [ReportMergeCommand.self])
}

/// `dray report merge`: one summary from the reports of a sharded run.
struct ReportMergeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Merge the reports of a sharded run (--shard) into one summary.",
        discussion: """
            Prints the totals and every failed image. Reports of shards must share one COUNT, hold each INDEX once \
            and no image twice; a missing shard is named. The exit status is 1 when an image failed, a list line \
            was invalid or a shard is missing, so a scheduled job can alert on it.

            Examples:
              dray report merge out/report-*.json
              dray report merge out/report-*.json -o report.json --failed mirror-failed.txt
            """)

    @Argument(help: ArgumentHelp("Reports written by mirror, save or sync with --report.", valueName: "report.json"))
    var reports: [String]

    @Option(name: .shortAndLong, help: ArgumentHelp("Write the merged report here.", valueName: "file"))
    var output: String?

    @Option(name: .long, help: ArgumentHelp("Write the lines of every failed image here (a list to re-run).", valueName: "file"))
    var failed: String?

    func run() async throws {
        try await reportingErrors {
            guard !reports.isEmpty else { throw CLIError("give the reports to merge") }
            let inputs = try reports.map { (path: $0, report: try MirrorReport.read(from: $0)) }
            let (merged, gaps) = try MirrorReport.merge(inputs)
            let s = merged.summary
            var from = "\(inputs.count) report\(inputs.count == 1 ? "" : "s")"
            if let count = gaps.count { from += " (\(count - gaps.missingShards.count) of \(count) shards)" }
            print("""
                Merged \(from): \(s.total) images: \(s.copied) copied, \(s.skipped) skipped, \(s.failed) failed, \
                \(merged.invalidLines.count) invalid lines; \(s.bytesCopied.humanBytes) copied; slowest shard \(s.seconds.fixed(2)) s
                """)
            for host in merged.registries.keys.sorted() {
                let r = merged.registries[host]!
                print("  \(host): \(r.requests) requests, \(r.throttled) throttled")
            }
            for image in merged.images where image.status == .failed {
                print("Failed [IMG:\(image.id)] \(image.source) => \(image.destination): \(image.error ?? "unknown error")")
            }
            for line in merged.invalidLines { print("Invalid: \(line)") }
            if !gaps.missingShards.isEmpty, let count = gaps.count {
                print("Missing: shard\(gaps.missingShards.count == 1 ? "" : "s") \(gaps.missingShards.map { "\($0)/\(count)" }.joined(separator: ", "))")
            }
            if let output { try merged.write(to: output) }
            if let failed {
                try AtomicFile.write(lines: merged.images.filter { $0.status == .failed }.map(\.line), to: failed)
            }
            if s.failed > 0 || !merged.invalidLines.isEmpty || !gaps.missingShards.isEmpty { throw ExitCode.failure }
        }
    }
}
