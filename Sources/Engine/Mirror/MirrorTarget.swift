/// One image of a mirror run: where it comes from, where it goes, and the list line it came from.
public struct MirrorTarget: Sendable, Hashable {
    /// 1-based position in the run (`[IMG:n]`).
    public var id: Int
    public var source: Reference
    /// Destination with the tag to write (or only a digest).
    public var destination: Reference
    /// The input line, written back to the failed list when the image fails.
    public var line: String
    /// `file:line` for messages.
    public var origin: String
    /// What the top manifest is written as: the destination's tag, else its digest (a layout names images
    /// otherwise).
    public var destinationIdentifier: ManifestIdentifier

    public init(id: Int, source: Reference, destination: Reference, line: String, origin: String,
                destinationIdentifier: ManifestIdentifier? = nil) {
        self.id = id
        self.source = source
        self.destination = destination
        self.line = line
        self.origin = origin
        self.destinationIdentifier = destinationIdentifier
            ?? destination.tag.map { .tag($0) } ?? ManifestIdentifier(destination)
    }
}

/// How list entries become source and destination references (Hangar's `-s`, `-d`, `--source-project`,
/// `--destination-project`).
public struct MirrorNaming: Sendable {
    /// Replaces every source registry.
    public var sourceRegistry: String?
    /// The destination registry for entries that do not name their own.
    public var destinationRegistry: String?
    /// Replaces the first path component (the project) of every source repository.
    public var sourceProject: String?
    /// Replaces the first path component of every destination repository.
    public var destinationProject: String?

    public init(sourceRegistry: String? = nil, destinationRegistry: String? = nil, sourceProject: String? = nil,
                destinationProject: String? = nil) {
        self.sourceRegistry = sourceRegistry
        self.destinationRegistry = destinationRegistry
        self.sourceProject = sourceProject
        self.destinationProject = destinationProject
    }

    /// Targets for the entries, numbered from `firstID`; entries that cannot be named become errors.
    public func targets(_ entries: [ImageListEntry], file: String, firstID: Int = 1)
        -> (targets: [MirrorTarget], errors: [ImageListError])
    {
        var targets: [MirrorTarget] = []
        var errors: [ImageListError] = []
        for entry in entries {
            do {
                let (src, dst) = try name(entry)
                targets.append(MirrorTarget(id: firstID + targets.count, source: src, destination: dst,
                                            line: entry.line, origin: "\(file):\(entry.lineNumber)"))
            } catch {
                errors.append(ImageListError(file: file, lineNumber: entry.lineNumber, line: entry.line,
                                             reason: "\(error)"))
            }
        }
        return (targets, errors)
    }

    private func name(_ entry: ImageListEntry) throws -> (Reference, Reference) {
        var source = entry.source
        let originalRepository = source.repository
        if let r = sourceRegistry { source.registry = r }
        if let p = sourceProject { source.repository = Self.replacingProject(source.repository, with: p) }
        try Self.validate(source)

        var destination: Reference
        if let repo = entry.destinationRepository {
            if ImageList.namesRegistry(repo) {
                destination = try Reference(parsing: repo)
            } else {
                guard let d = destinationRegistry else {
                    throw MirrorNamingError("the destination \"\(repo)\" names no registry and -d/--destination is not set")
                }
                destination = try Reference(parsing: "\(d)/\(repo)")
            }
        } else {
            guard let d = destinationRegistry else {
                throw MirrorNamingError("-d/--destination is required for Default-format lines")
            }
            destination = Reference(registry: d, repository: originalRepository)
        }
        if let p = destinationProject {
            destination.repository = Self.replacingProject(destination.repository, with: p)
        }
        destination.tag = source.tag
        destination.digest = source.tag == nil ? source.digest : nil
        try Self.validate(destination)
        return (source, destination)
    }

    /// `project/name…` with its first component replaced; a one-component repository gains the project.
    public static func replacingProject(_ repository: String, with project: String) -> String {
        let parts = repository.split(separator: "/", maxSplits: 1).map(String.init)
        return parts.count == 2 ? "\(project)/\(parts[1])" : "\(project)/\(repository)"
    }

    private static func validate(_ r: Reference) throws {
        _ = try Reference(parsing: r.description)
    }
}

/// A list entry that cannot be turned into source and destination.
public struct MirrorNamingError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}
