import ArgumentParser
import Engine
import Foundation
import Transports

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
            """)

    @OptionGroup var global: GlobalOptions

    @Option(name: [.short, .long], help: ArgumentHelp("The saved folder (OCI layout).", valueName: "dir"))
    var source: String

    @Option(name: [.short, .long], help: ArgumentHelp("The registry to push to.", valueName: "registry"))
    var destination: String

    @Option(name: [.short, .long], help: ArgumentHelp("Load only the images of this list (Default format).", valueName: "file"))
    var file: String?

    @Option(name: .long, help: ArgumentHelp("Replace the project of every destination image.", valueName: "project"))
    var destinationProject: String?

    @OptionGroup var access: SingleRegistryOptions

    @Option(name: [.short, .long], help: "Images pushed at once (1-20).")
    var jobs: Int = 1

    @Option(name: .long, help: "Blob uploads in flight at once.")
    var blobJobs: Int = 8

    @Option(name: .long, help: "Retries after a temporary failure.")
    var retries: Int = 3

    @Flag(name: .long, help: "Replace the destination's index instead of merging into it.")
    var overwrite = false

    @Option(name: [.customShort("o"), .customLong("failed")], help: ArgumentHelp("Where the names of failed images are written.", valueName: "file"))
    var failed: String = "load-failed.txt"

    @Option(name: .long, help: ArgumentHelp("Write a JSON report of every image.", valueName: "file"))
    var report: String?

    func run() async throws {
        try await reportingErrors {
            guard (1...20).contains(jobs) else { throw CLIError("-j/--jobs must be between 1 and 20") }
            guard (try? Reference(parsing: "\(destination)/x/y")) != nil else {
                throw CLIError("-d/--destination: invalid registry \"\(destination.prefix(200))\"")
            }
            var isDir: ObjCBool = false
            if !FileManager.default.fileExists(atPath: source, isDirectory: &isDir) || !isDir.boolValue {
                throw CLIError("-s \(source): loading straight from an archive is not supported yet; run `dray decompress -f \(source)` first and load the folder")
            }
            let layout: OCILayout
            do { layout = try OCILayout(path: source, create: false) } catch { throw CLIError("-s \(source): \(error)") }
            let logger = global.makeLogger("dray.load")

            // Which saved images: all, or those the list names.
            var wanted: Set<Reference>?
            var listErrors: [ImageListError] = []
            if let file {
                guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { throw CLIError("-f \(file): cannot read the file") }
                let parsed = ImageList.parse(text, file: file)
                wanted = Set(parsed.entries.map(\.source))
                listErrors = parsed.errors
            }
            var names: [Reference: String] = [:]
            var targets: [MirrorTarget] = []
            for name in try layout.names() {
                guard let ref = try? Reference(parsing: name) else {
                    logger.warning("\(source): skipping \"\(name)\", which is not an image reference")
                    continue
                }
                if let wanted, !wanted.contains(ref) { continue }
                names[ref] = name
                var dst = Reference(registry: destination, repository: ref.repository, tag: ref.tag,
                                    digest: ref.tag == nil ? ref.digest : nil)
                if let p = destinationProject { dst.repository = MirrorNaming.replacingProject(dst.repository, with: p) }
                targets.append(MirrorTarget(id: targets.count + 1, source: ref, destination: dst, line: ref.description,
                                            origin: "\(source)/index.json"))
            }
            if let wanted {
                for missing in wanted.subtracting(names.keys).sorted(by: { $0.description < $1.description }) {
                    listErrors.append(ImageListError(file: file!, lineNumber: 0, line: missing.description,
                                                     reason: "\(missing) is not in \(source)"))
                }
            }
            var options = MirrorOptions()
            options.jobs = jobs
            options.blobJobs = blobJobs
            options.retries = retries
            options.overwrite = overwrite
            var registry = try access.registryOptions()
            let limiter = RateLimiter()
            registry.gate = limiter
            let pool = RegistryPool(http: HTTPClient(logger: logger), source: registry, destination: registry)
            let lookup = names
            try await MirrorRunner(verb: "Loaded", logger: logger, limiter: limiter, failedPath: failed, reportPath: report)
                .run(targets, listErrors: listErrors, options: options,
                     sources: { OCILayoutImageSource(layout: layout, name: lookup[$0] ?? $0.description) },
                     destinations: pool.destination)
        }
    }
}
