/// What a load covers: a target for each saved image to push (all, or those a list names), the saved name of
/// each source reference, and the list lines that name no saved image, as failed results.
///
/// A list line matches the saved image of the same reference; with `sourceRegistry` (Hangar's `load
/// --source-registry`, the registry `save -s` saved under), the line's registry is replaced first. A line that
/// still matches nothing matches the one saved image of the same repository and tag in another registry, so a
/// list saved with `save -s` loads without the flag when that is unambiguous.
public struct LoadPlan: Sendable {
    /// The registry the images go to.
    public let destination: String
    public var targets: [MirrorTarget] = []
    /// The saved name of each source reference (attachment entries `REPO:sha256-<hex>`, `….sig`, `.att`, `.sbom`
    /// included: they travel with their images rather than as targets).
    public var names: [Reference: String] = [:]
    /// List lines that name no saved image, failed with the reason, numbered after the targets.
    public var missing: [MirrorResult] = []
    /// List lines that are not image references.
    public var listErrors: [ImageListError] = []

    /// Plans the load of `saved` (the names in the archive or folder `origin`) to `destination`.
    /// `skipped` hears about saved names that are not image references.
    public init(saved: [String], origin: String, list: (file: String, text: String)?, sourceRegistry: String?,
                destination: String, project: String?, skipped: (String) -> Void) {
        self.destination = destination
        var images: [Reference] = []
        for name in saved {
            guard let ref = try? Reference(parsing: name) else {
                skipped("\(origin): skipping \"\(name)\", which is not an image reference")
                continue
            }
            if names[ref] == nil && !(ref.tag.map(AttachmentTag.isAttachmentTag) ?? false) { images.append(ref) }
            names[ref] = name
        }
        func pushed(_ ref: Reference) -> Reference {
            var dst = Reference(registry: destination, repository: ref.repository, tag: ref.tag, digest: ref.tag == nil ? ref.digest : nil)
            if let project { dst.repository = MirrorNaming.replacingProject(dst.repository, with: project) }
            return dst
        }
        func target(_ ref: Reference, line: String, origin: String) -> MirrorTarget {
            MirrorTarget(id: targets.count + 1, source: ref, destination: pushed(ref), line: line, origin: origin)
        }
        guard let list else {
            for ref in images { targets.append(target(ref, line: ref.description, origin: "\(origin)/index.json")) }
            return
        }
        let parsed = ImageList.parse(list.text, file: list.file)
        listErrors = parsed.errors
        let exact = Set(images)
        var taken = Set<Reference>()
        var unmatched: [(entry: ImageListEntry, wanted: Reference, reason: String)] = []
        for entry in parsed.entries {
            var wanted = entry.source
            if let sourceRegistry { wanted.registry = sourceRegistry }
            let match: Reference?
            if exact.contains(wanted) {
                match = wanted
            } else {
                let alike = images.filter { $0.repository == wanted.repository && $0.tag == wanted.tag && $0.digest == wanted.digest }
                match = alike.count == 1 ? alike[0] : nil
                if match == nil {
                    let reason = alike.isEmpty
                        ? "\(wanted) is not in \(origin)"
                        : "\(wanted) is not in \(origin), which holds it under several registries (\(alike.map(\.registry).joined(separator: ", "))); pass --source-registry"
                    unmatched.append((entry, wanted, reason))
                    continue
                }
            }
            guard let match, taken.insert(match).inserted else { continue }
            targets.append(target(match, line: entry.line, origin: "\(list.file):\(entry.lineNumber)"))
        }
        for (entry, wanted, reason) in unmatched {
            missing.append(MirrorResult(
                id: targets.count + missing.count + 1, source: wanted.description, destination: pushed(wanted).description, line: entry.line,
                status: .failed, digest: nil, sourceDigest: nil, platforms: [], rewritten: false, bytesCopied: 0,
                blobsCopied: 0, blobsMounted: 0, blobsPresent: 0, seconds: 0,
                error: "\(list.file):\(entry.lineNumber): \(reason)", warning: nil))
        }
    }

    /// The number of images the run reports on: targets and missing lines.
    public var count: Int { targets.count + missing.count }
}
