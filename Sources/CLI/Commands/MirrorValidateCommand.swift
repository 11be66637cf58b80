import ArgumentParser
import Engine
import FoundationEssentials
import Signing
import Transports

/// `dray mirror validate`: checks that every selected image is at the destination with the expected digests.
struct MirrorValidateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check that the images of a list were mirrored correctly (PASS/FAILED per image).",
        discussion: """
            With every platform selected the destination tag must hold the source's digest. With --arch/--os it \
            must hold an index listing every selected platform manifest, each present by its source digest. \
            With --sigstore-public-key, the manifest under the destination tag must also carry a valid cosign \
            signature naming the destination image (see dray verify for --identity).

            Example:
              dray mirror validate -f list.txt -d harbor.local --sigstore-public-key cosign.pub
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var selection: MirrorSelectionOptions
    @OptionGroup var access: RegistryAccessOptions

    @OptionGroup var checking: ValidationOptions
    @OptionGroup var sharding: ShardOptions

    @Option(name: .long, help: ArgumentHelp("Also check each image's cosign signature with this public key (repeatable).", valueName: "file"))
    var sigstorePublicKey: [String] = []

    @Option(name: .long, help: "Signature identity rule: exact, repository, repo-digest-or-exact or remap:PREFIX=SIGNED_PREFIX.")
    var identity: String = "repo-digest-or-exact"

    func run() async throws {
        try await reportingErrors {
            let shard = try sharding.parsed()
            let logger = global.makeLogger("dray.validate")
            let pool = RegistryPool(http: HTTPClient(logger: logger), source: try access.registryOptions(.source),
                                    destination: try access.registryOptions(.destination), sync: try selection.syncConfig())
            var (targets, listErrors) = try await selection.load(pool: pool)
            if let shard { (targets, listErrors) = shard.narrow(targets, listErrors, logger: logger) }
            let filter = selection.platformFilter
            let verifier = sigstorePublicKey.isEmpty ? nil
                : try VerifierOptions.make(keys: sigstorePublicKey, identity: identity, keyFlag: "--sigstore-public-key")
            let policy = try checking.policy()
            let failures = await Validation.run(targets, listErrors: listErrors, jobs: checking.checkedJobs(logger: logger)) { t in
                do {
                    let top = try await pool.client(t.source.registry, .source)
                        .manifest(t.source.repository, ManifestIdentifier(t.source))
                    let lookup = ManifestLookup.registry(pool.client(t.destination.registry, .destination), t.destination.repository)
                    guard let selection = try await Validation.selection(top, pinned: t.source.digest != nil, filter: filter,
                                                                          source: pool.source(t.source)) else { return nil }
                    if let problem = await Validation.check(top, selection, at: t.destinationIdentifier, in: lookup) {
                        return problem == "missing" ? "missing at the destination" : problem
                    }
                    if let problem = await Validation.checkAttachments(t, top: top, selection, sources: pool.source,
                                                                       destinations: pool.destinationReader, policy: policy, logger: logger) {
                        return problem
                    }
                    guard let verifier else { return nil }
                    let destination = pool.destination(t.destination)
                    guard let digest = try await destination.manifestDigest(t.destinationIdentifier) else { return "missing at the destination" }
                    let store = DestinationSignatureStore(image: t.destination, destination: pool.destination)
                    if case .fail(let why) = try await verifier.verify(digest, image: t.destination, in: store) {
                        return "signature: \(why)"
                    }
                    return nil
                } catch {
                    return "\(error)"
                }
            }
            if failures > 0 { throw ExitCode.failure }
        }
    }
}
