import ArgumentParser
import Engine
import FoundationEssentials
import Logging
import Transports

/// `dray bench`: which transfer strategy is fastest between the user's own registries, for the user's images.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time transfer strategies on your images between your registries, and say which wins.",
        discussion: """
            Each strategy mirrors the list (every platform) into its own scratch repositories under \
            DESTINATION/NAMESPACE/dray-bench-…, which are deleted afterwards (manifests and blob links; the \
            registry's garbage collection frees the space). Strategies, compared with the default (streaming, \
            monolithic upload, cross-repository mounts, 8 blobs in flight):
              default          as dray mirrors
              spool            download each blob to a temporary file, then upload it
              chunked=SIZE     chunked upload (PATCH) in SIZE pieces, e.g. chunked=16M
              no-mount         send every blob to every repository that needs it
              blobs=N          N blob transfers in flight (1-64)

            Example:
              dray bench -s registry.example.com -d harbor.local/scratch -f images.txt
            """)

    @OptionGroup var global: GlobalOptions

    @Option(name: [.short, .long], help: ArgumentHelp("Image list (Default format).", valueName: "file"))
    var file: String

    @Option(name: [.short, .long], help: ArgumentHelp("Override the source registry of every image.", valueName: "registry"))
    var source: String?

    @Option(name: [.short, .long], help: ArgumentHelp("Where scratch repositories go: REGISTRY/NAMESPACE.", valueName: "registry/namespace"))
    var destination: String

    @Option(name: .long, help: "Comma-separated strategies (see above).")
    var strategies: String = "default,spool,chunked=16M,no-mount,blobs=1,blobs=4,blobs=16,blobs=32"

    @OptionGroup var concurrency: JobsOption<CheckJobs>

    @Flag(name: .long, help: "Keep the scratch repositories.")
    var keep = false

    @OptionGroup var access: RegistryAccessOptions

    /// One way of moving blobs.
    struct Strategy {
        var name: String
        var blobJobs = 8
        var spool = false
        var mount = true
        var upload: UploadMode = .monolithic

        init(parsing text: String) throws {
            name = text
            let pair = text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            let (key, value) = (pair[0], pair.count > 1 ? pair[1] : "")
            switch key {
            case "default": break
            case "spool": spool = true
            case "no-mount": mount = false
            case "blobs":
                guard let n = Int(value), (1...64).contains(n) else { throw CLIError("--strategies: blobs=N takes 1-64, not \"\(value)\"") }
                blobJobs = n
            case "chunked":
                guard let size = ByteSize.parse(value), size >= 1 << 20 else {
                    throw CLIError("--strategies: chunked=SIZE takes a size of at least 1M, not \"\(value)\"")
                }
                upload = .chunked(chunkSize: Int(size))
            default:
                throw CLIError("--strategies: unknown strategy \"\(text.prefix(40))\" (default, spool, chunked=SIZE, no-mount, blobs=N)")
            }
        }
    }

    struct Outcome {
        var strategy: String
        var seconds: Double
        var bytes: Int64
        var requests: Int
        var failed: Int
    }

    func run() async throws {
        try await reportingErrors {
            let chosen = try strategies.split(separator: ",").map { try Strategy(parsing: String($0)) }
            guard !chosen.isEmpty else { throw CLIError("--strategies: none given") }
            let parts = destination.split(separator: "/", maxSplits: 1).map(String.init)
            guard parts.count == 2, (try? Reference(parsing: "\(destination)/x")) != nil else {
                throw CLIError("-d/--destination: \"\(destination.prefix(200))\" is not REGISTRY/NAMESPACE")
            }
            let (registry, namespace) = (parts[0], parts[1])
            let (entries, errors) = ImageList.parse(try readListFile(file), file: file)
            if let e = errors.first { throw CLIError("\(e)") }
            guard !entries.isEmpty else { throw CLIError("\(file): no images") }
            let logger = global.makeLogger("dray.bench")
            let jobs = concurrency.value(logger: logger)
            let token = String(UInt32.random(in: 0..<UInt32.max), radix: 36)
            var outcomes: [Outcome] = []
            var scratch: [(RegistryPool, [Reference])] = []
            let spoolDirectory = FileManager.default.temporaryDirectory.path

            for (k, strategy) in chosen.enumerated() {
                let targets = entries.enumerated().map { i, entry in
                    var src = entry.source
                    if let source { src.registry = source }
                    let dst = Reference(registry: registry, repository: "\(namespace)/dray-bench-\(token)-\(k)/\(src.repository)",
                                        tag: src.tag, digest: src.tag == nil ? src.digest : nil)
                    return MirrorTarget(id: i + 1, source: src, destination: dst, line: entry.line, origin: "\(file):\(entry.lineNumber)")
                }
                var options = MirrorOptions()
                options.jobs = jobs
                options.blobJobs = strategy.blobJobs
                options.adaptsBlobJobs = false
                options.mount = strategy.mount
                options.spool = strategy.spool ? spoolDirectory : nil
                options.signatures = .remove
                let limiter = RateLimiter()
                var src = try access.registryOptions(.source)
                var dst = try access.registryOptions(.destination)
                dst.uploadMode = strategy.upload
                src.gate = limiter
                dst.gate = limiter
                // A fresh client per strategy: no strategy inherits another's connections or tokens.
                let pool = RegistryPool(http: HTTPClient(logger: logger), source: src, destination: dst)
                let engine = MirrorEngine(options: options, sources: pool.source, destinations: pool.destination, logger: logger)
                print("\(strategy.name): mirroring \(targets.count) image\(targets.count == 1 ? "" : "s") …")
                let started = ContinuousClock.now
                let results = await engine.run(targets)
                let seconds = (ContinuousClock.now - started).inSeconds
                let requests = await limiter.started.values.reduce(0, +)
                for r in results where r.status == .failed { print("  FAILED \(r.source): \(r.error ?? "")") }
                outcomes.append(Outcome(strategy: strategy.name, seconds: seconds, bytes: results.reduce(0) { $0 + $1.bytesCopied },
                                        requests: requests, failed: results.filter { $0.status == .failed }.count))
                scratch.append((pool, targets.map(\.destination)))
            }

            print("")
            print("strategy".padded(to: 16) + "    wall s      MB/s  requests  failed")
            for o in outcomes {
                let rate = o.seconds > 0 ? Double(o.bytes) / o.seconds / 1e6 : 0
                let columns: [String] = [
                    o.strategy.padded(to: 16), o.seconds.fixed(2).padded(to: 8, left: true),
                    rate.fixed(1).padded(to: 8, left: true), String(o.requests).padded(to: 8, left: true),
                    String(o.failed).padded(to: 6, left: true),
                ]
                print(columns.joined(separator: "  "))
            }
            let clean = outcomes.filter { $0.failed == 0 }
            if let best = clean.min(by: { $0.seconds < $1.seconds }) {
                let base = outcomes.first { $0.strategy == "default" }
                let versus = base.map { " (\((best.seconds / max($0.seconds, 0.001)).fixed(2))× the default's time)" } ?? ""
                print("Fastest from \(source ?? "the list's registries") to \(registry): \(best.strategy)\(versus)")
            }
            if !keep { await cleanUp(scratch, logger: logger) }
            if outcomes.contains(where: { $0.failed > 0 }) { throw ExitCode.failure }
        }
    }

    /// Deletes what the strategies wrote: each manifest (children too) and the blob links, best effort.
    private func cleanUp(_ scratch: [(RegistryPool, [Reference])], logger: Logger) async {
        var refused: String?
        for (pool, references) in scratch {
            for ref in references {
                let client = pool.client(ref.registry, .destination)
                do {
                    guard let top = try await client.headManifest(ref.repository, ManifestIdentifier(ref))?.digest else { continue }
                    var manifests = [top]
                    var blobs: [Digest] = []
                    switch try await client.manifest(ref.repository, .digest(top)).parsed() {
                    case .index(let index):
                        for child in index.manifests {
                            manifests.append(child.digest)
                            if case .image(let m) = try await client.manifest(ref.repository, .digest(child.digest)).parsed() {
                                blobs += m.blobs.map(\.digest)
                            }
                        }
                    case .image(let m): blobs = m.blobs.map(\.digest)
                    case .schema1: break
                    }
                    for d in manifests { try await client.deleteManifest(ref.repository, d) }
                    for d in Set(blobs) { try? await client.deleteBlob(ref.repository, d) }
                } catch {
                    refused = refused ?? "\(error)"
                }
            }
        }
        if let refused {
            print("Could not delete the scratch repositories (\(refused)); remove \(destination)/dray-bench-* yourself")
        } else {
            print("Scratch repositories deleted")
        }
    }
}
