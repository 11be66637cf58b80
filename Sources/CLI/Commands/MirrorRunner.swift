import ArgumentParser
import Dispatch
import Engine
import FoundationEssentials
import Glibc
import Logging
import Transports
import Synchronization

/// Runs the engine for a command (mirror, sync): progress, Ctrl-C, summary, failed list, report, exit status.
struct MirrorRunner {
    /// The summary's verb: "Mirrored", "Synced".
    var verb = "Mirrored"
    let logger: Logger
    /// The run's gate and host profiles: requests, throttling and pauses per host, and what was learned.
    let registryRun: RegistryRun
    let failedPath: String
    let reportPath: String?
    /// The slice of the list this process ran (`--shard`), recorded in the report.
    var shard: Shard? = nil
    /// Where images are read and written when that is not a registry, for the log.
    var places = LogPlaces()
    /// Where the run's records go (`--records`), updated from the records the options carry.
    var recordsPath: String? = nil
    /// The `--immutable-tags` state, written as images finish.
    var state: StateJournal? = nil

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
        let (logger, places, state) = (self.logger, self.places, self.state)
        let run = Task {
            await execute { event in
                progress.record(event)
                MirrorLog.event(event, logger: logger, places: places)
                if case .finished(let r) = event { state?.record(r) }
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
        let limiter = registryRun.limiter
        let (requests, peak, throttled, pauses) = (await limiter.started, await limiter.peak, await limiter.throttled, await limiter.pauses)
        for (host, n) in throttled.sorted(by: { $0.key < $1.key }) {
            let p = pauses[host] ?? 0
            logger.warning("\(host) throttled \(n) request\(n == 1 ? "" : "s") (429/503); dray retried them\(p > 0 ? " and paused the host \(p) time\(p == 1 ? "" : "s")" : "")")
        }
        for host in requests.keys {
            registries[host] = MirrorReport.RegistryStats(requests: requests[host] ?? 0, peakConcurrent: peak[host] ?? 0,
                                                          throttled: throttled[host] ?? 0, pauses: pauses[host])
        }
        for (host, learned) in registryRun.profiles.learnedHosts {
            let notes = learned.notes
            let reading = learned.rateLimit.last
            guard !notes.isEmpty || reading != nil else { continue }
            var stats = registries[host] ?? MirrorReport.RegistryStats(requests: 0, peakConcurrent: 0, throttled: 0)
            stats.learned = notes.isEmpty ? nil : notes
            stats.rateLimitRemaining = reading?.remaining
            stats.rateLimitLimit = reading?.limit
            registries[host] = stats
            for note in notes { logger.info("\(host): learned \(note)") }
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
        try state?.flush()
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

    /// "; 2 signatures copied, 1 other attachment copied, 4 signed", or nothing.
    static func signatureNote(_ r: MirrorResult) -> String {
        var parts: [String] = []
        if r.signaturesCopied > 0 { parts.append("\(r.signaturesCopied) signature\(r.signaturesCopied == 1 ? "" : "s") copied") }
        let others = (r.attachments ?? []).filter { $0.status == .copied && !$0.isSignature }.count
        if others > 0 { parts.append("\(others) other attachment\(others == 1 ? "" : "s") copied") }
        let failed = (r.attachments ?? []).filter { $0.status == .failed }.count
        if failed > 0 { parts.append("\(failed) attachment\(failed == 1 ? "" : "s") failed") }
        if r.signaturesAdded > 0 { parts.append("\(r.signaturesAdded) signed") }
        return parts.isEmpty ? "" : "; " + parts.joined(separator: ", ")
    }
}

/// Set once by the signal handler.
final class InterruptFlag: Sendable {
    private let value = Mutex(false)
    func set() { value.withLock { $0 = true } }
    var isSet: Bool { value.withLock { $0 } }
}

/// Turns SIGINT into `handler` (once) instead of killing the process; returns the source to cancel afterwards.
func installInterruptHandler(_ handler: @escaping @Sendable () -> Void) -> any DispatchSourceSignal {
    signal(SIGINT, SIG_IGN)
    let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
    source.setEventHandler {
        OutputFile.standardError.write("\ninterrupted: stopping; unfinished images go to the failed list\n")
        handler()
    }
    source.resume()
    return source
}
