import ArgumentParser
import Engine
import Foundation
import TestSupport
import Transports

/// Tooling for the demo and tests: seed a registry with reproducible synthetic images, find free ports.
@main
struct TestKit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dray-testkit",
        abstract: "Seed registries with reproducible synthetic images (no internet needed).",
        subcommands: [Seed.self, FreePort.self, Serve.self])
}

struct Seed: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Push a generated image (multi-platform index by default) to a registry.")

    @Option(help: "Target image, e.g. 127.0.0.1:5000/demo/app:1.0.") var image: String
    @Option(help: "oci or docker media types.") var format: String = "oci"
    @Option(help: "Platforms in the index (1 pushes a single image).") var platforms: Int = 3
    @Option(help: "Layers per platform image.") var layers: Int = 2
    @Option(help: "Bytes of random content per layer.") var layerSize: Int = 1_000_000
    @Option(help: "Seed for the generator.") var seed: UInt64 = 1
    @Option(help: "Registry credentials.") var creds: String?
    @Flag(help: "Attach a Sigstore bundle and an SPDX SBOM (OCI 1.1 referrers, by the fallback tag) and a cosign .sig tag to the top manifest.")
    var attach = false

    func run() async throws {
        guard let fmt = SyntheticImage.Format(rawValue: format) else { throw ValidationError("--format: oci or docker") }
        let ref = try Reference(parsing: image)
        let explicit = try creds.map { try Credential(parsing: $0) }
        let client = RegistryClient(registry: ref.registry,
                                    options: RegistryOptions(credentials: CredentialStore(explicit: explicit, authFiles: [])))
        let all = SyntheticImage.threePlatforms + [Platform(os: "linux", architecture: "s390x"),
                                                  Platform(os: "linux", architecture: "ppc64le")]
        let tree = platforms <= 1
            ? try SyntheticImage.single(format: fmt, layers: layers, layerSize: layerSize, seed: seed)
            : try SyntheticImage.index(platforms: Array(all.prefix(platforms)), format: fmt, layers: layers,
                                       layerSize: layerSize, seed: seed)
        try await SyntheticImage.push(tree, to: client, repository: ref.repository, tag: ref.tag ?? "latest")
        print("seeded \(ref) \(tree.top.digest) (\(tree.children.count) platform manifests, \(tree.blobs.count) blobs)")
        guard attach else { return }
        let subject = tree.top.digest
        for built in [try AttachmentFixtures.bundle(of: tree.top), try AttachmentFixtures.sbom(of: tree.top)] {
            try await AttachmentFixtures.pushReferrer(built, subject: subject, to: client, repository: ref.repository)
            print("  attached \(built.manifest.digest) (\(try ReferrersIndex.entry(for: built.manifest).artifactType ?? "")) under \(subject.dashed)")
        }
        let sig = try AttachmentFixtures.legacy("sig", of: tree.top)
        try await AttachmentFixtures.pushLegacy(sig, kind: "sig", subject: subject, to: client, repository: ref.repository)
        print("  attached \(sig.manifest.digest) (cosign signature) under \(subject.dashed).sig")
    }
}

struct FreePort: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print a free TCP port on 127.0.0.1.")
    func run() throws { print(try freeLoopbackPort()) }
}


struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a docker-registry on a free loopback port until Ctrl-C (or SIGTERM); prints its host and folder.")
    func run() throws {
        let registry = try RegistryServer()
        print("registry \(registry.host) pid \(registry.pid) folder \(registry.directory.path)")
        fflush(nil)
        while true { sleep(60) }
    }
}
