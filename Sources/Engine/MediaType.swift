import FoundationEssentials

/// A content media type, as found in descriptors, manifests and `Content-Type` headers.
///
/// Kept as the exact string seen on the wire (parameters stripped), with the well-known OCI and Docker types as
/// constants and helpers that classify them.
public struct MediaType: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible,
    ExpressibleByStringLiteral
{
    public let rawValue: String

    public init(rawValue: String) {
        // Drop parameters (`; charset=utf-8`) and surrounding space; media types compare case-insensitively,
        // but every registry sends them in lower case, so the exact string is kept. Most values need neither,
        // and are taken as they are (this runs for every descriptor of every manifest).
        let utf8 = rawValue.utf8
        func isSpace(_ b: UInt8?) -> Bool { b == 0x20 || b == 0x09 }
        if !utf8.contains(0x3b), !isSpace(utf8.first), !isSpace(utf8.last) {
            self.rawValue = rawValue
            return
        }
        let base = rawValue.split(separator: ";", maxSplits: 1).first.map(String.init) ?? rawValue
        self.rawValue = base.trimmingSpaces()
    }

    public init(stringLiteral value: String) { self.init(rawValue: value) }

    public init(from decoder: any Decoder) throws {
        self.init(rawValue: try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }

    public var description: String { rawValue }

    // MARK: OCI
    public static let ociManifest: MediaType = "application/vnd.oci.image.manifest.v1+json"
    public static let ociIndex: MediaType = "application/vnd.oci.image.index.v1+json"
    public static let ociConfig: MediaType = "application/vnd.oci.image.config.v1+json"
    public static let ociLayer: MediaType = "application/vnd.oci.image.layer.v1.tar"
    public static let ociLayerGzip: MediaType = "application/vnd.oci.image.layer.v1.tar+gzip"
    public static let ociLayerZstd: MediaType = "application/vnd.oci.image.layer.v1.tar+zstd"
    public static let ociLayerNondistributable: MediaType = "application/vnd.oci.image.layer.nondistributable.v1.tar"
    public static let ociLayerNondistributableGzip: MediaType =
        "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
    public static let ociLayerNondistributableZstd: MediaType =
        "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"
    public static let ociEmpty: MediaType = "application/vnd.oci.empty.v1+json"

    // MARK: Docker
    public static let dockerManifest: MediaType = "application/vnd.docker.distribution.manifest.v2+json"
    public static let dockerManifestList: MediaType = "application/vnd.docker.distribution.manifest.list.v2+json"
    public static let dockerConfig: MediaType = "application/vnd.docker.container.image.v1+json"
    public static let dockerLayer: MediaType = "application/vnd.docker.image.rootfs.diff.tar.gzip"
    public static let dockerForeignLayer: MediaType = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
    public static let dockerSchema1: MediaType = "application/vnd.docker.distribution.manifest.v1+json"
    public static let dockerSchema1Signed: MediaType = "application/vnd.docker.distribution.manifest.v1+prettyjws"

    /// Every manifest type dray reads, best first: the `Accept` list sent to registries.
    public static let acceptedManifestTypes: [MediaType] = [
        .ociIndex, .dockerManifestList, .ociManifest, .dockerManifest, .dockerSchema1Signed, .dockerSchema1,
    ]

    /// An index of manifests (OCI index or Docker manifest list).
    public var isIndex: Bool { self == .ociIndex || self == .dockerManifestList }
    /// A single-image manifest (OCI or Docker schema 2).
    public var isImageManifest: Bool { self == .ociManifest || self == .dockerManifest }
    /// A Docker schema 1 manifest, which dray reads but never writes.
    public var isSchema1: Bool { self == .dockerSchema1 || self == .dockerSchema1Signed }
    /// Any manifest type.
    public var isManifest: Bool { isIndex || isImageManifest || isSchema1 }
    /// A layer that registries may refuse to store (foreign / non-distributable); such layers are copied only when
    /// their descriptor carries no `urls` to fetch them from elsewhere.
    public var isNondistributable: Bool {
        self == .dockerForeignLayer || rawValue.hasPrefix("application/vnd.oci.image.layer.nondistributable.")
    }
}
