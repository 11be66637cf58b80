import FoundationEssentials
import Synchronization

/// A manifest exactly as it travels: its bytes, its media type and the digest of those bytes.
///
/// The digest is computed over `bytes` (for a signed Docker schema 1 manifest, over its JWS payload: the bytes
/// without the signatures, which a registry makes anew on every GET). dray never re-serialises a manifest unless a
/// command deliberately rewrites it (and then the result is a new `RawManifest` with a new digest).
public struct RawManifest: Sendable, Hashable {
    /// Registries cap manifests at 4 MiB; so does dray when reading them.
    public static let maxSize = 4 * 1024 * 1024

    public let bytes: [UInt8]
    public let mediaType: MediaType
    public let digest: Digest
    /// `parsed()`'s answer, worked out once: a mirror asks for it several times per manifest.
    private let parsing = ParsedOnce()

    /// Wraps manifest bytes. The media type is the one the transport reported (e.g. `Content-Type`), or, when that
    /// is missing or generic, the one the JSON declares or its shape implies.
    public init(bytes: [UInt8], mediaType reported: MediaType?) throws(ManifestError) {
        guard bytes.count <= Self.maxSize else { throw .tooLarge(bytes.count) }
        self.bytes = bytes
        let mediaType = if let reported, reported.isManifest { reported } else { try Self.sniff(bytes) }
        self.mediaType = mediaType
        self.digest = Digest.sha256(of: Self.digested(bytes, mediaType))
    }

    /// The bytes a manifest's digest covers: all of them, or a signed schema 1 manifest's JWS payload.
    static func digested(_ bytes: [UInt8], _ mediaType: MediaType) -> [UInt8] {
        guard mediaType.isSchema1, let payload = Schema1Signatures.payload(of: bytes) else { return bytes }
        return payload
    }

    /// Wraps bytes whose digest must equal `expected` (content fetched by digest).
    public init(bytes: [UInt8], mediaType: MediaType?, expecting expected: Digest) throws(ManifestError) {
        try self.init(bytes: bytes, mediaType: mediaType)
        if expected.algorithm != .sha256 {
            var h = Hasher256(algorithm: expected.algorithm)
            h.update(Self.digested(bytes, self.mediaType))
            let actual = h.finalize()
            guard actual == expected else { throw .digestMismatch(expected: expected, actual: actual) }
        } else if digest != expected {
            throw .digestMismatch(expected: expected, actual: digest)
        }
    }

    /// Works out a manifest's media type from its JSON: the `mediaType` field, or the shape.
    static func sniff(_ bytes: [UInt8]) throws(ManifestError) -> MediaType {
        let probe: Probe
        do {
            probe = try JSONDecoder().decode(Probe.self, from: Data(bytes))
        } catch {
            throw .invalidJSON(String(describing: error).prefix(200).description)
        }
        if let m = probe.mediaType, m.isManifest { return m }
        if probe.schemaVersion == 1 { return probe.signatures != nil ? .dockerSchema1Signed : .dockerSchema1 }
        if probe.manifests != nil { return .ociIndex }
        if probe.config != nil { return .ociManifest }
        throw .unknownMediaType(probe.mediaType?.rawValue ?? "(none)")
    }

    private struct Probe: Decodable {
        var schemaVersion: Int?
        var mediaType: MediaType?
        var manifests: [AnyDecodable]?
        var config: AnyDecodable?
        var signatures: [AnyDecodable]?
    }

    private struct AnyDecodable: Decodable {
        init(from decoder: any Decoder) throws {}
    }

    /// A descriptor for this manifest.
    public func descriptor(platform: Platform? = nil) -> Descriptor {
        Descriptor(mediaType: mediaType, digest: digest, size: Int64(bytes.count), platform: platform)
    }

    /// Parses the manifest according to its media type.
    public func parsed() throws(ManifestError) -> ManifestContent {
        try parsing.value { () throws(ManifestError) in try parse() }.get()
    }

    private func parse() throws(ManifestError) -> ManifestContent {
        do {
            if mediaType.isIndex {
                return .index(try JSONDecoder().decode(ImageIndex.self, from: Data(bytes)))
            } else if mediaType.isImageManifest {
                return .image(try JSONDecoder().decode(ImageManifest.self, from: Data(bytes)))
            } else if mediaType.isSchema1 {
                return .schema1(try JSONDecoder().decode(Schema1Manifest.self, from: Data(bytes)))
            }
        } catch {
            throw .invalidJSON("\(mediaType): \(String(describing: error).prefix(300))")
        }
        throw .unknownMediaType(mediaType.rawValue)
    }
}

extension RawManifest {
    public static func == (a: RawManifest, b: RawManifest) -> Bool {
        a.digest == b.digest && a.mediaType == b.mediaType && a.bytes == b.bytes
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(digest)
        hasher.combine(mediaType)
    }
}

/// A manifest's parse result, computed by the first caller and shared by copies of the manifest.
private final class ParsedOnce: Sendable {
    private let result = Mutex<Result<ManifestContent, ManifestError>?>(nil)

    func value(_ make: () throws(ManifestError) -> ManifestContent) -> Result<ManifestContent, ManifestError> {
        if let r = result.withLock({ $0 }) { return r }
        let r: Result<ManifestContent, ManifestError>
        do { r = .success(try make()) } catch { r = .failure(error) }
        result.withLock { $0 = r }
        return r
    }
}

/// The parsed content of a manifest.
public enum ManifestContent: Sendable {
    case image(ImageManifest)
    case index(ImageIndex)
    case schema1(Schema1Manifest)
}

/// An OCI image manifest or Docker schema 2 manifest.
public struct ImageManifest: Sendable, Codable, Hashable {
    public var schemaVersion: Int
    public var mediaType: MediaType?
    public var artifactType: String?
    public var config: Descriptor
    public var layers: [Descriptor]
    public var subject: Descriptor?
    public var annotations: [String: String]?

    public init(schemaVersion: Int = 2, mediaType: MediaType?, artifactType: String? = nil, config: Descriptor,
                layers: [Descriptor], subject: Descriptor? = nil, annotations: [String: String]? = nil) {
        self.schemaVersion = schemaVersion
        self.mediaType = mediaType
        self.artifactType = artifactType
        self.config = config
        self.layers = layers
        self.subject = subject
        self.annotations = annotations
    }

    /// Config first, then layers: every blob the manifest references.
    public var blobs: [Descriptor] { [config] + layers }
}

/// An OCI image index or Docker manifest list.
public struct ImageIndex: Sendable, Codable, Hashable {
    public var schemaVersion: Int
    public var mediaType: MediaType?
    public var artifactType: String?
    public var manifests: [Descriptor]
    public var subject: Descriptor?
    public var annotations: [String: String]?

    public init(schemaVersion: Int = 2, mediaType: MediaType?, manifests: [Descriptor],
                annotations: [String: String]? = nil) {
        self.schemaVersion = schemaVersion
        self.mediaType = mediaType
        self.manifests = manifests
        self.annotations = annotations
    }
}

/// A Docker schema 1 manifest, read for inspection only: registries no longer accept them and dray never writes one.
public struct Schema1Manifest: Sendable, Codable, Hashable {
    public struct FSLayer: Sendable, Codable, Hashable { public var blobSum: Digest }
    public var schemaVersion: Int
    public var name: String?
    public var tag: String?
    public var architecture: String?
    public var fsLayers: [FSLayer]
}

/// Why bytes are not a usable manifest.
public enum ManifestError: Error, Sendable, Equatable, CustomStringConvertible {
    case tooLarge(Int)
    case invalidJSON(String)
    case unknownMediaType(String)
    case digestMismatch(expected: Digest, actual: Digest)
    case unsupported(String)

    public var description: String {
        switch self {
        case .tooLarge(let n): "manifest of \(n) bytes exceeds the \(RawManifest.maxSize)-byte limit"
        case .invalidJSON(let why): "manifest is not valid JSON: \(why)"
        case .unknownMediaType(let m): "unknown manifest media type \"\(m.prefix(120))\""
        case .digestMismatch(let e, let a): "manifest digest mismatch: expected \(e), got \(a)"
        case .unsupported(let why): why
        }
    }
}
