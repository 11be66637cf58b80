import ArgumentParser
import Engine
import FoundationEssentials
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

    @Option(name: .long, help: ArgumentHelp(
        "Blob transfers in flight at once (default: 6, doubling while each transfer gets under 8 MB/s of a slow link; a value given here stays fixed).",
        valueName: "n"))
    var blobJobs: Int?

    @Option(name: .long, help: "Retries after a temporary failure (network, 5xx, 429).")
    var retries: Int = 3

    @OptionGroup var blobCheck: BlobCheckOptions

    @Argument(help: "Source image: docker://REF, REF, oci:PATH[:NAME], oci-archive:PATH[:NAME] or docker-archive:PATH[:REF].")
    var source: String

    @Argument(help: "Destination image: docker://REF, REF, oci:PATH[:NAME] or oci-archive:PATH[:NAME] (named by the source reference when NAME is omitted).")
    var destination: String

    @OptionGroup var attachments: AttachmentOptions

    func run() async throws {
        try await reportingErrors {
            guard (1...64).contains(blobJobs ?? 6) else { throw CLIError("--blob-jobs must be between 1 and 64") }
            guard (0...20).contains(retries) else { throw CLIError("--retries must be between 0 and 20") }
            let logger = global.makeLogger("dray.copy")
            let factory = TransportFactory(logger: logger)
            let srcLocator = try factory.locate(source, flag: "source")
            let dstLocator = try factory.locate(destination, flag: "destination")
            let src = try factory.sourceEnd(srcLocator, options: try access.registryOptions(.source))
            // An image copied into a layout is named by its source reference, as `save` names them.
            let defaultName: String
            if case .docker(let r) = srcLocator { defaultName = r.description } else { defaultName = src.identifier.description }
            let dst = try factory.destinationEnd(dstLocator, options: try access.registryOptions(.destination), defaultName: defaultName)
            var options = MirrorOptions()
            options.platforms = platforms.filter
            options.failWhenNoPlatform = true
            options.blobJobs = blobJobs ?? 6
            options.adaptsBlobJobs = blobJobs == nil
            options.retries = retries
            options.blobCheck = try blobCheck.value()
            options.attachments = try attachments.policy()
            options.referrersMode = try attachments.mode()
            if !src.holdsAttachments { options.attachments.scope = .none }
            // The one executor every command uses: the image, then what is attached to it, then the tag.
            let engine = MirrorEngine(options: options, sources: src.make, destinations: dst.make, logger: logger)
            var sourceRef = src.reference
            if case .digest(let d) = src.identifier { sourceRef = sourceRef.withDigest(d) }
            let target = MirrorTarget(id: 1, source: sourceRef, destination: dst.reference, line: source, origin: "copy",
                                      destinationIdentifier: dst.identifier)
            let r = await engine.run([target])[0]
            guard r.status != .failed else { throw CLIError("copy \(src.label) → \(dst.label): \(r.error ?? "failed")") }
            if let w = r.warning { logger.warning("\(w)") }
            do { try dst.commit() } catch { throw CLIError("copy \(src.label) → \(dst.label): \(error)") }
            print(Self.summary(r, from: src.label, to: dst.label))
        }
    }
}

extension CopyCommand {
    /// "Copied SRC → DST DIGEST: 3 platforms, 7 blobs copied (1.2 MB), 0 mounted, 0 already present; 4 attachments copied in 0.52s".
    static func summary(_ r: MirrorResult, from: String, to: String) -> String {
        var line = "\(r.status == .skipped ? "Already there:" : "Copied") \(from) → \(to) \(r.digest ?? "")"
        line += r.rewritten ? " (filtered index)" : ""
        line += ": "
        if !r.platforms.isEmpty { line += "\(r.platforms.count) platform\(r.platforms.count == 1 ? "" : "s"), " }
        line += "\(r.blobsCopied) blob\(r.blobsCopied == 1 ? "" : "s") copied (\(r.bytesCopied.humanBytes))"
        line += ", \(r.blobsMounted) mounted, \(r.blobsPresent) already present"
        let attachments = r.attachments ?? []
        let copied = attachments.filter { $0.status == .copied }.count
        let present = attachments.filter { $0.status == .present }.count
        let skipped = attachments.filter { $0.status == .skipped }.count
        if !attachments.isEmpty {
            line += "; attachments: \(copied) copied, \(present) present\(skipped > 0 ? ", \(skipped) left out" : "")"
        }
        line += " in \(r.seconds.fixed(2))s"
        return line
    }
}
