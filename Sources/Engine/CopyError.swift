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
        guard case .object(var object) = try? JSONValue(parsing: bytes), let entries = object["manifests"]?.array
        else { throw ManifestError.invalidJSON("index has no manifests array") }
        object["manifests"] = .array(entries.filter { $0.listsDigest(in: digests) })
        return try RawManifest(bytes: JSONValue.object(object).serialized(), mediaType: mediaType)
    }
}

extension JSONValue {
    /// Whether this (an index entry) names one of `digests`.
    func listsDigest(in digests: Set<Digest>) -> Bool {
        self["digest"]?.string.flatMap { try? Digest(parsing: $0) }.map(digests.contains) ?? false
    }
}
