import Engine
import FoundationEssentials

/// An archive's head as a source: its named entries and manifests (all read before any layer), and the small
/// blobs read on the way. A load plans its images and finds their attachments through it; a blob that is not in
/// the head is not readable here (the load's passes stream it from the archive: `ArchiveStream`).
struct ArchiveHeadSource: ImageSource {
    let head: ArchiveCatalog.Head
    let path: String
    /// The entry name of the image this source reads (`host/repo:tag`).
    let name: String

    var location: RepositoryLocation { RepositoryLocation(storage: "archive:\(path)", repository: name) }

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
