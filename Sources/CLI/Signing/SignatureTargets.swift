import ArgumentParser
import Engine
import FoundationEssentials
import Transports

/// The images a sign or verify run covers: `-f LIST` (Default format) and/or references as arguments.
struct SignatureTargetOptions: ParsableArguments {
    @Option(name: [.short, .long], help: ArgumentHelp("Image list (one reference per line).", valueName: "file"))
    var file: String?

    @OptionGroup var concurrency: JobsOption<CheckJobs>

    @Argument(help: "Images (registry references).")
    var images: [String] = []

    @OptionGroup var sharding: ShardOptions

    /// The references, with the list's bad lines.
    func references() throws -> ([Reference], [ImageListError]) {
        var refs: [Reference] = []
        var errors: [ImageListError] = []
        if let file {
            let parsed = ImageList.parse(try readListFile(file), file: file)
            errors = parsed.errors
            for e in parsed.entries {
                guard e.destinationRepository == nil else {
                    errors.append(ImageListError(file: file, lineNumber: e.lineNumber, line: e.line, reason: "expected one image per line"))
                    continue
                }
                refs.append(e.source)
            }
        }
        for s in images {
            refs.append(try TransportFactory.parse(s, flag: "image"))
        }
        guard !refs.isEmpty || !errors.isEmpty else { throw CLIError("no images: give -f LIST or image references") }
        if let shard = try sharding.parsed() {
            return (shard.select(refs) { $0.description }, shard.select(errors) { $0.line })
        }
        return (refs, errors)
    }
}
