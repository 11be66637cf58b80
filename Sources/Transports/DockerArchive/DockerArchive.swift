import Engine
import FoundationEssentials

/// A `docker save` archive (`manifest.json` plus a config and layer tars per image), read as a source.
///
/// The archive (plain or compressed) is unpacked into a scratch folder once, hashing every file on the way; the
/// symbolic links `docker save` uses for repeated layers are resolved within the archive and never created.
/// Each image is served as an OCI image manifest built from its entry in `manifest.json`: the config as
/// `application/vnd.oci.image.config.v1+json` and each layer tar as stored (`…layer.v1.tar`, or `+gzip` when
/// the file is gzip-compressed), so layer digests equal the image's `diff_ids`.
public final class DockerArchive: Sendable {
    /// One image of `manifest.json`.
    public struct Image: Sendable, Decodable {
        public var config: String
        public var repoTags: [String]?
        public var layers: [String]

        enum CodingKeys: String, CodingKey {
            case config = "Config", repoTags = "RepoTags", layers = "Layers"
        }
    }

    struct File: Sendable {
        var path: String
        var digest: Digest
        var size: Int64
        var gzip: Bool
    }

    public let path: String
    public let images: [Image]
    let files: [String: File]
    let scratch: ScratchFolder

    /// Unpacks and indexes the archive at `path` (parts found automatically).
    public init(path: String) throws {
        self.path = path
        scratch = try ScratchFolder(purpose: "docker-archive")
        let reader = TarReader(try ArchiveFormat.open(try FileSource(path: path)), allowSymlinks: true)
        var files: [String: File] = [:]
        var links: [String: String] = [:]
        var count = 0
        while let entry = try reader.next() {
            let name = Self.normalize(entry.name)
            switch entry.kind {
            case .directory:
                continue
            case .symlink(let target):
                // The link's folder (`name` is normalised: no trailing or doubled slashes).
                let base = name.lastIndex(of: "/").map { String(name[..<$0]) } ?? ""
                let resolved = Self.normalize(target.hasPrefix("/") ? target : "\(base)/\(target)")
                guard !resolved.hasPrefix("../"), resolved != "..", !target.hasPrefix("/") else {
                    throw LayoutError(path: "\(path): \(entry.name)", reason: "a link that leaves the archive")
                }
                links[name] = resolved
            case .file:
                count += 1
                let stored = "\(scratch.path)/f\(count)"
                let sink = try FileSink(path: stored)
                var hasher = Hasher256()
                var head: [UInt8] = []
                while let chunk = try reader.readContent(max: 1 << 20) {
                    if head.count < 2 { head += chunk.prefix(2 - head.count) }
                    hasher.update(chunk)
                    try sink.write(chunk)
                }
                try sink.finish()
                files[name] = File(path: stored, digest: hasher.finalize(), size: hasher.count, gzip: head == [0x1f, 0x8b])
            }
        }
        for (name, target) in links {
            var t = target
            var hops = 0
            while files[t] == nil, let next = links[t], hops < 16 { t = next; hops += 1 }
            if let f = files[t] { files[name] = f }
        }
        guard let manifest = files["manifest.json"] else {
            throw LayoutError(path: path, reason: "no manifest.json: not a docker save archive (nor an OCI archive: no index.json)")
        }
        guard manifest.size <= Int64(RawManifest.maxSize),
              let images = try? JSONDecoder().decode([Image].self, from: Data(contentsOf: URL(fileURLWithPath: manifest.path)))
        else { throw LayoutError(path: "\(path): manifest.json", reason: "not a valid docker save manifest") }
        for image in images {
            for f in [image.config] + image.layers where files[Self.normalize(f)] == nil {
                throw LayoutError(path: "\(path): \(f)", reason: "named in manifest.json but missing from the archive")
            }
        }
        self.images = images
        self.files = files
    }

    /// The image whose RepoTags hold `name` (compared as references, so `nginx:1.25` matches
    /// `docker.io/library/nginx:1.25`), or the only image when `name` is nil.
    public func image(named name: String?) throws -> Image {
        guard let name else {
            guard images.count == 1 else {
                throw LayoutError(path: path, reason: "holds \(images.count) images; name one as docker-archive:\(path):NAME")
            }
            return images[0]
        }
        let wanted = try? Reference(parsing: name)
        if let hit = images.first(where: { ($0.repoTags ?? []).contains { $0 == name || (try? Reference(parsing: $0)) == wanted } }) {
            return hit
        }
        throw LayoutError(path: path, reason: "no image tagged \"\(name.prefix(300))\"")
    }

    /// The OCI manifest an image is served as (built from its entry in `manifest.json`).
    public func manifest(_ image: Image) throws -> RawManifest {
        func descriptor(_ f: String, config: Bool) -> Descriptor {
            let file = files[Self.normalize(f)]!
            let type: MediaType = config ? .ociConfig : (file.gzip ? .ociLayerGzip : .ociLayer)
            return Descriptor(mediaType: type, digest: file.digest, size: file.size)
        }
        let config = descriptor(image.config, config: true)
        let layers = image.layers.map { descriptor($0, config: false) }
        let manifest = ImageManifest(mediaType: .ociManifest, config: config, layers: layers)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try RawManifest(bytes: Array(try encoder.encode(manifest)), mediaType: .ociManifest)
    }

    /// Every RepoTag of every image (an untagged image by its manifest digest), as `archive ls` lists them:
    /// the manifest load would push, and its size.
    public func catalogImages() throws -> [ArchiveCatalog.Image] {
        try images.flatMap { image -> [ArchiveCatalog.Image] in
            let raw = try manifest(image)
            let size = Int64(raw.bytes.count) + ([image.config] + image.layers).reduce(Int64(0)) { $0 + files[Self.normalize($1)]!.size }
            let names = (image.repoTags ?? []).map { (try? Reference(parsing: $0))?.description ?? $0 }
            return (names.isEmpty ? [raw.digest.description] : names).map {
                ArchiveCatalog.Image(name: $0, digest: raw.digest.description, mediaType: MediaType.ociManifest.rawValue,
                                     platforms: [], size: size)
            }
        }
    }

    /// The image as a source: an OCI manifest (built from `manifest.json`) and the archive's files as blobs.
    public func source(_ image: Image, name: String) throws -> any ImageSource {
        let raw = try manifest(image)
        var blobs: [Digest: String] = [:]
        for f in [image.config] + image.layers {
            let file = files[Self.normalize(f)]!
            blobs[file.digest] = file.path
        }
        return DockerArchiveImageSource(archive: self, name: name, manifest: raw, blobs: blobs)
    }

    static func normalize(_ name: String) -> String {
        var parts: [Substring] = []
        for p in name.split(separator: "/") where p != "." {
            if p == "..", let last = parts.last, last != ".." { parts.removeLast() } else { parts.append(p) }
        }
        return parts.joined(separator: "/")
    }
}

/// One image of a `docker save` archive.
struct DockerArchiveImageSource: ImageSource {
    let archive: DockerArchive
    let name: String
    let manifest: RawManifest
    let blobs: [Digest: String]

    var location: RepositoryLocation { RepositoryLocation(storage: "docker-archive:\(archive.path)", repository: name) }

    /// A `docker save` archive holds one manifest per image and no attachments.
    func manifestDigest(_ identifier: ManifestIdentifier) async throws -> Digest? {
        switch identifier {
        case .digest(let d): d == manifest.digest ? d : nil
        case .tag(let t): name == t || name.hasSuffix(":\(t)") ? manifest.digest : nil
        }
    }

    func manifest(_ identifier: ManifestIdentifier) async throws -> RawManifest {
        if case .digest(let d) = identifier, d != manifest.digest {
            throw LayoutError(path: archive.path, reason: "no manifest \(d) in \(name)")
        }
        return manifest
    }

    func blob(_ descriptor: Descriptor) async throws -> any BlobStream {
        guard let path = blobs[descriptor.digest] else {
            throw LayoutError(path: archive.path, reason: "no blob \(descriptor.digest) in \(name)")
        }
        return try FileBlobStream(path: path)
    }
}
