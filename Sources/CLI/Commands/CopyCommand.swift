import ArgumentParser
import Engine
import Foundation
import Transports

/// `dray copy SRC DST`: one image or a whole index, every digest preserved.
struct CopyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "copy",
        abstract: "Copy one image or a whole multi-platform index between registries, layouts and archives.",
        discussion: """
            Blobs stream from source to destination without touching disk; each blob's digest is checked as it \
            streams, and a mismatch fails the copy. With every platform selected (the default) the destination \
            gets the source's exact manifest bytes, so every digest is preserved; --arch/--os write a filtered \
            index (a new digest) holding only the chosen platforms.

            Examples:
              dray copy alpine:3.20 reg.example.com/mirror/alpine:3.20
              dray copy -a amd64,arm64 --os linux src.example/app:v1 dst.example/app:v1
              dray copy --dest-creds admin:secret 127.0.0.1:5000/a:1 reg.example/a:1
              dray copy reg.example/app:v1 oci-archive:app.tar.zst      (adds to the archive if it exists)
              dray copy docker-archive:busybox.tar:busybox:1.36 reg.example/lib/busybox:1.36
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var access: RegistryAccessOptions
    @OptionGroup var platforms: PlatformOptions

    @Option(name: .long, help: "Blob transfers in flight at once.")
    var blobJobs: Int = 6

    @Option(name: .long, help: "Retries after a temporary failure (network, 5xx, 429).")
    var retries: Int = 3

    @OptionGroup var blobCheck: BlobCheckOptions

    @Argument(help: "Source image: docker://REF, REF, oci:PATH[:NAME], oci-archive:PATH[:NAME] or docker-archive:PATH[:REF].")
    var source: String

    @Argument(help: "Destination image: docker://REF, REF, oci:PATH[:NAME] or oci-archive:PATH[:NAME] (named by the source reference when NAME is omitted).")
    var destination: String

    func run() async throws {
        try await reportingErrors {
            guard (1...64).contains(blobJobs) else { throw CLIError("--blob-jobs must be between 1 and 64") }
            guard (0...20).contains(retries) else { throw CLIError("--retries must be between 0 and 20") }
            let logger = global.makeLogger("dray.copy")
            let factory = TransportFactory(logger: logger)
            let srcLocator = try factory.locate(source, flag: "source")
            let dstLocator = try factory.locate(destination, flag: "destination")
            let (src, srcID, srcName) = try factory.source(srcLocator, options: try access.registryOptions(.source))
            // An image copied into a layout is named by its source reference, as `save` names them.
            let defaultName: String
            if case .docker(let r) = srcLocator { defaultName = r.description } else { defaultName = srcID.description }
            let (dst, dstID, dstName, commit) = try factory.destination(dstLocator, options: try access.registryOptions(.destination),
                                                                defaultName: defaultName)
            var options = CopyOptions()
            options.platforms = platforms.filter
            options.blobConcurrency = blobJobs
            options.retries = retries
            options.blobCheck = try blobCheck.value()
            let copier = ImageCopier(source: src, destination: dst, options: options, logger: logger)

            let started = ContinuousClock.now
            let report: CopyReport
            do {
                report = try await copier.copy(from: srcID, to: dstID)
                try commit()
            } catch {
                throw CLIError("copy \(srcName) → \(dstName): \(error)")
            }
            let seconds = (ContinuousClock.now - started).inSeconds
            var line = "Copied \(srcName) → \(dstName) \(report.digest)"
            line += report.filtered ? " (filtered index)" : ""
            line += ": \(report.manifests) manifest\(report.manifests == 1 ? "" : "s"), "
            line += "\(report.blobsCopied) blob\(report.blobsCopied == 1 ? "" : "s") copied (\(report.bytesCopied.humanBytes))"
            line += ", \(report.blobsMounted) mounted, \(report.blobsPresent) already present"
            line += String(format: " in %.2fs", seconds)
            print(line)
        }
    }
}
