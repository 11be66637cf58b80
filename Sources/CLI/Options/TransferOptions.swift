import ArgumentParser
import Engine
import Logging
import Transports

/// How hard a run works: images and blob transfers in flight, retries, per-image time (shared by mirror, save,
/// sync and load, with Hangar's spellings; `--proc` is image-syncer's).
struct TransferOptions: ParsableArguments {
    @OptionGroup var concurrency: JobsOption<TransferJobs>

    @OptionGroup var verification: GateOptions

    @Option(name: .long, help: ArgumentHelp(
        "Blob transfers in flight at once across the run (default: 8, doubling while each transfer gets under 8 MB/s of a slow link; a value given here stays fixed).",
        valueName: "n"))
    var blobJobs: Int?

    @Option(name: .long, help: "Retries after a temporary failure (network, 5xx, 429).")
    var retries: Int = 3

    @Option(name: .long, help: ArgumentHelp("Time allowed for each image (Go duration: 10m0s, 90s, 1h).", valueName: "duration"))
    var timeout: String = "10m0s"

    @Option(name: .long, help: ArgumentHelp("Abort a transfer that moves no byte for this long, then retry it (Go duration).", valueName: "duration"))
    var stallTimeout: String = "60s"

    @Flag(name: .long, help: "Fail an image whose index has no platform matching --arch/--os (default: warn and skip).")
    var noArchOsFail = false

    @OptionGroup var blobCheck: BlobCheckOptions

    @OptionGroup var attachments: AttachmentOptions

    /// HTTP settings from these flags, checked.
    func httpOptions() throws -> HTTPClientOptions {
        guard let stall = GoDuration.parse(stallTimeout), stall >= .seconds(1) else {
            throw CLIError("--stall-timeout: \"\(stallTimeout)\" is not a duration of at least 1s, like 30s or 2m0s")
        }
        var options = HTTPClientOptions()
        options.lowSpeedTime = stall
        return options
    }

    /// Engine options from these flags, checked; `platforms` is the command's platform filter. An out-of-range
    /// `-j` is warned about through `logger` and replaced, as Hangar does.
    func mirrorOptions(platforms: PlatformFilter, logger: Logger) throws -> MirrorOptions {
        guard (1...64).contains(blobJobs ?? 8) else { throw CLIError("--blob-jobs must be between 1 and 64") }
        guard (0...20).contains(retries) else { throw CLIError("--retries must be between 0 and 20") }
        let negative = timeout.hasPrefix("-")
        guard let limit = GoDuration.parse(negative ? String(timeout.dropFirst()) : timeout) else {
            throw CLIError("--timeout: \"\(timeout)\" is not a duration like 10m0s, 90s or 1h")
        }
        guard limit > .zero, !negative else { throw CLIError("--timeout must be positive, not \"\(timeout)\" (e.g. 10m0s)") }
        _ = try httpOptions()
        var options = MirrorOptions()
        options.blobCheck = try blobCheck.value()
        options.jobs = concurrency.value(logger: logger)
        options.blobJobs = blobJobs ?? 8
        options.adaptsBlobJobs = blobJobs == nil
        options.retries = retries
        options.timeout = limit
        options.platforms = platforms
        options.failWhenNoPlatform = noArchOsFail
        options.attachments = try attachments.policy()
        options.referrersMode = try attachments.mode()
        options.gate = try verification.gate(logger: logger)
        return options
    }
}

/// `--blob-check`: who hashes blobs as they stream.
struct BlobCheckOptions: ParsableArguments {
    @Option(name: .customLong("blob-check"), help: ArgumentHelp(
        "Who hashes blobs streamed into a registry: auto (the registry, which refuses a blob whose digest does not match; dray checks lengths) or always (dray too). Blobs written to folders and archives are always hashed.",
        valueName: "auto|always"))
    var text: String = "auto"

    func value() throws -> BlobCheck {
        guard let check = BlobCheck(rawValue: text) else {
            throw CLIError("--blob-check: \"\(text.prefix(40))\" is not auto or always")
        }
        return check
    }
}
