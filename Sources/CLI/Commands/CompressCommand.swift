import ArgumentParser
import Engine
import FoundationEssentials
import Transports

extension ArchiveCompression: ExpressibleByArgument {}

/// `dray compress`: a cache folder (OCI layout) → an archive, optionally split into parts.
struct CompressCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compress",
        abstract: "Turn a cache folder (OCI image layout) into a tar archive: gzip, zstd or none, optionally split.",
        discussion: """
            The archive is a standard OCI layout in a tar (oci-layout and index.json first, then manifests and \
            configs, then layers), so `cat NAME.part* | tar -xz` restores the folder and other tools open it.

            Examples:
              dray compress -f saved-image-cache -d saved-images.tar.gz
              dray compress -f saved-image-cache -d images.tar.zst --compress zstd --part --part-size 4G
            """)

    @OptionGroup var global: GlobalOptions

    @Option(name: [.short, .long], help: ArgumentHelp("The cache folder to archive.", valueName: "dir"))
    var file: String

    @Option(name: [.short, .long], help: ArgumentHelp("The archive to write (default: the folder name with .tar.gz or .tar.zst).", valueName: "file"))
    var destination: String?

    @Option(name: .long, help: "Compression: gzip, zstd (multithreaded) or none.")
    var compress: ArchiveCompression = .gzip

    @OptionGroup var parts: PartOptions

    @Flag(name: [.short, .long], help: "Overwrite an existing archive.")
    var yes = false

    func run() async throws {
        try await reportingErrors { try body() }
    }

    private func body() throws {
        do {
            let layout: OCILayout
            do { layout = try OCILayout(path: file, create: false) } catch { throw CLIError("-f \(file): \(error)") }
            let name = file.hasSuffix("/") ? String(file.dropLast()) : file
            let output = ArchiveOutput(path: destination ?? (URL(fileURLWithPath: name).lastPathComponent + compress.suffix),
                                       compression: compress, partSize: try parts.size())
            if FileManager.default.fileExists(atPath: output.existingMarker) && !yes {
                throw CLIError("-d \(output.existingMarker) exists; pass -y to overwrite it")
            }
            let started = ContinuousClock.now
            let written = try output.write(layout)
            print("Wrote \(written.summary) (\(try layout.names().count) images) in \((ContinuousClock.now - started).inSeconds.fixed(2)) s")
        } catch let e as CLIError {
            throw e
        } catch {
            throw CLIError("compress \(file): \(error)")
        }
    }
}

/// `--part` and `--part-size` (Hangar's), shared by save and compress.
struct PartOptions: ParsableArguments {
    @Flag(name: .long, help: "Split the archive into parts NAME.part0, NAME.part1, …")
    var part = false

    @Option(name: .long, help: ArgumentHelp("Size of each part: bytes or K/M/G suffixes.", valueName: "size"))
    var partSize: String = "2G"

    /// The part size when splitting, nil for one file; the size is checked either way.
    func size() throws -> Int64? {
        guard let size = ByteSize.parse(partSize) else {
            throw CLIError("--part-size: \"\(partSize)\" is not a size like 2G, 500M or 1048576")
        }
        guard size > 0 else { throw CLIError("--part-size must be positive (got \"\(partSize)\")") }
        return part ? size : nil
    }
}

/// "NAME (SIZE)" or "N parts NAME.part0… (SIZE)".
func archiveSummary(_ files: [String], _ bytes: Int64) -> String {
    "\(files.count == 1 ? files[0] : "\(files.count) parts \(files[0])…") (\(bytes.humanBytes))"
}

extension ArchiveSink {
    var summary: String { archiveSummary(files, bytes) }
}
