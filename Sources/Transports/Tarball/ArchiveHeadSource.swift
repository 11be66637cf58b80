import Engine
import Foundation

/// An archive's head as a source: its named entries and manifests (all read before any layer), and the small
/// blobs read on the way. Used to find and write what is attached to loaded images once their blobs are placed:
/// a blob that is not in the head is not readable here (the load streams it from the archive).
struct ArchiveHeadSource: ImageSource {
    let head: ArchiveCatalog.Head
    let path: String
    /// The entry name of the image this source reads (`host/repo:tag`).
    let name: String

    var location: RepositoryLocation { RepositoryLocation(storage: "archive:\(path)", repository: name) }

    /// The source for `reference` in the archive whose head is `head`: the entry of that name, of the stand-in
    /// tag of a bare name (see `LayoutNaming`), or whose name parses to it.
    static func named(_ reference: Reference, head: ArchiveCatalog.Head, path: String) -> ArchiveHeadSource {
        var name = reference.description
        if reference.registry == LayoutNaming.standIn, let tag = reference.tag {
            name = tag
        } else if OCILayout.entry(named: name, in: head.catalog.index) == nil,
                  let match = head.catalog.index.manifests.compactMap(OCILayout.name(of:)).first(where: { LayoutNaming.reference(for: $0) == reference }) {
            name = match
        }
        return ArchiveHeadSource(head: head, path: path, name: name)
    }

    func manifestDigest(_ identifier: ManifestIdentifier) async throws -> Digest? {
        switch identifier {
        case .digest(let d): head.catalog.manifests[d] != nil ? d : nil
        case .tag: OCILayout.entry(named: name, in: head.catalog.index)?.digest
        }
    }

    func manifest(_ identifier: ManifestIdentifier) async throws -> RawManifest {
        guard let d = try await manifestDigest(identifier), let m = head.catalog.manifests[d] else {
            throw LayoutError(path: path, reason: "no manifest \(identifier) for \(name) in the archive's head")
        }
        return m
    }

    func blob(_ descriptor: Descriptor) async throws -> any BlobStream {
        guard let bytes = head.blobs[descriptor.digest] else {
            throw LayoutError(path: path, reason: "blob \(descriptor.digest) is read from the archive stream, not its head")
        }
        return MemoryBlobStream(bytes)
    }

    func tags() async throws -> [String]? {
        LayoutNaming.tags(alongside: name, in: head.catalog.index.manifests.compactMap(OCILayout.name(of:)))
    }
}
