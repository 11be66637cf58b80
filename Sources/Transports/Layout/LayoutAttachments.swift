import Engine

/// What a layout or archive holds attached to one of its images: the entries named beside it (see `LayoutNaming`)
/// by the subjects' attachment tags, and recursively those of the attachments.
///
/// A referrers fallback entry `sha256-<hex>` lists referrers of its subject (each a subject in turn); a cosign entry
/// `sha256-<hex>.sig`, `.att` or `.sbom` is itself attached to its subject. A fallback entry that is not a referrers
/// index lists nothing. The one walk serves what an archive of some images takes (`ArchiveSelection`) and what
/// `archive ls` shows (`ArchiveCatalog.images`).
public struct LayoutAttachments: Sendable {
    /// One attachment entry found for an image.
    public struct Entry: Sendable {
        /// The entry's name in the index.
        public var name: String
        public var descriptor: Descriptor
        /// The manifest it is attached to.
        public var subject: Digest
        /// The cosign tag kind, or nil for a referrers fallback entry.
        public var legacy: AttachmentTag.Legacy?
        /// For a fallback entry, the referrers it lists (nil when it is not a referrers index).
        public var referrers: [Descriptor]?
    }

    /// The attachment entries of the image named `name`, whose manifests are `subjects` (its top and an index's
    /// entries), in the order found (subjects first, then what is attached to attachments). `entries` are the
    /// index's entries by name; `manifest` reads a manifest by digest (nil when it is not there).
    public static func walk(image name: String, subjects: [Digest], entries: [String: Descriptor],
                            manifest: (Digest) throws -> RawManifest?) throws -> [Entry] {
        let own = LayoutNaming.reference(for: name)
        func entryName(_ tag: String) -> String {
            own.registry == LayoutNaming.standIn ? tag : own.withTag(tag).description
        }
        var out: [Entry] = []
        var queue = subjects[...]
        var seen = Set(subjects)
        while let d = queue.popFirst() {
            let fallback = entryName(AttachmentTag.fallback(for: d))
            if let e = entries[fallback] {
                let list = try manifest(e.digest).flatMap(ReferrersIndex.entries(of:))
                out.append(Entry(name: fallback, descriptor: e, subject: d, legacy: nil, referrers: list))
                for r in list ?? [] where seen.insert(r.digest).inserted { queue.append(r.digest) }
            }
            for kind in AttachmentTag.Legacy.allCases {
                let tagged = entryName(AttachmentTag.legacy(kind, for: d))
                guard let e = entries[tagged] else { continue }
                out.append(Entry(name: tagged, descriptor: e, subject: d, legacy: kind, referrers: nil))
                if seen.insert(e.digest).inserted { queue.append(e.digest) }
            }
        }
        return out
    }

    /// The subjects of the image whose top manifest is `top`: itself and, for an index, its entries.
    public static func subjects(of top: RawManifest) throws -> [Digest] {
        if case .index(let i) = try top.parsed() { return [top.digest] + i.manifests.map(\.digest) }
        return [top.digest]
    }
}
