import ArgumentParser
import Engine
import FoundationEssentials
import Transports

/// `dray archive`: look into saved archives and folders.
struct ArchiveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "archive", abstract: "Look into saved archives and folders.",
        discussion: """
            Examples:
              dray archive ls images.tar.zst
              dray archive ls saved-images --json
            """,
        subcommands: [ArchiveListCommand.self])
}

/// `dray archive ls`: the images of an archive or folder, with platforms and sizes.
struct ArchiveListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls",
        abstract: "List the images of an archive (OCI or docker save; parts found automatically) or a saved folder.",
        discussion: """
            Only the archive's metadata is read: index.json and the manifests come before the layers. A docker save \
            archive is read whole, as load reads it; each RepoTag is listed. What is attached to an image (referrers \
            listed by its sha256-<hex> entries, cosign .sig/.att/.sbom) is listed under it, not as an image.

            Examples:
              dray archive ls images.tar.zst           # parts images.tar.zst.part0… are found automatically
              dray archive ls saved-images --json
            """)

    @Flag(name: .long, help: "Print JSON.")
    var json = false

    @Argument(help: "An archive (.tar, .tar.gz, .tar.zst, or the name of its parts) or a saved folder.")
    var path: String

    func run() async throws {
        try await reportingErrors { try body() }
    }

    private func body() throws {
        do {
            var images: [ArchiveCatalog.Image]
            do {
                let catalog = try ArchiveCatalog.read(path)
                images = try catalog.images()
            } catch ArchiveCatalog.ReadError.notOCI {
                images = try DockerArchive(path: path).catalogImages()
            }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                print(String(decoding: try encoder.encode(images), as: UTF8.self))
                return
            }
            for image in images {
                let platforms = image.platforms.isEmpty ? "single image" : image.platforms.joined(separator: ", ")
                print("\(image.name)\n  \(image.digest)  \(image.size.humanBytes)  \(platforms)")
                for a in image.attachments {
                    print("  + \(a.type)  \(a.digest)  on \(a.subject.prefix(19))…  (\(a.found.rawValue))")
                }
            }
            let attachments = images.reduce(0) { $0 + $1.attachments.count }
            let attached = attachments == 0 ? "" : " (and \(attachments) attachment\(attachments == 1 ? "" : "s"))"
            print("\(images.count) image\(images.count == 1 ? "" : "s")\(attached)")
        } catch {
            throw CLIError("archive ls \(path): \(error)")
        }
    }
}
