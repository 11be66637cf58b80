/// A content descriptor: what a manifest says about one blob or child manifest.
public struct Descriptor: Hashable, Sendable, Codable {
    public var mediaType: MediaType
    public var digest: Digest
    public var size: Int64
    public var urls: [String]?
    public var annotations: [String: String]?
    public var platform: Platform?
    public var artifactType: String?

    public init(mediaType: MediaType, digest: Digest, size: Int64, urls: [String]? = nil,
                annotations: [String: String]? = nil, platform: Platform? = nil, artifactType: String? = nil) {
        self.mediaType = mediaType
        self.digest = digest
        self.size = size
        self.urls = urls
        self.annotations = annotations
        self.platform = platform
        self.artifactType = artifactType
    }

    /// Whether this is a foreign layer that lives elsewhere (has `urls`); such blobs are not copied, as Docker and
    /// containers/image leave them to the runtime.
    public var isForeign: Bool { mediaType.isNondistributable && !(urls ?? []).isEmpty }
}
