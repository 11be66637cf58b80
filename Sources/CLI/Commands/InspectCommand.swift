import ArgumentParser
import Engine
import FoundationEssentials
import Transports

/// `dray inspect REF`: a readable summary, the exact manifest bytes (`--raw`) or the config blob (`--config`).
struct InspectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show an image's digest, media type, platforms, layers, creation time and labels.",
        discussion: """
            Examples:
              dray inspect docker.io/library/alpine:3.20
              dray inspect --raw 127.0.0.1:5000/demo/app:1.0 | sha256sum
              dray inspect --config --arch arm64 127.0.0.1:5000/demo/app:1.0
              dray inspect oci-archive:saved-images.tar.gz:docker.io/library/nginx:1.25
              dray inspect oci:saved-image-cache:docker.io/library/nginx:1.25
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var access: SingleRegistryOptions

    @Flag(name: .long, help: "Print the manifest's exact bytes, as the registry serves them.")
    var raw = false

    @Flag(name: .long, help: "Print the image's config blob (for an index, the platform chosen by --arch/--os, else linux/amd64, else the first).")
    var config = false

    @Option(name: [.short, .customLong("arch")], help: ArgumentHelp("Architecture to show from an index.", valueName: "arch"))
    var arch: String?

    @Option(name: .customLong("os"), help: ArgumentHelp("Operating system to show from an index.", valueName: "os"))
    var os: String?

    @Argument(help: "Image: docker://REF or REF, oci:PATH[:NAME], oci-archive:PATH[:NAME], docker-archive:PATH[:NAME].")
    var image: String

    func run() async throws {
        try await reportingErrors {
            if raw && config { throw CLIError("--raw and --config cannot be combined") }
            let logger = global.makeLogger("dray.inspect")
            let factory = TransportFactory(logger: logger)
            let (source, id, name) = try factory.source(try factory.locate(image, flag: "image"),
                                                        options: try access.registryOptions())
            do {
                try await inspect(name, source, id)
            } catch let e as CLIError {
                throw e
            } catch {
                throw CLIError("inspect \(name): \(error)")
            }
        }
    }

    private func inspect(_ name: String, _ source: any ImageSource, _ id: ManifestIdentifier) async throws {
        let top = try await source.manifest(id)
        if raw {
            OutputFile.standardOutput.write(bytes: top.bytes)
            return
        }
        // The single image to describe: the manifest itself, or the chosen platform of an index.
        var image = top
        var index: ImageIndex?
        if case .index(let i) = try top.parsed() {
            index = i
            if config || arch != nil || os != nil {
                let chosen = try choosePlatform(i)
                image = try await source.manifest(.digest(chosen.digest))
            }
        }
        var manifest: ImageManifest?
        if case .image(let m) = try image.parsed() { manifest = m }
        var configJSON: JSONValue?
        if let m = manifest, m.config.size <= 16 << 20 {
            let bytes = try await source.smallBlob(m.config, limit: 16 << 20)
            if config {
                OutputFile.standardOutput.write(bytes: bytes)
                return
            }
            configJSON = try? JSONValue(parsing: bytes)
        } else if config {
            throw CLIError("inspect \(name): no config blob to print")
        }
        print(summary(name, top: top, index: image == top ? index : nil, image: image, manifest: manifest,
                      config: configJSON))
    }

    private func choosePlatform(_ index: ImageIndex) throws -> Descriptor {
        let filter = PlatformFilter(architectures: arch.map { [$0] }, oses: os.map { [$0] })
        let wanted = (arch == nil && os == nil) ? PlatformFilter(architectures: ["amd64"], oses: ["linux"]) : filter
        if let d = index.manifests.first(where: { wanted.matches($0.platform) && !$0.mediaType.isIndex }) { return d }
        if arch == nil && os == nil, let first = index.manifests.first { return first }
        throw CLIError("no platform in the index matches \(filter)")
    }


    private func summary(_ name: String, top: RawManifest, index: ImageIndex?, image: RawManifest,
                         manifest: ImageManifest?, config: JSONValue?) -> String {
        var lines: [String] = []
        func field(_ name: String, _ value: String) { lines.append(name.padded(to: 12) + value) }
        field("Name:", name)
        field("Digest:", top.digest.description)
        field("MediaType:", top.mediaType.rawValue)
        field("Size:", "\(top.bytes.count) B (manifest)")
        if let index {
            lines.append("Platforms:")
            for d in index.manifests {
                let p = d.platform?.description ?? (d.annotations?["vnd.docker.reference.type"] ?? "(no platform)")
                lines.append("  \(p.padded(to: 22)) \(d.digest)  \(d.mediaType.rawValue)")
            }
            if let a = index.annotations, !a.isEmpty {
                lines.append("Annotations:")
                for (k, v) in a.sorted(by: { $0.key < $1.key }) { lines.append("  \(k)=\(v)") }
            }
        }
        if image != top {
            field("Platform:", "\(image.digest) \(image.mediaType.rawValue)")
        }
        if let manifest {
            if let config {
                let os = config["os"]?.string ?? "?", arch = config["architecture"]?.string ?? "?"
                let variant = config["variant"]?.string.map { "/\($0)" } ?? ""
                field("OS/Arch:", "\(os)/\(arch)\(variant)")
                if let created = config["created"]?.string { field("Created:", created) }
            }
            field("Config:", "\(manifest.config.digest) \(manifest.config.mediaType.rawValue)")
            let total = manifest.layers.reduce(Int64(0)) { $0 + $1.size }
            lines.append("Layers:     \(manifest.layers.count), \(total.humanBytes)")
            for l in manifest.layers {
                lines.append("  \(l.digest)  \(l.size.humanBytes.padded(to: 9))  \(l.mediaType.rawValue)")
            }
            if let labels = config?["config"]?["Labels"]?.object?.compactMapValues(\.string), !labels.isEmpty {
                lines.append("Labels:")
                for (k, v) in labels.sorted(by: { $0.key < $1.key }) { lines.append("  \(k)=\(v)") }
            }
        }
        return lines.joined(separator: "\n")
    }
}
