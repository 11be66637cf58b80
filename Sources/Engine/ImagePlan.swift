import Foundation

/// Everything one copy moves: the top manifest as it will be written, the child manifests, and the blobs.
public struct ImagePlan: Sendable {
    /// The manifest written under the destination tag: the source's exact bytes, or a filtered index.
    public var top: RawManifest
    /// The source's top manifest digest (differs from `top.digest` only when the index was filtered).
    public var sourceDigest: Digest
    /// Child manifests (platform images of an index), in index order, each written by digest before the top.
    public var children: [RawManifest]
    /// Unique blobs to copy, largest first.
    public var blobs: [Descriptor]
    /// Platforms selected from an index (empty for a single image).
    public var platforms: [Platform]
    /// Whether the index was rewritten because some platforms were left out.
    public var filtered: Bool
}

/// What a copy achieved.
public struct CopyReport: Sendable, Hashable {
    /// Digest of the manifest written under the destination tag.
    public var digest: Digest
    public var mediaType: MediaType
    public var manifests: Int
    public var blobsCopied: Int
    public var blobsMounted: Int
    public var blobsPresent: Int
    /// Bytes streamed from source to destination.
    public var bytesCopied: Int64
    /// Whether the index was rewritten to drop unselected platforms.
    public var filtered: Bool
}

/// Why an image cannot be copied.
public enum CopyError: Error, Sendable, CustomStringConvertible {
    case noMatchingPlatform(PlatformFilter, available: [String])
    case schema1(String)
    case tooDeep

    public var description: String {
        switch self {
        case .noMatchingPlatform(let f, let available):
            "no platform matches \(f) (the index has \(available.isEmpty ? "none" : available.joined(separator: ", ")))"
        case .schema1(let what):
            "schema 1 is not supported: \(what) is a Docker schema 1 manifest, which dray can inspect but not copy; push it again with a current tool"
        case .tooDeep: "nested indexes deeper than 4 levels"
        }
    }
}

extension RawManifest {
    /// An index with only the given entries of `manifests`; every other field is kept as it was. This is a
    /// deliberate rewrite: the result has a new digest.
    public func filteringIndex(keeping digests: Set<Digest>) throws -> RawManifest {
        guard var object = try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
              let entries = object["manifests"] as? [[String: Any]]
        else { throw ManifestError.invalidJSON("index has no manifests array") }
        object["manifests"] = entries.filter { e in
            (e["digest"] as? String).flatMap { try? Digest(parsing: $0) }.map(digests.contains) ?? false
        }
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        return try RawManifest(bytes: Array(data), mediaType: mediaType)
    }
}
