import FoundationEssentials

/// The image index that lists a manifest's referrers: what the referrers API answers and what the fallback tag
/// holds (distribution spec 1.1).
public enum ReferrersIndex {
    /// The descriptor a referrers list holds for `manifest`: media type, digest, size, its `artifactType` (or,
    /// for an image manifest without one, its config's media type) and all its annotations.
    public static func entry(for manifest: RawManifest) throws -> Descriptor {
        var d = manifest.descriptor()
        switch try manifest.parsed() {
        case .image(let m):
            d.artifactType = m.artifactType ?? m.config.mediaType.rawValue
            d.annotations = m.annotations
        case .index(let i):
            d.artifactType = i.artifactType
            d.annotations = i.annotations
        case .schema1:
            break
        }
        return d
    }

    /// The subject a manifest names, if any.
    public static func subject(of manifest: RawManifest) -> Digest? {
        switch try? manifest.parsed() {
        case .image(let m): m.subject?.digest
        case .index(let i): i.subject?.digest
        default: nil
        }
    }

    /// The entries of a referrers list; nil when `manifest` is not an image index (a GitLab-style "fallback tag"
    /// that resolves to the image itself, or anything else that is not a list).
    public static func entries(of manifest: RawManifest) -> [Descriptor]? {
        guard manifest.mediaType.isIndex, case .index(let i)? = try? manifest.parsed() else { return nil }
        return i.manifests
    }

    /// `existing` (a fallback index, or nil for none) with `added` appended, keeping every entry already there
    /// byte for byte; nil when it already lists them all. An `existing` that is not an index is replaced.
    public static func adding(_ added: [Descriptor], to existing: RawManifest?) throws -> RawManifest? {
        var object: [String: JSONValue] = ["schemaVersion": 2, "mediaType": .string(MediaType.ociIndex.rawValue), "manifests": []]
        var listed = Set<Digest>()
        if let existing, entries(of: existing) != nil,
           case .object(let old)? = try? JSONValue(parsing: existing.bytes),
           let entries = old["manifests"]?.array
        {
            object = old
            for e in entries { if let d = e["digest"]?.string.flatMap({ try? Digest(parsing: $0) }) { listed.insert(d) } }
        }
        var manifests = object["manifests"]?.array ?? []
        var changed = false
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        for d in added where listed.insert(d.digest).inserted {
            manifests.append(try JSONValue(parsing: encoder.encode(d)))
            changed = true
        }
        guard changed else { return nil }
        object["manifests"] = .array(manifests)
        return try RawManifest(bytes: JSONValue.object(object).serialized(), mediaType: .ociIndex)
    }
}
