import ArgumentParser
import Dispatch
import Engine
import FoundationEssentials
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
    @OptionGroup var harbor: HarborOptions

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

    @Option(name: .long, help: ArgumentHelp("Tags this regular expression finds never move (e.g. '^v?[0-9]+\\.[0-9]+\\.[0-9]+$'): one recorded in --state as mirrored is skipped with no request at all.", valueName: "regex"))
    var immutableTags: String?

    @Option(name: .long, help: ArgumentHelp("The state file of --immutable-tags (default: mirror-state.json beside the failed list); written atomically as images finish.", valueName: "file"))
    var state: String?

    @Option(name: .long, help: ArgumentHelp("image-syncer's records: read what earlier runs mirrored (an image whose source digest is unchanged is skipped without asking the destination) and write this run's at the end.", valueName: "file"))
    var records: String?

    func run() async throws {
        try await reportingErrors {
            let logger = global.makeLogger("dray.mirror")
            var options = try transfer.mirrorOptions(platforms: selection.platformFilter, logger: logger)
            options.force = force
            options.overwrite = overwrite
            options.signatures = signatures.handling
            if let records { options.records = try MirrorRecords.load(records) }
            var journal: StateJournal?
            if immutableTags != nil || state != nil {
                let path = state ?? StateJournal.defaultPath(besideFailedList: failed)
                let recorded: MirrorRecords
                do { recorded = try MirrorRecords.load(path) } catch {
                    throw CLIError("--state \(path): not a state file written by dray (remove it to start afresh)")
                }
                if let immutableTags {
                    let pattern: TextPattern
                    do { pattern = try TextPattern(immutableTags) } catch {
                        throw CLIError("--immutable-tags: \"\(immutableTags.prefix(80))\" is not a regular expression")
                    }
                    options.immutable = ImmutableTags(pattern: pattern, state: recorded)
                }
                journal = StateJournal(path: path, records: recorded, platforms: options.platforms)
            }
            let signer = try signatures.signer()
            let shard = try sharding.parsed()
            // One gate for every registry of the run: caps and pacing per host (profiles), backoff after 429/503.
            let registryRun = try access.hosts.run()
            let sourceOptions = try access.registryOptions(.source)
            let destinationOptions = try access.registryOptions(.destination)
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

            // Images an immutable tag answers for ask nothing of their registries, not even the pre-run checks.
            let asking = force ? targets : targets.filter { options.immutable?.recorded($0, platforms: options.platforms) == nil }
            // Each source registry's first round trip (its /v2/ ping, which every later request there waits for)
            // goes out while the destinations are checked: one round trip less before the first image moves.
            for registry in Set(asking.map(\.source.registry)) {
                let client = pool.client(registry, .source)
                Task { _ = try? await client.baseURL() }
            }
            if !skipLogin {
                try await DestinationCheck.run(asking.map(\.destination), retry: Retrier(attempts: options.retries, firstDelay: options.retryDelay, logger: logger)) {
                    pool.client($0, .destination)
                }
            }
            try await HarborProjectCheck.run(asking.map(\.destination), options: harbor, logger: logger) { pool.client($0, .destination) }

            try await MirrorRunner(logger: logger, registryRun: registryRun, failedPath: failed, reportPath: report, shard: shard,
                                   recordsPath: records, state: journal)
                .run(targets, listErrors: listErrors, options: options, sources: pool.source,
                     destinations: pool.destination, signer: signer)
        }
    }
}
