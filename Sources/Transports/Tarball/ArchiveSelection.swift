import Engine
import Foundation

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
        var entries: [Descriptor] = []
        var images = 0
        for entry in index.manifests {
            guard let name = OCILayout.name(of: entry), names.contains(name), byName[name] == entry else { continue }
            entries.append(entry)
            images += 1
            guard let ref = try? Reference(parsing: name) else { continue }
            var reached = [entry.digest]
            var seen = Set(reached)
            if case .index(let i) = try RawManifest(bytes: try manifest(entry.digest), mediaType: nil, expecting: entry.digest).parsed() {
                reached += i.manifests.map(\.digest)
            }
            while let d = reached.popLast() {
                seen.insert(d)
                let tags = [AttachmentTag.fallback(for: d)] + AttachmentTag.Legacy.allCases.map { AttachmentTag.legacy($0, for: d) }
                for tag in tags {
                    guard let found = byName[ref.withTag(tag).description], !entries.contains(found) else { continue }
                    entries.append(found)
                    // What is attached to an attachment: the referrers a fallback index lists, or a legacy tag's manifest.
                    var next = [found.digest]
                    if AttachmentTag.parse(tag)?.legacy == nil,
                       let list = ReferrersIndex.entries(of: try RawManifest(bytes: try manifest(found.digest), mediaType: nil, expecting: found.digest)) {
                        next = list.map(\.digest)
                    }
                    reached += next.filter { !seen.contains($0) }
                }
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

    /// Whether `name` is an attachment entry's (its tag is `sha256-<hex>`, or that with `.sig`, `.att`, `.sbom`).
    public static func isAttachment(_ name: String) -> Bool {
        guard let tag = (try? Reference(parsing: name))?.tag else { return false }
        return AttachmentTag.isAttachmentTag(tag)
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
