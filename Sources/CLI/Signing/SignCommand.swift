import ArgumentParser
import Engine
import FoundationEssentials
import Signing
import Transports

/// `dray sign`: cosign signatures for images in a registry.
struct SignCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sign",
        abstract: "Sign images in a registry with a cosign key (the index and each selected platform manifest).",
        discussion: """
            By default (--signature-format both) each manifest gets two signatures: a Sigstore bundle, as cosign v3 \
            writes it (a DSSE in-toto statement naming the digest, signed with the key, no transparency-log entry: \
            nothing leaves the machine), stored as an OCI 1.1 referrer of the manifest (listed by the referrers API \
            or the sha256-<hex> fallback tag); and cosign's legacy simple-signing payload naming the image as given \
            and the digest, under sha256-<hex>.sig. Signing again with the same key adds nothing.

            Examples:
              dray sign --key cosign.key --passphrase-file pass.txt reg.local/app:1.0
              dray sign --key cosign.key -f images.txt -j 8 -o sign-failed.txt
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var targets: SignatureTargetOptions
    @OptionGroup var signing: SigningKeyOptions
    @OptionGroup var access: SingleRegistryOptions
    @OptionGroup var platforms: PlatformOptions
    @OptionGroup var format: SignatureFormatOption

    @Option(name: [.customShort("o"), .customLong("failed")], help: ArgumentHelp("Where the failed images are written.", valueName: "file"))
    var failed: String = "sign-failed.txt"

    func run() async throws {
        try await reportingErrors {
            let (refs, listErrors) = try targets.references()
            let key = try signing.load()
            let signing = try MirrorSigning(signer: try Signer(key: key, creator: "dray \(DrayVersion.string)"), format: try format.value())
            let logger = global.makeLogger("dray.sign")
            let options = try access.registryOptions()
            let pool = RegistryPool(http: HTTPClient(logger: logger), source: options, destination: options)
            let filter = platforms.filter
            for e in listErrors { print("FAILED \(e)") }
            let results = await refs.concurrentMap(limit: targets.concurrency.value(logger: logger)) { ref -> String? in
                do {
                    let top = try await pool.destination(ref).manifest(ManifestIdentifier(ref))
                    var digests = [top.digest]
                    if case .index(let index) = try top.parsed() {
                        digests += IndexSelection.select(index, filter).filter { !IndexSelection.isAttestation($0) }.map(\.digest)
                    }
                    let added = try await signing.sign(digests, as: ref, destination: pool.destination)
                    print("SIGNED \(ref) \(top.digest) (\(digests.count) manifest\(digests.count == 1 ? "" : "s"), \(added) new signature\(added == 1 ? "" : "s"))")
                    return nil
                } catch {
                    print("FAILED \(ref): \(error)")
                    return ref.description
                }
            }
            let failedLines = listErrors.map(\.line) + results.compactMap { $0 }
            print("\(refs.count - results.compactMap { $0 }.count) signed, \(failedLines.count) failed")
            if !failedLines.isEmpty {
                try AtomicFile.write(lines: failedLines, to: failed)
                throw ExitCode.failure
            }
        }
    }
}
