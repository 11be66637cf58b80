import ArgumentParser
import Engine
import FoundationEssentials

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
        try Self.checkRegistry("-s/--source", source, project: "--source-project")
        try Self.checkRegistry("-d/--destination", destination, project: "--destination-project")
        for (flag, value) in extra { try Self.checkRegistry(flag, value) }
        return MirrorNaming(sourceRegistry: source, destinationRegistry: destination,
                            sourceProject: sourceProject, destinationProject: destinationProject)
    }

    /// Fails unless `value` (given with `flag`) is a registry name; a `registry/namespace` is pointed at the
    /// `project` flag that takes the namespace.
    static func checkRegistry(_ flag: String, _ value: String?, project: String? = nil) throws {
        guard let value, !value.isEmpty else { return }
        if let project, let slash = value.firstIndex(of: "/"), !value.contains("://") {
            let namespace = value[value.index(after: slash)...].trimming { $0 == "/" }
            throw CLIError("\(flag) takes a registry (host[:port]), not \"\(value.prefix(200))\"; use \(project) \(namespace.prefix(100)) for the namespace")
        }
        if (try? Reference(parsing: "\(value)/x/y")) == nil {
            throw CLIError("\(flag): invalid registry \"\(value.prefix(200))\"")
        }
    }
}
