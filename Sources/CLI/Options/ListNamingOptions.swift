import ArgumentParser
import Engine

/// Hangar's naming flags for image lists (`-s`, `-d`, `--source-project`, `--destination-project`), shared by
/// `mirror`, `mirror validate` and `convert-list`.
struct ListNamingOptions: ParsableArguments {
    @Option(name: [.short, .long], help: ArgumentHelp("Override the source registry of every image.", valueName: "registry"))
    var source: String?

    @Option(name: [.short, .long], help: ArgumentHelp("Destination registry for images whose destination names none.", valueName: "registry"))
    var destination: String?

    @Option(name: .long, help: ArgumentHelp("Override the project (first path component) of every source image.", valueName: "project"))
    var sourceProject: String?

    @Option(name: .long, help: ArgumentHelp("Override the project of every destination image.", valueName: "project"))
    var destinationProject: String?

    /// The naming rules, once `-s` and `-d` (and any `extra` registry flags) are checked to be registry names.
    func naming(checking extra: [(flag: String, value: String?)] = []) throws -> MirrorNaming {
        for (flag, value) in [("-s/--source", source), ("-d/--destination", destination)] + extra {
            if let value, !value.isEmpty, (try? Reference(parsing: "\(value)/x/y")) == nil {
                throw CLIError("\(flag): invalid registry \"\(value.prefix(200))\"")
            }
        }
        return MirrorNaming(sourceRegistry: source, destinationRegistry: destination,
                            sourceProject: sourceProject, destinationProject: destinationProject)
    }
}
