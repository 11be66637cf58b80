import ArgumentParser
import Engine
import Foundation
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
        abstract: "List the images of an archive (parts found automatically) or a saved folder.",
        discussion: """
            Only the archive's metadata is read: index.json and the manifests come before the layers.

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
            let images = try ArchiveCatalog.read(path).images()
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                print(String(decoding: try encoder.encode(images), as: UTF8.self))
                return
            }
            for image in images {
                let platforms = image.platforms.isEmpty ? "single image" : image.platforms.joined(separator: ", ")
                print("\(image.name)\n  \(image.digest)  \(image.size.humanBytes)  \(platforms)")
            }
            print("\(images.count) image\(images.count == 1 ? "" : "s")")
        } catch {
            throw CLIError("archive ls \(path): \(error)")
        }
    }
}
