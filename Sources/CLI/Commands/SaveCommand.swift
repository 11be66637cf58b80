import ArgumentParser
import Engine
import FoundationEssentials
import Logging
import Synchronization
import Transports

/// The images a save covers and where they go (shared by `save` and `save validate`).
struct SaveSelectionOptions: ParsableArguments {
    @Option(name: [.short, .long], help: ArgumentHelp("Image list (Default format).", valueName: "file"))
    var file: String?

    @Option(name: [.short, .long], help: ArgumentHelp("The archive (or, with --compress dir, the folder).", valueName: "path"))
    var destination: String = "saved-images.tar.gz"

    @Option(name: [.short, .long], help: ArgumentHelp("Override the source registry of every image.", valueName: "registry"))
    var source: String?

    @OptionGroup var platforms: ArchivePlatformOptions
    @OptionGroup var tags: TagSelectionOptions

    func list() throws -> String {
        guard let file else { throw CLIError("-f/--file is required: the image list") }
        return file
    }
}

/// `dray save`: download a list into the cache folder (an OCI layout), then archive it.
struct SaveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "save",
        abstract: "Save a list of images to an archive (an OCI layout in a tar.gz/tar.zst, or a folder).",
        discussion: """
            Images are downloaded into the cache folder (saved-image-cache), which stays afterwards as in Hangar, \
            then archived: oci-layout and index.json first, then manifests and configs, then layers. Each image \
            is named by its full source reference, so skopeo opens oci-archive:ARCHIVE:docker.io/library/nginx:1.25. \
            The archive holds the images of the list only (with their signatures), whatever else the cache holds; \
            --compress dir writes a folder of them (blobs linked from the cache). A save in which no image \
            succeeded writes nothing.

            Examples:
              dray save -f rancher-images.txt -d saved-images.tar.gz -j 10
              dray save -f list.txt -d images.tar.zst --compress zstd --part --part-size 4G
              dray save -f list.txt -d saved-images --compress dir -a amd64 --os linux
            """,
        subcommands: [SaveValidateCommand.self])

    @OptionGroup var global: GlobalOptions
    @OptionGroup var selection: SaveSelectionOptions

    @Option(name: .long, help: "gzip, zstd (multithreaded), or dir (keep the folder, no archive).")
    var compress: String = "gzip"

    @OptionGroup var parts: PartOptions

    @Option(name: .long, help: ArgumentHelp("The cache folder images are downloaded into.", valueName: "dir"))
    var cache: String = "saved-image-cache"

    @OptionGroup var access: SingleRegistryOptions
    @OptionGroup var transfer: TransferOptions
    @OptionGroup var sharding: ShardOptions

    @Option(name: [.customShort("o"), .customLong("failed")], help: ArgumentHelp("Where the lines of failed images are written.", valueName: "file"))
    var failed: String = "save-failed.txt"

    @Option(name: .long, help: ArgumentHelp("Write a JSON report of every image.", valueName: "file"))
    var report: String?

    @Flag(name: [.short, .long], help: "Overwrite an existing archive or folder.")
    var yes = false

    @Option(name: .long, parsing: .upToNextOption,
            help: ArgumentHelp("Public keys (PEM) and a trusted_root.json to carry in the archive, for load --verify-included-trust.", valueName: "file"))
    var includeTrust: [String] = []

    /// The files `--include-trust` names, checked: PEM public keys and at most one trusted root.
    func trust() throws -> IncludedTrust {
        var files: [String: [UInt8]] = [:]
        for path in includeTrust {
            let name = URL(fileURLWithPath: path).lastPathComponent
            guard IncludedTrust.isSafe(name), files[name] == nil else { throw CLIError("--include-trust \(path): two files named \(name)") }
            guard let status = FileStatus(path: path), status.isRegular, status.size <= IncludedTrust.maxSize,
                  let data = FileManager.default.contents(atPath: path) else {
                throw CLIError("--include-trust \(path): not a readable file of at most \(IncludedTrust.maxSize >> 20) MiB")
            }
            files[name] = Array(data)
        }
        let trust = IncludedTrust(files: files)
        let paths = Dictionary(includeTrust.map { (URL(fileURLWithPath: $0).lastPathComponent, $0) }) { first, _ in first }
        _ = try GateOptions.classify(trust) { "--include-trust \(paths[$0] ?? $0)" }
        return trust
    }

    func run() async throws {
        try await reportingErrors {
            let file = try selection.list()
            let trust = try trust()
            let destination = selection.destination
            let logger = global.makeLogger("dray.save")
            let options = try transfer.mirrorOptions(platforms: selection.platforms.filter, logger: logger)
            let compression: ArchiveCompression?
            switch compress {
            case "gzip": compression = .gzip
            case "zstd", "zst": compression = .zstd
            case "dir": compression = nil
            default: throw CLIError("--compress: \"\(compress.prefix(40))\" is not gzip, zstd or dir")
            }
            let partSize = try parts.size()
            let shard = try sharding.parsed()
            let tagSelection = try selection.tags.selection()
            let output = compression.map { ArchiveOutput(path: destination, compression: $0, partSize: partSize) }
            let existing = output?.existingMarker ?? destination
            if FileManager.default.fileExists(atPath: existing) && !yes {
                throw CLIError("-d \(existing) exists; pass -y to overwrite it")
            }
            guard let output else {
                guard trust.isEmpty else { throw CLIError("--include-trust needs an archive (--compress gzip or zstd)") }
                try await saveFolder(file, options: options, logger: logger, shard: shard, tags: tagSelection)
                return
            }
            let run = try await CacheRun(cache, list: file, sourceRegistry: selection.source, registry: try access.registryOptions(),
                                         registryRun: try access.tls.hosts.run(), http: try transfer.httpOptions(), options: options, logger: logger, shard: shard,
                                         selection: tagSelection)
            // The cache folder carries this save's trust (none without --include-trust); the archive's head takes it.
            do { try trust.write(layout: run.layout.path) } catch { throw CLIError("\(cache): \(error)") }
            let saver = ArchiveSaver(layout: run.layout, output: output, options: run.options, sources: run.pool.source,
                                     logger: logger)
            let outcome = Mutex<ArchiveSaver.Archive?>(nil)
            // A failed image still leaves an archive of the others, as in Hangar.
            var someFailed = false
            do {
                try await MirrorRunner(verb: "Saved", logger: logger, registryRun: run.registryRun, failedPath: failed, reportPath: report,
                                       shard: shard, places: .folder(destination: cache))
                    .run(count: run.targets.count, listErrors: run.listErrors) { events in
                        let (results, archive) = await saver.run(run.targets, events: events)
                        outcome.withLock { $0 = archive }
                        return results
                    }
            } catch let e as ExitCode where e == .failure {
                someFailed = true
            } catch let e as ExitCode where e.rawValue == 130 {
                switch outcome.withLock({ $0 }) {
                case .streamed, .rebuilt: logger.error("interrupted after the archive \(destination) was complete")
                default: logger.error("interrupted: no archive was written to \(destination); the cache folder \(cache) is intact")
                }
                throw e
            }
            switch outcome.withLock({ $0 }) {
            case .streamed(let w):
                logger.info("Archived \(Self.count(w.images)) into \(archiveSummary(w.files, w.bytes)) while downloading; the cache folder \(cache) stays")
            case .rebuilt(let w, let reason):
                logger.info("Archived \(Self.count(w.images)) into \(archiveSummary(w.files, w.bytes)) from the cache folder (\(reason)); the cache folder \(cache) stays")
            case .empty:
                throw CLIError("no image was saved, so no archive was written to -d \(destination)")
            case .failed(let error):
                throw CLIError("writing the archive failed: \(error); the cache folder \(cache) is intact (dray compress -f \(cache) retries)")
            case nil:
                throw CLIError("the save was interrupted before the archive was written; the cache folder \(cache) is intact")
            }
            if someFailed { throw ExitCode.failure }
        }
    }

    /// "1 image", "3 images".
    static func count(_ images: Int) -> String { "\(images) image\(images == 1 ? "" : "s")" }

    /// `--compress dir`: fill the cache, then make the destination a folder of the listed images (blobs linked
    /// from the cache, which stays).
    private func saveFolder(_ file: String, options: MirrorOptions, logger: Logger, shard: Shard?, tags: TagSelection) async throws {
        func resolved(_ p: String) -> String { URL(fileURLWithPath: p).standardizedFileURL.resolvingSymlinksInPath().path }
        let (d, c) = (resolved(selection.destination), resolved(cache))
        if d == c || c.hasPrefix(d.hasSuffix("/") ? d : d + "/") || d.hasPrefix(c + "/") {
            throw CLIError("-d \(selection.destination) is the cache folder or holds it, or lies in it; with --compress dir give another folder")
        }
        let run = try await CacheRun(cache, list: file, sourceRegistry: selection.source, registry: try access.registryOptions(),
                                     registryRun: try access.tls.hosts.run(), http: try transfer.httpOptions(), options: options, logger: logger, shard: shard,
                                     selection: tags)
        let saved = Mutex<Set<String>>([])
        var someFailed = false
        do {
            try await MirrorRunner(verb: "Saved", logger: logger, registryRun: run.registryRun, failedPath: failed, reportPath: report,
                                   shard: shard, places: .folder(destination: cache))
                .run(count: run.targets.count, listErrors: run.listErrors) { [engine = run.engine(logger), targets = run.targets] events in
                    let results = await engine.run(targets, events: events)
                    saved.withLock { $0 = ArchiveSelection.names(of: targets, savedIn: results) }
                    return results
                }
        } catch let e as ExitCode where e == .failure {
            someFailed = true
        }
        let destination = selection.destination
        let names = saved.withLock { $0 }
        guard !names.isEmpty else { throw CLIError("no image was saved, so no folder was written to -d \(destination)") }
        do {
            let chosen = try ArchiveSelection(try run.layout.index(), names: names) { try run.layout.readBlob($0) }
            let bytes = try LayoutExport.write(chosen, of: run.layout, to: destination)
            logger.info("Saved \(Self.count(chosen.images)) (\(bytes.humanBytes)) into the folder \(destination); the cache folder \(cache) stays")
        } catch {
            throw CLIError("-d \(destination): \(error); the cache folder \(cache) is intact")
        }
        if someFailed { throw ExitCode.failure }
    }
}

/// `dray save validate`: every image of a list is in the archive or folder with the expected digests.
struct SaveValidateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check that every image of a list is in an archive or saved folder with the source's digests, and nothing else.",
        discussion: """
            Examples:
              dray save validate -f list.txt -d images.tar.zst
              dray save validate -f list.txt -d saved-images -s mirror.example.com
              dray save validate -f list.txt -d all.tar.gz --allow-extra   # the archive may hold more than the list
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var selection: SaveSelectionOptions
    @OptionGroup var access: SingleRegistryOptions

    @OptionGroup var checking: ValidationOptions

    @Flag(name: .long, help: "Accept images in the archive that the list does not name.")
    var allowExtra = false

    func run() async throws {
        try await reportingErrors {
            let logger = global.makeLogger("dray.validate")
            let pool = RegistryPool(http: HTTPClient(logger: logger), source: try access.registryOptions(),
                                    destination: try access.registryOptions())
            let (targets, listErrors) = try await SyncCommand.targets(file: try selection.list(), sourceRegistry: selection.source,
                                                                      selection: try selection.tags.selection(), pool: pool)
            let destination = selection.destination
            let catalog: ArchiveCatalog
            do { catalog = try ArchiveCatalog.read(destination) } catch { throw CLIError("-d \(destination): \(error)") }
            let filter = selection.platforms.filter
            let lookup = ManifestLookup.catalog(catalog)
            let listed = Set(targets.map(\.destination.description))
            let extra = allowExtra ? [] : catalog.index.manifests.compactMap(OCILayout.name(of:))
                .filter { !listed.contains($0) && !LayoutNaming.isAttachment($0) }
                .map { "\($0): in the archive but not in the list (--allow-extra accepts it)" }
            let policy = try checking.policy()
            let failures = await Validation.run(targets, listErrors: listErrors, other: extra, jobs: checking.checkedJobs(logger: logger)) { t in
                do {
                    let top = try await pool.client(t.source.registry, .source)
                        .manifest(t.source.repository, ManifestIdentifier(t.source))
                    guard let selection = try await Validation.selection(top, pinned: t.source.digest != nil, filter: filter,
                                                                          source: pool.source(t.source)) else { return nil }
                    if let problem = await Validation.check(top, selection, at: t.destinationIdentifier, in: lookup) {
                        return problem == "missing" ? "missing from the archive" : problem
                    }
                    return await Validation.checkAttachments(t, top: top, selection, sources: pool.source,
                                                             destinations: { catalog.source(named: $0.description, path: destination) },
                                                             policy: policy, logger: logger)
                } catch {
                    return "\(error)"
                }
            }
            if failures > 0 { throw ExitCode.failure }
        }
    }
}
