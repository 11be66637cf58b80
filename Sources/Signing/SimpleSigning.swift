import Engine
import FoundationEssentials

/// The "simple signing" payload cosign and containers/image sign: which manifest digest, under which name.
public struct SimpleSigningPayload: Sendable, Codable, Equatable {
    public struct Critical: Sendable, Codable, Equatable {
        public struct Identity: Sendable, Codable, Equatable {
            public var dockerReference: String
            enum CodingKeys: String, CodingKey { case dockerReference = "docker-reference" }
        }
        public struct Image: Sendable, Codable, Equatable {
            public var dockerManifestDigest: String
            enum CodingKeys: String, CodingKey { case dockerManifestDigest = "docker-manifest-digest" }
        }
        public var identity: Identity
        public var image: Image
        public var type: String
    }
    public struct Optional: Sendable, Codable, Equatable {
        public var creator: String?
        public var timestamp: Int64?
    }

    public static let signatureType = "cosign container image signature"

    public var critical: Critical
    public var optional: Optional?

    /// A payload for `digest` named `reference` (the repository, with its tag when signing a tag).
    public init(reference: String, digest: Digest, creator: String, timestamp: Date = Date()) {
        critical = Critical(identity: .init(dockerReference: reference), image: .init(dockerManifestDigest: digest.description),
                            type: Self.signatureType)
        optional = Optional(creator: creator, timestamp: Int64(timestamp.timeIntervalSince1970))
    }

    /// The exact bytes that get signed (keys sorted, as cosign writes them).
    public func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(self))
    }

    /// Parses signed payload bytes; nil when they are not a simple-signing payload.
    public static func parse(_ bytes: [UInt8]) -> SimpleSigningPayload? {
        guard bytes.count <= 1 << 20 else { return nil }
        return try? JSONDecoder().decode(SimpleSigningPayload.self, from: Data(bytes))
    }
}
