import Engine
import FoundationEssentials
import Glibc

/// What an archive or layout folder holds: its `index.json` and every manifest reachable from it.
///
/// For an archive, only the metadata is read: `index.json` and manifest/config blobs come first in archives dray
/// writes, so reading stops at the first layer once every manifest has been seen (archives from other tools
/// may be read to the end).
public struct ArchiveCatalog: Sendable {
    public var index: ImageIndex
    public var manifests: [Digest: RawManifest]

    /// One named image of the catalog.
    public struct Image: Sendable, Codable {
        public var name: String
        public var digest: String
        public var mediaType: String
        public var platforms: [String]
        /// Bytes of all blobs and manifests the image references (shared blobs counted once per image).
        public var size: Int64
        /// What is attached to the image's manifests in the archive (and, recursively, to those attachments).
        public var attachments: [Attached] = []
    }

    /// One attachment of an image in the archive.
    public struct Attached: Sendable, Codable, Hashable {
        public var digest: String
        public var subject: String
        /// The artifact type, or the cosign tag kind (`cosign.sig`).
        public var type: String
        /// `fallback-tag` (listed by the subject's `sha256-<hex>` entry) or `legacy-tag`.
        public var found: AttachmentOrigin
    }

    /// The attachments the archive holds for the image named `name` whose manifests are `subjects`: what its
    /// fallback entries list and its cosign entries.
    public func attachments(of name: String, subjects: [Digest]) -> [Attached] {
        let byName = Dictionary(index.manifests.compactMap { e in OCILayout.name(of: e).map { ($0, e) } }) { _, last in last }
        let found = (try? LayoutAttachments.walk(image: name, subjects: subjects, entries: byName) { manifests[$0] }) ?? []
        var seen = Set<Digest>()
        return found.flatMap { e -> [Attached] in
            if let kind = e.legacy {
                return [Attached(digest: e.descriptor.digest.description, subject: e.subject.description, type: "cosign.\(kind.rawValue)",
                                 found: .legacyTag)]
            }
            return (e.referrers ?? []).filter { seen.insert($0.digest).inserted }.map { r in
                Attached(digest: r.digest.description, subject: e.subject.description, type: r.artifactType ?? r.mediaType.rawValue,
                         found: .fallbackTag)
            }
        }
    }

    /// Reads a layout folder, or an archive (parts found automatically).
    public static func read(_ path: String) throws -> ArchiveCatalog {
        if FileStatus.isDirectory(path) {
            let layout = try OCILayout(path: path, create: false)
            let index = try layout.index()
            var manifests: [Digest: RawManifest] = [:]
            var queue = index.manifests.map(\.digest)
            while let d = queue.popLast() {
                guard manifests[d] == nil else { continue }
                let m = try RawManifest(bytes: try layout.readBlob(d), mediaType: nil, expecting: d)
                manifests[d] = m
                if case .index(let i) = try m.parsed() { queue += i.manifests.map(\.digest) }
            }
            return ArchiveCatalog(index: index, manifests: manifests)
        }
        return try readArchive(path)
    }

    /// Links are passed over rather than refused, so a `docker save` archive (which links repeated layers)
    /// is told apart by its missing `index.json`; nothing read here is written to disk.
    private static func readArchive(_ path: String) throws -> ArchiveCatalog {
        try readHead(TarReader(try ArchiveFormat.open(try FileSource(path: path)), allowSymlinks: true), path: path).catalog
    }

    /// The image named `name` (and, by its other tags, what is attached to it), read from the catalog's manifests
    /// (no blob can be read: for checking what an archive holds).
    public func source(named name: String, path: String) -> any ImageSource {
        ArchiveHeadSource(head: Head(catalog: self, blobs: [:]), path: path, name: name)
    }

    /// An archive's head: its catalog, and the small blobs read on the way (configs dray writes among the
    /// manifests), which a streaming reader would not see again.
    public struct Head: Sendable {
        public var catalog: ArchiveCatalog
        public var blobs: [Digest: [UInt8]]
        /// The keys and trusted root saved with the images (`dray-trust/`), if any.
        public var trust = IncludedTrust()
    }

    /// Reads entries until `index.json` and every manifest reachable from it are known, leaving `reader` at the
    /// entry after. Small blobs met on the way are kept; nothing after the last manifest is read.
    public static func readHead(_ reader: TarReader, path: String) throws -> Head {
        var index: ImageIndex?
        var small: [Digest: [UInt8]] = [:]
        var manifests: [Digest: RawManifest] = [:]
        var needed = Set<Digest>()

        func resolve() throws {
            var progress = true
            while progress {
                progress = false
                for d in needed where manifests[d] == nil {
                    guard let bytes = small[d] else { continue }
                    let m = try RawManifest(bytes: bytes, mediaType: nil, expecting: d)
                    manifests[d] = m
                    progress = true
                    if case .index(let i) = try m.parsed() { needed.formUnion(i.manifests.map(\.digest)) }
                }
            }
        }

        var trust = IncludedTrust()
        while let entry = try reader.next() {
            guard entry.kind == .file else { continue }
            if entry.name.hasPrefix("\(IncludedTrust.folder)/") {
                let name = String(entry.name.dropFirst(IncludedTrust.folder.count + 1))
                if IncludedTrust.isSafe(name) {
                    guard trust.files[name] == nil, trust.files.count < IncludedTrust.maxFiles else {
                        throw LayoutError(path: "\(path): \(entry.name)", reason: "a repeated trust file, or more than \(IncludedTrust.maxFiles)")
                    }
                    trust.files[name] = try readAll(reader, limit: IncludedTrust.maxSize, name: entry.name)
                }
                continue
            }
            if entry.name == "index.json" {
                let bytes = try readAll(reader, limit: RawManifest.maxSize, name: "\(path): index.json")
                do { index = try JSONDecoder().decode(ImageIndex.self, from: Data(bytes)) } catch {
                    throw LayoutError(path: "\(path): index.json", reason: "not a valid image index")
                }
                needed.formUnion(index!.manifests.map(\.digest))
                try resolve()
            } else if let d = blobDigest(entry.name), entry.size <= Int64(RawManifest.maxSize) {
                small[d] = try readAll(reader, limit: RawManifest.maxSize, name: entry.name)
                try resolve()
            }
            // Every manifest is known: the rest (layers) is not needed here.
            if index != nil, !needed.isEmpty, needed.allSatisfy({ manifests[$0] != nil }) { break }
        }
        guard let index else { throw ReadError.notOCI(path) }
        try resolve()
        if let missing = needed.first(where: { manifests[$0] == nil }) {
            throw LayoutError(path: path, reason: "manifest \(missing) is missing from the archive")
        }
        for d in manifests.keys { small[d] = nil }
        return Head(catalog: ArchiveCatalog(index: index, manifests: manifests), blobs: small, trust: trust)
    }

    /// Why an archive's catalog cannot be read.
    public enum ReadError: Error, CustomStringConvertible {
        /// No `index.json`: not an OCI image archive (perhaps a `docker save` one).
        case notOCI(String)

        public var description: String {
            switch self {
            case .notOCI(let path): "\(path): no index.json: not an OCI image archive (nor a docker save archive)"
            }
        }
    }

    /// The digest a `blobs/ALGORITHM/HEX` entry names.
    static func blobDigest(_ name: String) -> Digest? {
        let parts = name.split(separator: "/")
        guard parts.count == 3, parts[0] == "blobs" else { return nil }
        return try? Digest(parsing: "\(parts[1]):\(parts[2])")
    }

    /// The whole content of the current entry, failing past `limit` bytes.
    static func readAll(_ reader: TarReader, limit: Int, name: String) throws -> [UInt8] {
        var out: [UInt8] = []
        while let c = try reader.readContent(max: 1 << 20) {
            out += c
            guard out.count <= limit else { throw LayoutError(path: name, reason: "larger than \(limit) bytes") }
        }
        return out
    }


    /// The entries that are attachment entries (`REPO:sha256-<hex>`, `….sig`, `.att`, `.sbom`), not images.
    public var attachments: [Descriptor] {
        index.manifests.filter { OCILayout.name(of: $0).map(LayoutNaming.isAttachment) ?? false }
    }

    /// The named images with their platforms and sizes (signature attachments are not images).
    public func images() throws -> [Image] {
        try index.manifests.filter { !(OCILayout.name(of: $0).map(LayoutNaming.isAttachment) ?? false) }.map { entry in
            let name = OCILayout.name(of: entry) ?? entry.digest.description
            var platforms: [String] = []
            var size: Int64 = 0
            var seen = Set<Digest>()
            func add(_ d: Digest) throws {
                guard seen.insert(d).inserted, let m = manifests[d] else { return }
                size += Int64(m.bytes.count)
                switch try m.parsed() {
                case .index(let i):
                    platforms += i.manifests.compactMap { $0.platform?.description }
                    for c in i.manifests { try add(c.digest) }
                case .image(let im):
                    for b in im.blobs where seen.insert(b.digest).inserted { size += b.size }
                case .schema1: break
                }
            }
            try add(entry.digest)
            let subjects = try manifests[entry.digest].map(LayoutAttachments.subjects(of:)) ?? [entry.digest]
            return Image(name: name, digest: entry.digest.description, mediaType: entry.mediaType.rawValue,
                         platforms: platforms, size: size, attachments: attachments(of: name, subjects: subjects))
        }
    }
}
