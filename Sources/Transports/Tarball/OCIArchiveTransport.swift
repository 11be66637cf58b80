import Engine
import FoundationEssentials

/// `oci-archive:PATH[:NAME]`: an image in a tar of an OCI layout (plain, gzip or zstd; parts found automatically).
///
/// As a source, the archive's head names the image; only that image's blobs are unpacked (each verified) into a
/// scratch folder, which is read like a layout. As a destination, the image is written into a scratch layout
/// (holding what the archive already had) and `commit()` rewrites the archive from it, under a temporary name
/// first, so the old archive stays whole until the new one is complete.
public enum OCIArchive {
    /// Opens the image `name` (or the only image) of the archive at `path`.
    public static func source(_ path: String, name: String?) throws -> (source: any ImageSource, name: String) {
        let (layout, scratch, chosen) = try open(path, name: name)
        return (ScratchSource(inner: OCILayoutImageSource(layout: layout, name: chosen), scratch: scratch), chosen)
    }

    /// Unpacks the image `name` (or the only image) of the archive at `path` and what is attached to it (an
    /// `ArchiveSelection` of that name) into a scratch layout; the layout lives as long as the scratch folder.
    public static func open(_ path: String, name: String?) throws -> (layout: OCILayout, scratch: ScratchFolder, name: String) {
        let catalog = try ArchiveCatalog.read(path)
        let names = catalog.index.manifests.compactMap(OCILayout.name(of:))
        let chosen: String
        if let name {
            guard OCILayout.entry(named: name, in: catalog.index) != nil else {
                throw LayoutError(path: path, reason: "no image named \"\(name.prefix(300))\" (it holds \(names.prefix(5).joined(separator: ", "))\(names.count > 5 ? ", …" : ""))")
            }
            chosen = name
        } else {
            let images = names.filter { !LayoutNaming.isAttachment($0) }
            guard images.count == 1 else {
                throw LayoutError(path: path, reason: "holds \(images.count) images; name one as oci-archive:\(path):NAME")
            }
            chosen = images[0]
        }
        // The blobs this image and its attachments need (their manifests are in the head).
        let selection = try ArchiveSelection(catalog.index, names: [chosen]) { d in
            guard let m = catalog.manifests[d] else { throw LayoutError(path: path, reason: "manifest \(d) is missing") }
            return m.bytes
        }
        let needed = Set(selection.blobs)
        let scratch = try ScratchFolder(purpose: "oci-archive")
        _ = try LayoutExtractor.extract(try FileSource(path: path), into: scratch.path) { entry in
            entry == "oci-layout" || entry == "index.json" || ArchiveCatalog.blobDigest(entry).map(needed.contains) == true
        }
        return (try OCILayout(path: scratch.path, create: false), scratch, chosen)
    }

    /// The compression a file name asks for: `.gz`/`.tgz` gzip, `.zst`/`.tzst` zstd, else a plain tar.
    public static func compression(forName path: String) -> ArchiveCompression {
        let lower = path.lowercased()
        if lower.hasSuffix(".gz") || lower.hasSuffix(".tgz") { return .gzip }
        if lower.hasSuffix(".zst") || lower.hasSuffix(".tzst") || lower.hasSuffix(".zstd") { return .zstd }
        return .none
    }
}

/// A layout source that keeps its scratch folder alive.
public struct ScratchSource: ImageSource {
    let inner: any ImageSource
    let scratch: ScratchFolder

    public init(inner: any ImageSource, scratch: ScratchFolder) {
        self.inner = inner
        self.scratch = scratch
    }

    public var location: RepositoryLocation { inner.location }
    public func manifestDigest(_ identifier: ManifestIdentifier) async throws -> Digest? { try await inner.manifestDigest(identifier) }
    public func manifest(_ identifier: ManifestIdentifier) async throws -> RawManifest { try await inner.manifest(identifier) }
    public func blob(_ descriptor: Descriptor) async throws -> any BlobStream { try await inner.blob(descriptor) }
    public func tags() async throws -> [String]? { try await inner.tags() }
}

/// Writes images into an archive: into a scratch layout first, then the whole archive on `commit()`.
public final class OCIArchiveDestination: Sendable {
    public let path: String
    let scratch: ScratchFolder
    public let layout: OCILayout

    /// Prepares a destination; an existing archive's images are kept (unpacked and verified first).
    public init(path: String) throws {
        self.path = path
        scratch = try ScratchFolder(purpose: "oci-archive")
        if FileManager.default.fileExists(atPath: path) || FileManager.default.fileExists(atPath: "\(path).part0") {
            _ = try LayoutExtractor.extract(try FileSource(path: path), into: scratch.path)
        }
        layout = try OCILayout(path: scratch.path, create: true)
    }

    /// The image `name` of the archive, as a destination.
    public func image(_ name: String) -> any ImageDestination { OCILayoutImageDestination(layout: layout, name: name) }

    /// Writes the archive (compressed as its name says) in place of the old one.
    public func commit() throws {
        _ = try ArchiveOutput(path: path, compression: OCIArchive.compression(forName: path)).write(layout)
    }
}
