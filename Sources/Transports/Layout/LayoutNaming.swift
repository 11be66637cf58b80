import Engine

/// Images of a layout named as references, so that what is attached to an image (other tags of its repository:
/// `sha256-<hex>`, `.sig`, …) is found beside it, as in a registry.
///
/// An entry named by a full reference (`host/repo:tag`, as dray names them) is that reference. An entry named by
/// a bare tag (`latest`, as other tools name them) stands in as `layout.invalid/image:<tag>`, and its attachments
/// are the other bare tags.
public struct LayoutNaming: Sendable {
    /// The registry part of the stand-in references of bare names.
    public static let standIn = "layout.invalid"

    public let layout: OCILayout

    public init(_ layout: OCILayout) { self.layout = layout }

    /// The reference an entry name stands for.
    public static func reference(for name: String) -> Reference {
        if name.contains("/") || name.contains(":"), let r = try? Reference(parsing: name) { return r }
        return Reference(registry: standIn, repository: "image", tag: name, digest: nil)
    }

    /// The entry name of `reference`: the stand-in's tag, an entry whose name parses to it, or its text.
    public func name(for reference: Reference) -> String {
        if reference.registry == Self.standIn, let tag = reference.tag { return tag }
        let text = reference.description
        guard let names = try? layout.names(), !names.contains(text) else { return text }
        return names.first { ($0.contains("/") || $0.contains(":")) && (try? Reference(parsing: $0)) == reference } ?? text
    }

    /// The tags of the `names` that share `name`'s repository: beside a full reference, the other tags of its
    /// repository; beside a bare name, the other bare names.
    public static func tags(alongside name: String, in names: [String]) -> [String] {
        let own = reference(for: name)
        return names.compactMap { n in
            let r = reference(for: n)
            return r.name == own.name ? r.tag : nil
        }
    }

    /// Whether an entry name names attachments rather than an image (`sha256-<hex>`, `….sig`, `.att`, `.sbom`,
    /// bare or in a reference).
    public static func isAttachment(_ name: String) -> Bool {
        guard let tag = reference(for: name).tag else { return false }
        return AttachmentTag.isAttachmentTag(tag)
    }
}
