import Engine
import FoundationEssentials

/// The part of a layout folder that an archive of some of its images holds: their `index.json` entries, the
/// attachment entries the folder holds for the manifests they reach (referrers fallback indexes
/// `REPO:sha256-<hex>`, cosign's `REPO:sha256-<hex>.sig`, `.att`, `.sbom`, and, recursively, those of the
/// attachments), and every blob those entries reference. Whatever else the folder (a cache) holds stays out.
public struct ArchiveSelection: Sendable {
    /// The archive's `index.json`.
    public let index: ImageIndex
    /// Manifests and configs, then layers, each once, in the order an archive writes them.
    public let blobs: [Digest]
    /// The number of images (entries that are not attachments).
    public let images: Int

    /// Selects the entries of `index` named in `names` and their attachments; `manifest` reads a manifest's bytes.
    public init(_ index: ImageIndex, names: Set<String>, manifest: (Digest) throws -> [UInt8]) throws {
        let byName = Dictionary(index.manifests.compactMap { e in OCILayout.name(of: e).map { ($0, e) } }) { _, last in last }
        func read(_ d: Digest) throws -> RawManifest { try RawManifest(bytes: try manifest(d), mediaType: nil, expecting: d) }
        var entries: [Descriptor] = []
        var images = 0
        for entry in index.manifests {
            guard let name = OCILayout.name(of: entry), names.contains(name), byName[name] == entry else { continue }
            entries.append(entry)
            images += 1
            let attached = try LayoutAttachments.walk(image: name, subjects: try LayoutAttachments.subjects(of: try read(entry.digest)),
                                                      entries: byName, manifest: read)
            for a in attached where !entries.contains(a.descriptor) { entries.append(a.descriptor) }
        }
        self.index = ImageIndex(schemaVersion: index.schemaVersion, mediaType: .ociIndex, manifests: entries)
        self.images = images
        self.blobs = try Self.reachable(from: self.index, manifest: manifest)
    }

    /// The names in a layout of the targets a run did not fail (each named by its destination reference).
    public static func names(of targets: [MirrorTarget], savedIn results: [MirrorResult]) -> Set<String> {
        let saved = Set(results.filter { $0.status != .failed }.map(\.id))
        return Set(targets.filter { saved.contains($0.id) }.map(\.destination.description))
    }

    /// Every blob reachable from `index`: manifests and configs first, then layers, each once.
    static func reachable(from index: ImageIndex, manifest: (Digest) throws -> [UInt8]) throws -> [Digest] {
        var seen = Set<Digest>()
        var head: [Digest] = []
        var layers: [Digest] = []
        var queue = index.manifests.map(\.digest)
        while let d = queue.popLast() {
            guard seen.insert(d).inserted else { continue }
            head.append(d)
            switch try RawManifest(bytes: try manifest(d), mediaType: nil, expecting: d).parsed() {
            case .index(let i): queue += i.manifests.map(\.digest)
            case .image(let m):
                if seen.insert(m.config.digest).inserted { head.append(m.config.digest) }
                for l in m.layers where seen.insert(l.digest).inserted { layers.append(l.digest) }
            case .schema1(let m):
                for l in m.fsLayers where seen.insert(l.blobSum).inserted { layers.append(l.blobSum) }
            }
        }
        return head + layers
    }
}
