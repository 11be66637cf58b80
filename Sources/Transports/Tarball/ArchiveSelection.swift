import Engine
import Foundation

/// The part of a layout folder that an archive of some of its images holds: their `index.json` entries, the
/// signature attachments (`REPO:sha256-<hex>.sig`) the folder holds for the manifests they reach, and every blob
/// those entries reference. Whatever else the folder (a cache) holds stays out.
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
        var entries: [Descriptor] = []
        var images = 0
        for entry in index.manifests {
            guard let name = OCILayout.name(of: entry), names.contains(name), byName[name] == entry else { continue }
            entries.append(entry)
            images += 1
            guard let ref = try? Reference(parsing: name) else { continue }
            var reached = [entry.digest]
            if case .index(let i) = try RawManifest(bytes: try manifest(entry.digest), mediaType: nil, expecting: entry.digest).parsed() {
                reached += i.manifests.map(\.digest)
            }
            for d in reached {
                let signature = ref.withTag(SignatureAttachment.tag(for: d)).description
                if let sig = byName[signature], !entries.contains(sig) { entries.append(sig) }
            }
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

    /// Whether `name` is a signature attachment's (its tag is `sha256-<hex>.sig`).
    public static func isAttachment(_ name: String) -> Bool {
        guard let tag = (try? Reference(parsing: name))?.tag else { return false }
        return SignatureAttachment.isSignatureTag(tag)
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
