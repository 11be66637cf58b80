import ArgumentParser
import Engine
import FoundationEssentials
import Transports

/// `dray decompress`: an archive (or its parts) → a cache folder, every blob verified.
struct DecompressCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decompress",
        abstract: "Extract an archive (gzip, zstd or plain; parts found automatically) into a cache folder.",
        discussion: """
            Every blob is checked against its digest as it is written; a truncated or corrupted archive, a missing \
            or truncated part, or an entry that would land outside the folder stops with an error naming it. The \
            archive is extracted next to the folder (FOLDER.PID.partial), which gets its name only when complete.

            Examples:
              dray decompress -f saved-images.tar.gz -d saved-image-cache
              dray decompress -f saved-images.tar.zst          # reads saved-images.tar.zst.part0, .part1, … if split
            """)

    @OptionGroup var global: GlobalOptions

    @Option(name: [.short, .long], help: ArgumentHelp("The archive (or the name its parts share).", valueName: "file"))
    var file: String

    @Option(name: [.short, .long], help: ArgumentHelp("The folder to extract into (default: the archive name without .tar.*).", valueName: "dir"))
    var destination: String?

    @Flag(name: [.short, .long], help: "Extract into a folder that is not empty.")
    var yes = false

    func run() async throws {
        try await reportingErrors { try body() }
    }

    private func body() throws {
        let base = URL(fileURLWithPath: file).lastPathComponent
        let dir = destination ?? ([".tar.gz", ".tgz", ".tar.zst", ".tar.zstd", ".tar"].first { base.hasSuffix($0) }
            .map { String(base.dropLast($0.count)) } ?? base + ".d")
        do {
            if let contents = try? FileManager.default.contentsOfDirectory(atPath: dir), !contents.isEmpty, !yes {
                throw CLIError("-d \(dir) is not empty; pass -y to extract into it")
            }
            let started = ContinuousClock.now
            let files = try LayoutExtractor.extractFolder(file, into: dir, merging: yes)
            let layout = try OCILayout(path: dir, create: false)
            print("Extracted \(files) files (\(try layout.names().count) images) into \(dir) in \((ContinuousClock.now - started).inSeconds.fixed(2)) s")
        } catch let e as CLIError {
            throw e
        } catch {
            throw CLIError("decompress \(file): \(error)")
        }
    }
}
