import ArgumentParser
import Engine
import FoundationEssentials
import Logging
import Transports

/// `dray sync`: add the images of a list to an OCI-layout cache folder, downloading only the blobs it lacks.
struct SyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Add images to a cache folder (an OCI image layout), downloading only the blobs it lacks.",
        discussion: """
            Each image is named in the folder's index.json by its full source reference \
            (org.opencontainers.image.ref.name), so skopeo reads it as oci:DIR:docker.io/library/nginx:1.25. \
            Re-adding an image that is already there changes nothing. The folder is created when missing.

            Examples:
              dray sync -f save-failed.txt -d saved-image-cache -j 10
              dray sync -f list.txt -s mirror.example.com -d ./cache -a amd64 --os linux
            """)

    @OptionGroup var global: GlobalOptions

    @Option(name: [.short, .long], help: ArgumentHelp("Image list (Default format).", valueName: "file"))
    var file: String

    @Option(name: [.short, .long], help: ArgumentHelp("The cache folder (an OCI image layout).", valueName: "dir"))
    var destination: String

    @Option(name: [.short, .long], help: ArgumentHelp("Override the source registry of every image.", valueName: "registry"))
    var source: String?

    @OptionGroup var platforms: ArchivePlatformOptions
    @OptionGroup var tags: TagSelectionOptions
    @OptionGroup var access: SingleRegistryOptions
    @OptionGroup var transfer: TransferOptions
    @OptionGroup var sharding: ShardOptions

    @Option(name: [.customShort("o"), .customLong("failed")], help: ArgumentHelp("Where the lines of failed images are written.", valueName: "file"))
    var failed: String = "sync-failed.txt"

    @Option(name: .long, help: ArgumentHelp("Write a JSON report of every image.", valueName: "file"))
    var report: String?

    func run() async throws {
        try await reportingErrors {
            let logger = global.makeLogger("dray.sync")
            let options = try transfer.mirrorOptions(platforms: platforms.filter, logger: logger)
            try ListNamingOptions.checkRegistry("-s/--source", source)
            let shard = try sharding.parsed()
            let selection = try tags.selection()
            try await Self.fill(destination, list: file, sourceRegistry: source, registry: try access.registryOptions(),
                                registryRun: try access.tls.hosts.run(), http: try transfer.httpOptions(), options: options, logger: logger, failedPath: failed,
                                reportPath: report, shard: shard, selection: selection)
        }
    }

    /// Downloads the listed images into the layout at `path` (created when missing), naming each by its full
    /// source reference. Throws `ExitCode.failure` after writing the failed list when some image failed.
    static func fill(_ path: String, list: String, sourceRegistry: String?, registry: RegistryOptions, registryRun: RegistryRun,
                     http: HTTPClientOptions, options: MirrorOptions, logger: Logger, failedPath: String, reportPath: String?,
                     verb: String = "Synced", shard: Shard? = nil, selection: TagSelection? = nil) async throws {
        let run = try await CacheRun(path, list: list, sourceRegistry: sourceRegistry, registry: registry, registryRun: registryRun, http: http,
                                     options: options, logger: logger, shard: shard, selection: selection)
        try await MirrorRunner(verb: verb, logger: logger, registryRun: run.registryRun, failedPath: failedPath, reportPath: reportPath,
                               shard: shard, places: .folder(destination: path))
            .run(count: run.targets.count, listErrors: run.listErrors) { [engine = run.engine(logger), targets = run.targets] events in
                await engine.run(targets, events: events)
            }
    }

    /// Targets that write each listed image into the layout under its full source reference; with an active
    /// `selection`, lines without a tag take the selected tags of their repository (listed through `pool`).
    static func targets(file: String, sourceRegistry: String?, selection: TagSelection?, pool: RegistryPool) async throws
        -> ([MirrorTarget], [ImageListError])
    {
        let (targets, errors) = try targets(file: file, sourceRegistry: sourceRegistry)
        guard let selection, selection.isActive else { return (targets, errors) }
        let expanded = await selection.expand(targets, listTags: pool.sourceTags) { t in
            cacheTarget(id: t.id, source: t.source, line: t.line, origin: t.origin)
        }
        return (expanded.targets, (errors + expanded.errors).sorted { $0.lineNumber < $1.lineNumber })
    }

    /// Targets that write each listed image into the layout under its full source reference.
    static func targets(file: String, sourceRegistry: String?) throws -> ([MirrorTarget], [ImageListError]) {
        let (entries, parseErrors) = ImageList.parse(try readListFile(file), file: file)
        var errors = parseErrors
        var targets: [MirrorTarget] = []
        for entry in entries {
            guard entry.destinationRepository == nil else {
                errors.append(ImageListError(file: file, lineNumber: entry.lineNumber, line: entry.line,
                                             reason: "a cache takes Default-format lines (an image per line), not SOURCE DESTINATION TAG"))
                continue
            }
            var source = entry.source
            if let sourceRegistry { source.registry = sourceRegistry }
            targets.append(cacheTarget(id: targets.count + 1, source: source, line: entry.line,
                                       origin: "\(file):\(entry.lineNumber)"))
        }
        return (targets, errors.sorted { $0.lineNumber < $1.lineNumber })
    }

    /// A target that writes `source` into the layout under its full reference.
    static func cacheTarget(id: Int, source: Reference, line: String, origin: String) -> MirrorTarget {
        MirrorTarget(id: id, source: source, destination: source, line: line, origin: origin,
                     destinationIdentifier: .tag(source.description))
    }
}

/// What filling a cache folder from a list needs: the targets, the folder, and registry access.
struct CacheRun {
    let targets: [MirrorTarget]
    let listErrors: [ImageListError]
    let layout: OCILayout
    /// The run's gate and host profiles.
    let registryRun: RegistryRun
    let pool: RegistryPool
    let options: MirrorOptions

    /// `registry` carries `registryRun`'s profiles and gate (see `HostOptions.run`).
    init(_ path: String, list: String, sourceRegistry: String?, registry: RegistryOptions, registryRun: RegistryRun,
         http: HTTPClientOptions,
         options: MirrorOptions,
         logger: Logger, shard: Shard? = nil, selection: TagSelection? = nil) async throws {
        self.registryRun = registryRun
        pool = RegistryPool(http: HTTPClient(options: http, logger: logger), source: registry, destination: registry)
        var (targets, listErrors) = try await SyncCommand.targets(file: list, sourceRegistry: sourceRegistry, selection: selection, pool: pool)
        if let shard { (targets, listErrors) = shard.narrow(targets, listErrors, logger: logger) }
        (self.targets, self.listErrors) = (targets, listErrors)
        for e in listErrors { logger.error("\(e)") }
        do { layout = try OCILayout(path: path, create: true) } catch { throw CLIError("\(path): \(error)") }
        var options = options
        // Layouts are rewritten by name: a filtered index replaces the cached one rather than merging.
        options.overwrite = true
        self.options = options
    }

    /// The engine that writes the targets into the folder, each under its full source reference.
    func engine(_ logger: Logger) -> MirrorEngine {
        MirrorEngine(options: options, sources: pool.source,
                     destinations: { [layout] in OCILayoutImageDestination(layout: layout, name: $0.description) }, logger: logger)
    }
}
