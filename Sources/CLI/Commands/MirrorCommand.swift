import ArgumentParser
import Dispatch
import Engine
import Foundation
import Logging
import Transports

/// Options that select and name the images of a mirror run (shared by `mirror` and `mirror validate`).
struct MirrorSelectionOptions: ParsableArguments {
    @Option(name: [.short, .long], help: ArgumentHelp("Image list file (Hangar Default or Mirror format).", valueName: "file"))
    var file: String?

    @OptionGroup var names: ListNamingOptions
    @OptionGroup var platforms: MirrorPlatformOptions
    @OptionGroup var tags: TagSelectionOptions

    @Option(name: .long, help: ArgumentHelp("image-syncer config (JSON or YAML) with auth and images sections (default: ./image-syncer.json when no -f, --auth or --images is given).", valueName: "file"))
    var config: String?

    @Option(name: .long, help: ArgumentHelp("image-syncer auth file: registry or registry/namespace → username, password, insecure.", valueName: "file"))
    var auth: String?

    @Option(name: .long, help: ArgumentHelp("image-syncer images file: SOURCE[:tags|:/regex/|@digest] → DESTINATION or a list of them.", valueName: "file"))
    var images: String?

    @Option(name: .long, help: ArgumentHelp("Default registry for empty image-syncer destinations (env DEFAULT_REGISTRY).", valueName: "registry"))
    var registry: String?

    @Option(name: .long, help: ArgumentHelp("Default namespace for empty image-syncer destinations (env DEFAULT_NAMESPACE).", valueName: "namespace"))
    var namespace: String?

    /// The platforms to copy: Hangar's defaults for a list, every platform for image-syncer rules (as image-syncer
    /// does), narrowed by explicit `--arch`/`--os` either way.
    var platformFilter: PlatformFilter {
        platforms.filter(everyPlatformByDefault: file == nil && (configFile != nil || images != nil))
    }

    /// image-syncer's default config, read from the working folder when nothing else names the images.
    static let defaultConfig = "image-syncer.json"

    /// The `--config` file: the flag's, else `./image-syncer.json` when it exists and neither a list nor
    /// `--auth`/`--images` is given (as image-syncer reads it).
    var configFile: String? {
        if let config { return config }
        guard file == nil, auth == nil, images == nil, FileManager.default.fileExists(atPath: Self.defaultConfig) else {
            return nil
        }
        return Self.defaultConfig
    }

    /// image-syncer's config, when one was given (or found by default).
    func syncConfig() throws -> SyncConfig? {
        let config = configFile
        guard config != nil || auth != nil || images != nil else { return nil }
        do { return try SyncConfig.load(config: config, auth: auth, images: images) } catch let e as SyncConfigError {
            throw CLIError("\(e)")
        }
    }

    /// The targets and the lines that could not be used, from the list file and the image-syncer rules.
    func load(pool: RegistryPool) async throws -> (targets: [MirrorTarget], errors: [ImageListError]) {
        guard file != nil || pool.sync != nil else {
            throw CLIError("-f/--file (an image list) or --config/--images (image-syncer rules) is required; there is no ./\(Self.defaultConfig) either")
        }
        let naming = try names.naming(checking: [("--registry", registry)])
        let destination = names.destination
        let selection = try tags.selection()
        var targets: [MirrorTarget] = []
        var errors: [ImageListError] = []
        if let file {
            let parsed = ImageList.parse(try readListFile(file), file: file)
            if destination == nil, let first = parsed.entries.first(where: { $0.destinationRepository == nil }) {
                throw CLIError("-d/--destination is required: \(file):\(first.lineNumber) and other Default-format lines name no destination")
            }
            let named = naming.targets(parsed.entries, file: file)
            targets = named.targets
            errors = parsed.errors + named.errors
            if selection.isActive {
                // Lines without a tag take the selected tags of their repository.
                let expanded = await selection.expand(targets, listTags: pool.sourceTags)
                targets = expanded.targets
                errors += expanded.errors
            }
            errors.sort { $0.lineNumber < $1.lineNumber }
        }
        if let sync = pool.sync {
            let env = ProcessInfo.processInfo.environment
            let expanded = await sync.targets(
                defaultRegistry: registry ?? env["DEFAULT_REGISTRY"], defaultNamespace: namespace ?? env["DEFAULT_NAMESPACE"],
                destinationRegistry: destination, firstID: targets.count + 1, selection: selection,
                listTags: pool.sourceTags)
            targets += expanded.targets
            errors += expanded.errors
        }
        return (targets, errors)
    }
}

/// `dray mirror`: copy a list of images between registries, in parallel, incrementally.
struct MirrorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mirror",
        abstract: "Mirror a list of images between registries (Hangar's flags and list formats).",
        discussion: """
            List formats (per line; blank lines and lines starting with # or // are ignored):
              Default: [REGISTRY/][PROJECT/]NAME[:TAG|@DIGEST]
              Mirror:  SOURCE DESTINATION TAG
            A Mirror-format destination that names a registry goes there; -d fills in the rest.

            Examples:
              dray mirror -f list.txt -d harbor.example.com -j 8
              dray mirror -f list.txt -s src.example.com -d dst.example.com --all
              dray mirror -f mirror-failed.txt -d harbor.example.com   # retry exactly what failed
            """,
        subcommands: [MirrorValidateCommand.self])

    @OptionGroup var global: GlobalOptions
    @OptionGroup var selection: MirrorSelectionOptions
    @OptionGroup var access: RegistryAccessOptions
    @OptionGroup var transfer: TransferOptions
    @OptionGroup var signatures: MirrorSignatureOptions
    @OptionGroup var sharding: ShardOptions

    @Option(name: [.customShort("o"), .customLong("failed")], help: ArgumentHelp("Where the lines of failed images are written (only when something failed).", valueName: "file"))
    var failed: String = "mirror-failed.txt"

    @Flag(name: .long, help: "Replace the destination's index instead of merging a filtered index into it.")
    var overwrite = false

    @Flag(name: .long, help: "Do not check that the destination registries answer and accept the credentials before starting.")
    var skipLogin = false

    @Flag(name: .long, help: "Copy even when the destination tag already holds the digest that would be written.")
    var force = false

    @Flag(name: .long, help: "Print the plan (source => destination, platforms) and write nothing.")
    var dryRun = false

    @Option(name: .long, help: ArgumentHelp("Write a JSON report of every image and the totals.", valueName: "file"))
    var report: String?

    @Option(name: .long, help: ArgumentHelp("image-syncer's records: read what earlier runs mirrored (an image whose source digest is unchanged is skipped without asking the destination) and write this run's at the end.", valueName: "file"))
    var records: String?

    @Option(name: .long, parsing: .singleValue, help: ArgumentHelp("Start at most N requests per second to HOST (repeatable).", valueName: "host=N/s"))
    var rateLimit: [String] = []

    @Option(name: .long, parsing: .singleValue, help: ArgumentHelp("Keep at most N requests in flight to HOST (repeatable).", valueName: "host=N"))
    var maxConnections: [String] = []

    func run() async throws {
        try await reportingErrors {
            let logger = global.makeLogger("dray.mirror")
            var options = try transfer.mirrorOptions(platforms: selection.platformFilter, logger: logger)
            options.force = force
            options.overwrite = overwrite
            options.signatures = signatures.handling
            if let records { options.records = try MirrorRecords.load(records) }
            let signer = try signatures.signer()
            let shard = try sharding.parsed()
            let limits: [String: RateLimiter.Limits]
            do { limits = try RateLimiter.Limits.parse(rateLimits: rateLimit, maxConnections: maxConnections) } catch {
                throw CLIError("\(error)")
            }
            // One limiter for every registry of the run: caps and pacing per host, backoff after 429/503.
            let limiter = RateLimiter(limits: limits)
            var sourceOptions = try access.registryOptions(.source)
            var destinationOptions = try access.registryOptions(.destination)
            sourceOptions.gate = limiter
            destinationOptions.gate = limiter
            let pool = RegistryPool(http: HTTPClient(options: try transfer.httpOptions(), logger: logger), source: sourceOptions,
                                    destination: destinationOptions, sync: try selection.syncConfig())
            var (targets, listErrors) = try await selection.load(pool: pool)
            if let shard { (targets, listErrors) = shard.narrow(targets, listErrors, logger: logger) }
            for e in listErrors { logger.error("\(e)") }
            if dryRun {
                for t in targets {
                    print("[IMG:\(t.id)] \(t.source) => \(t.destination) (\(selection.platformFilter))")
                }
                print("\(targets.count) image\(targets.count == 1 ? "" : "s") planned, \(listErrors.count) invalid line\(listErrors.count == 1 ? "" : "s")")
                if !listErrors.isEmpty { throw ExitCode.failure }
                return
            }

            if !skipLogin {
                try await DestinationCheck.run(targets.map(\.destination)) { pool.client($0, .destination) }
            }

            try await MirrorRunner(logger: logger, limiter: limiter, failedPath: failed, reportPath: report, shard: shard,
                                   recordsPath: records)
                .run(targets, listErrors: listErrors, options: options, sources: pool.source,
                     destinations: pool.destination, signer: signer)
        }
    }
}

/// Runs the engine for a command (mirror, sync): progress, Ctrl-C, summary, failed list, report, exit status.
struct MirrorRunner {
    /// The summary's verb: "Mirrored", "Synced".
    var verb = "Mirrored"
    let logger: Logger
    let limiter: RateLimiter?
    let failedPath: String
    let reportPath: String?
    /// The slice of the list this process ran (`--shard`), recorded in the report.
    var shard: Shard? = nil
    /// Where images are read and written when that is not a registry, for the log.
    var places = LogPlaces()
    /// Where the run's records go (`--records`), updated from the records the options carry.
    var recordsPath: String? = nil

    func run(_ targets: [MirrorTarget], listErrors: [ImageListError], options: MirrorOptions,
             sources: @escaping MirrorEngine.SourceFactory, destinations: @escaping MirrorEngine.DestinationFactory,
             signer: (any DestinationSigner)? = nil) async throws
    {
        let engine = MirrorEngine(options: options, sources: sources, destinations: destinations, signer: signer,
                                  logger: logger)
        let finish: ([MirrorResult]) throws -> Void = { [recordsPath] results in
            guard let recordsPath else { return }
            var records = options.records ?? MirrorRecords()
            records.update(with: results, platforms: options.platforms)
            do { try records.write(to: recordsPath) } catch { throw CLIError("--records: \(error)") }
        }
        try await run(count: targets.count, listErrors: listErrors, finish: finish) { events in
            await engine.run(targets, events: events)
        }
    }

    /// Runs `execute` (which reports through the events it is given) with progress, Ctrl-C handling, summary,
    /// failed list, report and exit status; `finish` sees the results before the exit status is decided.
    func run(count: Int, listErrors: [ImageListError], finish: ([MirrorResult]) throws -> Void = { _ in },
             execute: @escaping @Sendable (@escaping @Sendable (MirrorEvent) -> Void) async -> [MirrorResult]) async throws {
        let started = ContinuousClock.now
        let progress = ProgressDisplay(total: count)
        progress.start()
        let (logger, places) = (self.logger, self.places)
        let run = Task {
            await execute { event in
                progress.record(event)
                MirrorLog.event(event, logger: logger, places: places)
            }
        }
        let interrupted = InterruptFlag()
        let signals = installInterruptHandler { interrupted.set(); run.cancel() }
        let results = await run.value
        signals.cancel()
        progress.stop()
        let seconds = (ContinuousClock.now - started).inSeconds

        let summary = MirrorSummary(results, invalidLines: listErrors.count, seconds: seconds)
        let failedCount = summary.failed
        logger.info("""
            \(verb) \(summary.total) images: \(summary.copied) copied, \(summary.skipped) skipped, \
            \(failedCount) failed; \(summary.bytesCopied.humanBytes) in \(seconds.fixed(2)) s \
            (\(Int64(summary.throughput).humanBytes)/s)
            """)
        var registries: [String: MirrorReport.RegistryStats] = [:]
        if let limiter {
            let (started, peak, throttled) = (await limiter.started, await limiter.peak, await limiter.throttled)
            for (host, n) in throttled.sorted(by: { $0.key < $1.key }) {
                logger.warning("\(host) throttled \(n) request\(n == 1 ? "" : "s") (429/503); dray backed off")
            }
            for host in started.keys {
                registries[host] = MirrorReport.RegistryStats(requests: started[host] ?? 0, peakConcurrent: peak[host] ?? 0,
                                                              throttled: throttled[host] ?? 0)
            }
        }
        let failedLines = listErrors.map(\.line) + results.filter { $0.status == .failed }.map(\.line)
        if !failedLines.isEmpty {
            try AtomicFile.write(lines: failedLines, to: failedPath)
            logger.error("\(failedLines.count) image\(failedLines.count == 1 ? "" : "s") failed; their lines are in \(failedPath)")
        }
        if let reportPath {
            try MirrorReport(summary: summary, images: results, invalidLines: listErrors.map(\.description),
                             registries: registries, shard: shard?.description).write(to: reportPath)
        }
        try finish(results)
        if interrupted.isSet { throw ExitCode(130) }
        if failedCount > 0 { throw ExitCode.failure }
    }
}

/// Log lines for a run, in Hangar's shape.
enum MirrorLog {
    static func event(_ e: MirrorEvent, logger: Logger, places: LogPlaces = LogPlaces()) {
        let (from, to) = (places.source, places.destination)
        switch e {
        case .started(let t):
            logger.info("[IMG:\(t.id)] Copying [\(from)\(t.source)] => [\(to)\(t.destination)]")
        case .finished(let r):
            var logger = logger
            // In JSON logs these are fields of the result line: image, source, status, digest (when known).
            logger[metadataKey: "image"] = "\(r.destination)"
            logger[metadataKey: "source"] = "\(r.source)"
            logger[metadataKey: "status"] = "\(r.status.rawValue)"
            if let digest = r.digest { logger[metadataKey: "digest"] = "\(digest)" }
            let time = "\(r.seconds.fixed(2)) s"
            switch r.status {
            case .copied:
                var line = "[IMG:\(r.id)] Copied [\(to)\(r.destination)] \(r.digest ?? "")"
                if r.merged == true {
                    line += " (index merged with the destination's: \(r.platforms.joined(separator: ", ")))"
                } else if r.rewritten {
                    line += " (index rewritten to \(r.platforms.joined(separator: ", ")))"
                }
                line += ": \(r.blobsCopied) blobs copied (\(r.bytesCopied.humanBytes)), \(r.blobsMounted) mounted, \(r.blobsPresent) present in \(time)"
                line += signatureNote(r)
                logger.info("\(line)")
                if let w = r.warning { logger.warning("[IMG:\(r.id)] \(w)") }
            case .skipped:
                if r.recorded == true {
                    logger.info("[IMG:\(r.id)] Skipped [\(to)\(r.destination)]: recorded as \(r.digest ?? "") in --records, source unchanged (\(time))")
                } else if let w = r.warning {
                    logger.warning("[IMG:\(r.id)] Skipped [\(from)\(r.source)]: \(w)")
                } else {
                    logger.info("[IMG:\(r.id)] Skipped [\(to)\(r.destination)]: already \(r.digest ?? "") (\(time))\(signatureNote(r))")
                }
            case .failed:
                logger.error("[IMG:\(r.id)] Failed [\(from)\(r.source)] => [\(to)\(r.destination)]: \(r.error ?? "unknown error")")
            }
        case .bytes:
            break
        }
    }

    /// "; 2 signatures copied, 4 signed", or nothing.
    static func signatureNote(_ r: MirrorResult) -> String {
        var parts: [String] = []
        if r.signaturesCopied > 0 { parts.append("\(r.signaturesCopied) signature\(r.signaturesCopied == 1 ? "" : "s") copied") }
        if r.signaturesAdded > 0 { parts.append("\(r.signaturesAdded) signed") }
        return parts.isEmpty ? "" : "; " + parts.joined(separator: ", ")
    }
}

/// Set once by the signal handler.
final class InterruptFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}

/// Turns SIGINT into `handler` (once) instead of killing the process; returns the source to cancel afterwards.
func installInterruptHandler(_ handler: @escaping @Sendable () -> Void) -> any DispatchSourceSignal {
    signal(SIGINT, SIG_IGN)
    let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
    source.setEventHandler {
        FileHandle.standardError.write(Data("\ninterrupted: stopping; unfinished images go to the failed list\n".utf8))
        handler()
    }
    source.resume()
    return source
}
