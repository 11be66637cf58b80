import ArgumentParser
import Engine
import FoundationEssentials
import Glibc
import Logging
import Transports

/// What a load covers (shared by `load` and `load validate`).
struct LoadSelectionOptions: ParsableArguments {
    @Option(name: [.short, .long], help: ArgumentHelp("The saved folder (validate also reads archives).", valueName: "path"))
    var source: String?

    @Option(name: [.short, .long], help: ArgumentHelp("The registry.", valueName: "registry"))
    var destination: String?

    @Option(name: [.short, .long], help: ArgumentHelp("Only the images of this list (Default format).", valueName: "file"))
    var file: String?

    @Option(name: [.customLong("destination-project"), .customLong("project")], help: ArgumentHelp("Replace the project of every destination image (--project is Hangar's spelling).", valueName: "project"))
    var destinationProject: String?

    @Option(name: .long, help: ArgumentHelp("The registry the images were saved under (save -s), put in front of the list's names to match them.", valueName: "registry"))
    var sourceRegistry: String?

    func required() throws -> (source: String, destination: String) {
        guard let source else { throw CLIError("-s/--source is required: the saved folder or archive") }
        guard let destination else { throw CLIError("-d/--destination is required: the registry") }
        guard (try? Reference(parsing: "\(destination)/x/y")) != nil else {
            throw CLIError("-d/--destination: invalid registry \"\(destination.prefix(200))\"")
        }
        return (source, destination)
    }

    /// The plan for the saved names of `source` (those of the list, when given); invalid list lines are logged.
    func plan(saved: [String], source: String, destination: String, logger: Logger) throws -> LoadPlan {
        if let sourceRegistry, (try? Reference(parsing: "\(sourceRegistry)/x/y")) == nil {
            throw CLIError("--source-registry: invalid registry \"\(sourceRegistry.prefix(200))\"")
        }
        let list = try file.map { (file: $0, text: try readListFile($0)) }
        let plan = LoadPlan(saved: saved, origin: source, list: list, sourceRegistry: sourceRegistry, destination: destination,
                            project: destinationProject, skipped: { logger.warning("\($0)") })
        for e in plan.listErrors { logger.error("\(e)") }
        return plan
    }
}

/// `dray load`: push the images of a cache folder to a registry, with the mirror engine.
struct LoadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "Push the images of a saved folder (OCI layout) to a registry.",
        discussion: """
            Each image goes to REGISTRY/REPOSITORY:TAG of the reference it was saved under (with \
            --destination-project replacing the project). Every blob is checked as it is read; the same engine as \
            mirror dedupes blobs, mounts, retries and skips images already at the destination.

            Examples:
              dray decompress -f saved-images.tar.gz -d saved-image-cache
              dray load -s saved-image-cache -d harbor.local -j 4
              dray load -s saved.tar.gz -d harbor.local -f list.txt --source-registry mirror.example.com   # saved with save -s
            """,
        subcommands: [LoadValidateCommand.self])

    @OptionGroup var global: GlobalOptions
    @OptionGroup var selection: LoadSelectionOptions
    @OptionGroup var access: SingleRegistryOptions
    @OptionGroup var transfer: TransferOptions
    @OptionGroup var platforms: ArchivePlatformOptions
    @OptionGroup var harbor: HarborOptions

    @Flag(name: .long, help: "Do not check that the registry answers and accepts the credentials before starting.")
    var skipLogin = false

    @Flag(name: .long, help: "Check signatures with the keys and trusted root the archive carries (save --include-trust), besides any --verify-key.")
    var verifyIncludedTrust = false

    @Flag(name: .long, help: "Replace the destination's index (and signatures) instead of merging into them.")
    var overwrite = false

    @Flag(name: .long, help: "Do not load the saved signatures (cosign .sig, Sigstore bundles, notation) with the images.")
    var removeSignatures = false

    @Option(name: [.customShort("o"), .customLong("failed")], help: ArgumentHelp("Where the names of failed images are written.", valueName: "file"))
    var failed: String = "load-failed.txt"

    @Option(name: .long, help: ArgumentHelp("Write a JSON report of every image.", valueName: "file"))
    var report: String?

    func run() async throws {
        try await reportingErrors {
            let (source, destination) = try selection.required()
            if !FileStatus.isDirectory(source) {
                try await loadArchive(source, destination)
                return
            }
            let layout: OCILayout
            do { layout = try OCILayout(path: source, create: false) } catch { throw CLIError("-s \(source): \(error)") }
            let logger = global.makeLogger("dray.load")

            let plan = try selection.plan(saved: try layout.names(), source: source, destination: destination, logger: logger)
            var trust = IncludedTrust()
            if verifyIncludedTrust {
                do { trust = try IncludedTrust.read(layout: source) } catch { throw CLIError("-s \(source): \(error)") }
            }
            try await mirror(plan, logger: logger, places: .folder(source: source), trust: trust) { [names = plan.names] in
                OCILayoutImageSource(layout: layout, name: names[$0] ?? $0.description)
            }
        }
    }
}

extension LoadCommand {
    /// Pushes the plan's targets read from `sources` with the mirror engine: the platforms -a/--os choose (Hangar's defaults; --all for every one saved).
    /// With `passes`, blobs are read in passes over that medium (an archive streamed once) instead of on demand.
    func mirror(_ plan: LoadPlan, logger: Logger, places: LogPlaces, hasSignatures: Bool = true,
                passes: (any BlobPasses, medium: String)? = nil, trust: IncludedTrust = IncludedTrust(),
                sources: @escaping MirrorEngine.SourceFactory) async throws {
        var options = try transfer.mirrorOptions(platforms: platforms.filter, logger: logger)
        if verifyIncludedTrust {
            guard !trust.isEmpty else { throw CLIError("--verify-included-trust: \(places) carries no keys or trusted root (save it with --include-trust)") }
            options.gate = try transfer.verification.gate(logger: logger, included: trust)
        }
        options.overwrite = overwrite
        options.signatures = removeSignatures ? .remove : .copy
        // A docker save archive holds nothing attached: nothing to look for.
        if !hasSignatures { options.attachments.scope = .none }
        let pool = try await destinationPool(plan, logger)
        let engine = MirrorEngine(options: options, sources: sources, destinations: pool.destination, logger: logger)
        try await run(plan, logger: logger, places: places) { events in
            if let (passes, medium) = passes { return await engine.run(plan.targets, passes: passes, medium: medium, events: events) }
            return await engine.run(plan.targets, events: events)
        }
    }

    /// Runs `execute` for the plan's targets with the runner; the list lines that name no saved image are
    /// reported first, as failed images.
    func run(_ plan: LoadPlan, logger: Logger, places: LogPlaces,
             execute: @escaping @Sendable (@escaping @Sendable (MirrorEvent) -> Void) async -> [MirrorResult]) async throws {
        try await MirrorRunner(verb: "Loaded", logger: logger, registryRun: try access.tls.hosts.run(), failedPath: failed, reportPath: report, places: places)
            .run(count: plan.count, listErrors: plan.listErrors) { events in
                for r in plan.missing { events(.finished(r)) }
                return plan.missing + (await execute(events))
            }
    }

    /// The registry the images go to (behind the run's gate); checked (TLS, credentials) before any image.
    func destinationPool(_ plan: LoadPlan, _ logger: Logger) async throws -> RegistryPool {
        let registry = try access.registryOptions()
        let pool = RegistryPool(http: HTTPClient(options: try transfer.httpOptions(), logger: logger), source: registry, destination: registry)
        if !skipLogin {
            try await DestinationCheck.run(plan.targets.map(\.destination), credentialFlags: ["--creds", "--authfile"],
                                           otherwise: "check -d, --cert-dir and --tls-verify, or use --skip-login",
                                           retry: Retrier(attempts: transfer.retries, logger: logger)) { pool.client($0, .destination) }
        }
        try await HarborProjectCheck.run(plan.targets.map(\.destination), options: harbor, logger: logger) { pool.client($0, .destination) }
        return pool
    }

    /// Loads straight from an archive (parts found automatically), streaming it once, without extracting it.
    func loadArchive(_ source: String, _ destination: String) async throws {
        let logger = global.makeLogger("dray.load")
        let archive: ArchiveStream
        do {
            archive = try ArchiveStream(path: source)
        } catch ArchiveCatalog.ReadError.notOCI {
            try await loadDockerArchive(source, destination, logger: logger)
            return
        } catch {
            throw CLIError("-s \(source): \(error)")
        }
        let plan = try selection.plan(saved: archive.head.catalog.index.manifests.compactMap(OCILayout.name(of:)), source: source,
                                      destination: destination, logger: logger)
        MallocTuning.forArchivePasses()
        try await mirror(plan, logger: logger, places: .archive(source: source), passes: (archive, "the archive"), trust: archive.head.trust) { [names = plan.names] in
            archive.source(named: names[$0] ?? $0.description)
        }
    }
}

extension LoadCommand {
    /// Loads a `docker save` archive: every RepoTag of every image (or those in the list).
    func loadDockerArchive(_ source: String, _ destination: String, logger: Logger) async throws {
        let archive: DockerArchive
        do { archive = try DockerArchive(path: source) } catch { throw CLIError("-s \(source): \(error)") }
        var images: [String: DockerArchive.Image] = [:]
        for image in archive.images { for tag in image.repoTags ?? [] { images[tag] = image } }
        let plan = try selection.plan(saved: archive.images.flatMap { $0.repoTags ?? [] }, source: source,
                                      destination: destination, logger: logger)
        var sources: [Reference: any ImageSource] = [:]
        for t in plan.targets {
            let name = plan.names[t.source]!
            sources[t.source] = try archive.source(images[name]!, name: name)
        }
        // A docker save archive has no signature attachments.
        try await mirror(plan, logger: logger, places: .dockerArchive(source: source), hasSignatures: false) { [sources] in
            sources[$0] ?? AbsentImageSource(reference: $0, archive: source)
        }
    }
}

/// `dray load validate`: every image of an archive or folder is at the registry with the same digests.
struct LoadValidateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check that every image of an archive or folder is at the registry with the same digests.",
        discussion: """
            Examples:
              dray load validate -s images.tar.zst -d harbor.local
              dray load validate -s saved-images -d harbor.local -f list.txt
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var selection: LoadSelectionOptions
    @OptionGroup var access: SingleRegistryOptions

    @OptionGroup var checking: ValidationOptions

    func run() async throws {
        try await reportingErrors {
            let logger = global.makeLogger("dray.validate")
            let (source, destination) = try selection.required()
            let catalog: ArchiveCatalog
            do { catalog = try ArchiveCatalog.read(source) } catch { throw CLIError("-s \(source): \(error)") }
            let plan = try selection.plan(saved: catalog.index.manifests.compactMap(OCILayout.name(of:)), source: source,
                                          destination: destination, logger: logger)
            let lookupNames = plan.names
            let pool = RegistryPool(http: HTTPClient(logger: logger), source: try access.registryOptions(),
                                    destination: try access.registryOptions())
            let saved = ManifestLookup.catalog(catalog)
            let policy = try checking.policy()
            let failures = await Validation.run(plan.targets, listErrors: plan.listErrors, other: plan.missing.compactMap(\.error),
                                                jobs: checking.checkedJobs(logger: logger)) { t in
                do {
                    guard let name = lookupNames[t.source], let d = try await saved.digest(.tag(name)) else { return "not in the archive" }
                    let top = try await saved.manifest(d)
                    let lookup = ManifestLookup.registry(pool.client(t.destination.registry, .destination), t.destination.repository)
                    guard let selection = try await Validation.selection(top, filter: .all) else { return nil }
                    if let problem = await Validation.check(top, selection, at: t.destinationIdentifier, in: lookup) {
                        return problem == "missing" ? "missing at the destination" : problem
                    }
                    return await Validation.checkAttachments(t, top: top, selection,
                                                             sources: { catalog.source(named: lookupNames[$0] ?? $0.description, path: source) },
                                                             destinations: pool.destinationReader, policy: policy, logger: logger)
                } catch {
                    return "\(error)"
                }
            }
            if failures > 0 { throw ExitCode.failure }
        }
    }
}

/// What a `docker save` archive gives for a reference it does not hold: nothing.
private struct AbsentImageSource: ImageSource {
    let reference: Reference
    let archive: String
    var location: RepositoryLocation { RepositoryLocation(storage: "docker-archive:\(archive)", repository: reference.name) }
    func manifestDigest(_ identifier: ManifestIdentifier) async throws -> Digest? { nil }
    func manifest(_ identifier: ManifestIdentifier) async throws -> RawManifest { throw CLIError("\(reference) is not in \(archive)") }
    func blob(_ descriptor: Descriptor) async throws -> any BlobStream { throw CLIError("\(reference) is not in \(archive)") }
}
