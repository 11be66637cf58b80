import ArgumentParser
import Engine
import FoundationEssentials

/// `dray convert-list`: a Default-format list rewritten as a Mirror-format one, as Hangar's convert-list does.
struct ConvertListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert-list",
        abstract: "Convert an image list from Default format to Mirror format (SOURCE DESTINATION TAG).",
        discussion: """
            Each image keeps its repository path under the destination registry (and project, with \
            --destination-project), exactly as mirror -d would name it; Mirror-format lines are kept as they \
            are. Comments and blank lines are dropped. Nothing is written when a line is invalid.

            Examples:
              dray convert-list -i list.txt -o mirror-list.txt -d harbor.example.com
              dray convert-list -i list.txt -o mirror-list.txt -d harbor.example.com --destination-project mirror
            """)

    @Option(name: [.customShort("i"), .customLong("input")], help: ArgumentHelp("The list to convert.", valueName: "file"))
    var input: String

    @Option(name: [.short, .long], help: ArgumentHelp("Where the Mirror-format list is written.", valueName: "file"))
    var output: String

    @OptionGroup var names: ListNamingOptions

    func run() async throws {
        try await reportingErrors {
            guard names.destination != nil else { throw CLIError("-d/--destination is required: the destination registry") }
            let naming = try names.naming()
            let parsed = ImageList.parse(try readListFile(input, flag: "-i"), file: input)
            let named = naming.targets(parsed.entries, file: input)
            let errors = (parsed.errors + named.errors).sorted { $0.lineNumber < $1.lineNumber }
            if let first = errors.first {
                let more = errors.count > 1 ? " (and \(errors.count - 1) more invalid line\(errors.count == 2 ? "" : "s"))" : ""
                throw CLIError("\(first)\(more); nothing written")
            }
            let lines = named.targets.map { t in "\(t.source.name) \(t.destination.name) \(t.source.digest?.description ?? t.source.tag ?? "latest")" }
            try AtomicFile.write(lines: lines, to: output)
            print("Wrote \(lines.count) image\(lines.count == 1 ? "" : "s") in Mirror format to \(output)")
        }
    }
}
