import Engine
import FoundationEssentials

/// One end of a copy as the mirror engine takes it: the reference naming the image, a factory for references of
/// its repository (what is attached to an image lives under other tags), the identifier to read or write, and a
/// label for messages.
public struct ImageEnd<Side: Sendable>: Sendable {
    public var reference: Reference
    public var make: @Sendable (Reference) -> Side
    public var identifier: ManifestIdentifier
    public var label: String
    /// Whether the medium can hold attachments (a `docker save` archive cannot).
    public var holdsAttachments = true
    /// What to do once everything is written (an `oci-archive:` destination is written then).
    public var commit: @Sendable () throws -> Void = {}
}

extension ImageLocator {
    /// Opens the image for reading, as `dray copy` does: a registry reference, a layout's image (the only image
    /// when unnamed; attachment entries are not images), an archive's image (unpacked with its attachments into
    /// a scratch folder that lives as long as the end), or a `docker save` archive's image.
    public func openSource(registry options: RegistryOptions = RegistryOptions(), http: HTTPClient = HTTPClient()) throws
        -> ImageEnd<any ImageSource>
    {
        switch self {
        case .docker(let r):
            let c = RegistryClient(registry: r.registry, options: options, http: http)
            return ImageEnd(reference: r, make: { RegistryImageSource(client: c, repository: $0.repository) },
                            identifier: ManifestIdentifier(r), label: r.description)
        case .ociLayout(let path, let name):
            let layout = try OCILayout(path: path, create: false)
            let chosen = try name ?? Self.onlyImage(try layout.names(), "oci:\(path)")
            let naming = LayoutNaming(layout)
            return ImageEnd(reference: LayoutNaming.reference(for: chosen), make: { OCILayoutImageSource(layout: layout, name: naming.name(for: $0)) },
                            identifier: .tag(chosen), label: "oci:\(path):\(chosen)")
        case .ociArchive(let path, let name):
            let (layout, scratch, chosen) = try OCIArchive.open(path, name: name)
            let naming = LayoutNaming(layout)
            return ImageEnd(reference: LayoutNaming.reference(for: chosen), make: {
                ScratchSource(inner: OCILayoutImageSource(layout: layout, name: naming.name(for: $0)), scratch: scratch)
            }, identifier: .tag(chosen), label: "oci-archive:\(path):\(chosen)")
        case .dockerArchive(let path, let name):
            let archive = try DockerArchive(path: path)
            let image = try archive.image(named: name)
            let chosen = name ?? image.repoTags?.first ?? "image"
            let source = try archive.source(image, name: chosen)
            return ImageEnd(reference: LayoutNaming.reference(for: chosen), make: { _ in source }, identifier: .tag(chosen),
                            label: "docker-archive:\(path):\(chosen)", holdsAttachments: false)
        }
    }

    /// Opens the image for writing; a layout or archive image is named `defaultName` unless the location names
    /// it. An `oci-archive:` keeps what it held and is rewritten by `commit`.
    public func openDestination(registry options: RegistryOptions = RegistryOptions(), http: HTTPClient = HTTPClient(),
                                defaultName: String) throws -> ImageEnd<any ImageDestination>
    {
        switch self {
        case .docker(let r):
            let c = RegistryClient(registry: r.registry, options: options, http: http)
            return ImageEnd(reference: r, make: { RegistryImageDestination(client: c, repository: $0.repository) },
                            identifier: r.tag.map { .tag($0) } ?? ManifestIdentifier(r), label: r.description)
        case .ociLayout(let path, let name):
            let layout = try OCILayout(path: path, create: true)
            let chosen = name ?? defaultName
            let naming = LayoutNaming(layout)
            return ImageEnd(reference: LayoutNaming.reference(for: chosen), make: { OCILayoutImageDestination(layout: layout, name: naming.name(for: $0)) },
                            identifier: .tag(chosen), label: "oci:\(path):\(chosen)")
        case .ociArchive(let path, let name):
            let archive = try OCIArchiveDestination(path: path)
            let chosen = name ?? defaultName
            let naming = LayoutNaming(archive.layout)
            return ImageEnd(reference: LayoutNaming.reference(for: chosen), make: { OCILayoutImageDestination(layout: archive.layout, name: naming.name(for: $0)) },
                            identifier: .tag(chosen), label: "oci-archive:\(path):\(chosen)", commit: { try archive.commit() })
        case .dockerArchive:
            throw ImageLocatorError.invalid(description, "docker-archive: is read only; write oci-archive:PATH instead (docker load reads it too)")
        }
    }

    /// The one image among `names` (attachment entries are not images).
    static func onlyImage(_ names: [String], _ where_: String) throws -> String {
        let images = names.filter { !LayoutNaming.isAttachment($0) }
        guard images.count == 1 else {
            throw ImageLocatorError.invalid(where_, "holds \(images.count) images; name one as \(where_):NAME")
        }
        return images[0]
    }
}
