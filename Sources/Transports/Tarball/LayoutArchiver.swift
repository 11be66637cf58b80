import Engine
import FoundationEssentials

/// Writes an OCI layout folder as a tar: `oci-layout` and `index.json` first, then manifests and configs, then
/// layers, so a reader can stream it. Every blob is checked against its digest on the way in.
public enum LayoutArchiver {
    /// Archives the whole folder as it is now.
    public static func write(_ layout: OCILayout, to tar: TarWriter) throws {
        let index = try layout.index()
        let indexBytes = Array(try Data(contentsOf: URL(fileURLWithPath: "\(layout.path)/index.json")))
        var written = try writeHead(layout, index: index, indexBytes: indexBytes, to: tar) { try layout.readBlob($0) }
        try writeRemainingBlobs(layout, skipping: &written, to: tar)
        try tar.finish()
    }

    /// Archives only `selection` of the folder (an `index.json` of its own, and the blobs it references).
    public static func write(_ layout: OCILayout, selection: ArchiveSelection, to tar: TarWriter) throws {
        var written = try writeHead(layout, index: selection.index, indexBytes: try OCILayout.encode(selection.index), to: tar) {
            try layout.readBlob($0)
        }
        try writeBlobs(selection.blobs, of: layout, skipping: &written, to: tar)
        try tar.finish()
    }

    /// Writes `oci-layout`, `index.json` (as `indexBytes`) and every manifest and config reachable from `index`.
    /// Manifests come from `manifest` (which may serve ones not yet in the folder); configs from the folder.
    /// Returns the digests written.
    static func writeHead(_ layout: OCILayout, index: ImageIndex, indexBytes: [UInt8], to tar: TarWriter,
                          manifest: (Digest) throws -> [UInt8]) throws -> Set<Digest> {
        try tar.addFile("oci-layout", bytes: Array(try Data(contentsOf: URL(fileURLWithPath: "\(layout.path)/oci-layout"))))
        try tar.addFile("index.json", bytes: indexBytes)
        // Keys and a trusted root saved with the images (save --include-trust), before any blob.
        let trust = try IncludedTrust.read(layout: layout.path)
        if !trust.isEmpty {
            try tar.addDirectory(IncludedTrust.folder)
            for (name, bytes) in trust.files.sorted(by: { $0.key < $1.key }) { try tar.addFile("\(IncludedTrust.folder)/\(name)", bytes: bytes) }
        }
        try tar.addDirectory("blobs")
        try tar.addDirectory("blobs/sha256")
        var seen = Set<Digest>()
        // What attachment entries hold (signature payloads, bundles, SBOMs) comes first, so a reader of the head has
        // it before any manifest: a load's gate checks signatures before anything streams.
        for d in try attachmentBlobs(index, manifest: manifest) where seen.insert(d).inserted {
            try tar.addFile(entryName(d), bytes: try layout.readBlob(d, limit: RawManifest.maxSize))
        }
        var queue = index.manifests.map(\.digest)
        var configs: [Digest] = []
        while let d = queue.popLast() {
            guard seen.insert(d).inserted else { continue }
            let bytes = try manifest(d)
            let raw = try RawManifest(bytes: bytes, mediaType: nil, expecting: d)
            try tar.addFile(entryName(d), bytes: bytes)
            switch try raw.parsed() {
            case .index(let i): queue += i.manifests.map(\.digest)
            case .image(let m): configs.append(m.config.digest)
            case .schema1: break
            }
        }
        for d in configs where seen.insert(d).inserted {
            try tar.addFile(entryName(d), bytes: try layout.readBlob(d, limit: 64 << 20))
        }
        return seen
    }

    /// The layers of the manifests that attachment entries reach (each at most 4 MiB; larger ones stay with the layers).
    static func attachmentBlobs(_ index: ImageIndex, manifest: (Digest) throws -> [UInt8]) throws -> [Digest] {
        var out: [Digest] = []
        var seen = Set<Digest>()
        var queue = index.manifests.filter { OCILayout.name(of: $0).map(LayoutNaming.isAttachment) ?? false }.map(\.digest)
        while let d = queue.popLast() {
            guard seen.insert(d).inserted else { continue }
            switch try RawManifest(bytes: try manifest(d), mediaType: nil, expecting: d).parsed() {
            case .index(let i): queue += i.manifests.map(\.digest)
            case .image(let m): out += m.layers.filter { $0.size <= Int64(RawManifest.maxSize) }.map(\.digest)
            case .schema1: break
            }
        }
        return out
    }

    /// Writes one stored blob, verifying it while it is read unless this process wrote (and checked) it.
    static func writeBlob(_ layout: OCILayout, _ d: Digest, to tar: TarWriter) throws {
        let path = layout.blobPath(d)
        guard let size = layout.blobSize(d) else { throw LayoutError(path: path, reason: "cannot read") }
        let file = FileSource(file: path)
        let verify = !layout.wroteChecked(d)
        var hasher = Hasher256(algorithm: d.algorithm)
        try tar.addFile(entryName(d), size: size) {
            guard let bytes = try file.read(max: 1 << 20) else { return nil }
            if verify { hasher.update(bytes) }
            return bytes
        }
        guard !verify || hasher.finalize() == d else { throw LayoutError(path: path, reason: "blob \(d) is corrupted") }
    }

    /// Writes every blob of the folder not in `written`, in a stable order, adding each to `written`.
    static func writeRemainingBlobs(_ layout: OCILayout, skipping written: inout Set<Digest>, to tar: TarWriter) throws {
        let dir = "\(layout.path)/blobs/sha256"
        let names = try FileManager.default.contentsOfDirectory(atPath: dir).filter { !$0.hasPrefix(".") }.sorted()
        for name in names {
            guard let d = try? Digest(parsing: "sha256:\(name)"), written.insert(d).inserted else { continue }
            try writeBlob(layout, d, to: tar)
        }
    }

    /// Writes the blobs of `blobs` not in `written`, in order, adding each to `written`.
    static func writeBlobs(_ blobs: [Digest], of layout: OCILayout, skipping written: inout Set<Digest>, to tar: TarWriter) throws {
        for d in blobs where written.insert(d).inserted { try writeBlob(layout, d, to: tar) }
    }

    static func entryName(_ d: Digest) -> String { "blobs/\(d.algorithm.rawValue)/\(d.hex)" }
}
