import FoundationEssentials

/// A Sigstore bundle (media types v0.1, v0.2 and v0.3): what was signed (a message signature or a DSSE envelope)
/// and the material to verify it offline (a key hint, a certificate or chain, transparency-log entries and RFC 3161
/// timestamps). Read strictly: an unknown version, a wrong type or bad base64 is refused with the field named.
public struct SigstoreBundle: Sendable {
    /// The bundle format versions dray reads.
    public enum Version: String, Sendable, Comparable {
        case v01 = "0.1", v02 = "0.2", v03 = "0.3"
        public static func < (a: Version, b: Version) -> Bool { a.rawValue < b.rawValue }
    }

    /// The media type of a v0.3 bundle as cosign v3 writes it (also the OCI artifact type of a bundle referrer).
    public static let mediaTypeV03 = "application/vnd.dev.sigstore.bundle.v0.3+json"

    public var mediaType: String
    public var version: Version
    public var material: VerificationMaterial
    public var content: Content

    /// What the bundle signs.
    public enum Content: Sendable {
        /// A signature over an artifact, with the artifact's digest.
        case message(digest: MessageDigest?, signature: [UInt8])
        case dsse(DSSEEnvelope)
    }

    /// A digest as bundles name it (`SHA2_256`).
    public struct MessageDigest: Sendable, Equatable {
        public var algorithm: String
        public var digest: [UInt8]
    }

    /// How to check the signature, and the evidence of when it was made.
    public struct VerificationMaterial: Sendable {
        /// Who signed: a key known to the verifier (by its hint), or a certificate (v0.3), or a chain leaf first
        /// (v0.1, v0.2).
        public enum Signer: Sendable {
            case publicKey(hint: String?)
            case certificate([UInt8])
            case chain([[UInt8]])
        }
        public var signer: Signer
        public var tlogEntries: [TransparencyLogEntry]
        /// DER RFC 3161 timestamps over the signature.
        public var timestamps: [[UInt8]]
    }

    /// One transparency-log entry.
    public struct TransparencyLogEntry: Sendable {
        public var logIndex: Int64
        /// The log's key ID (SHA-256 of its DER public key for Rekor v1).
        public var logID: [UInt8]
        public var kind: String
        public var kindVersion: String
        /// When the log says it took the entry (Rekor v1; 0 or absent for v2).
        public var integratedTime: Int64?
        /// Rekor v1's signed entry timestamp.
        public var signedEntryTimestamp: [UInt8]?
        public var inclusionProof: InclusionProof?
        /// The entry as the log stored it.
        public var canonicalizedBody: [UInt8]
        /// The same, as the base64 text the bundle holds (what a signed entry timestamp covers).
        public var canonicalizedBodyText: String
    }

    /// A Merkle inclusion proof with the log's checkpoint.
    public struct InclusionProof: Sendable {
        public var logIndex: Int64
        public var rootHash: [UInt8]
        public var treeSize: Int64
        public var hashes: [[UInt8]]
        public var checkpoint: String
    }

    /// The largest bundle read.
    public static let maxSize = 16 << 20

    /// Reads a bundle's JSON.
    public init(json bytes: [UInt8]) throws {
        let root = try SigstoreJSON(parsing: bytes, limit: Self.maxSize, what: "the bundle")
        mediaType = try root.string("mediaType")
        guard let v = Self.version(of: mediaType) else {
            throw SigstoreFormatError("mediaType \"\(mediaType.prefix(80))\" is not a bundle version dray reads (0.1, 0.2, 0.3)")
        }
        version = v
        let vm = try root.object("verificationMaterial")
        let signer: VerificationMaterial.Signer
        if let key = try vm.optionalObject("publicKey") {
            signer = .publicKey(hint: try key.optionalString("hint"))
        } else if let cert = try vm.optionalObject("certificate") {
            signer = .certificate(try cert.bytes("rawBytes"))
        } else if let chain = try vm.optionalObject("x509CertificateChain") {
            let certs = try chain.objects("certificates").map { try $0.bytes("rawBytes") }
            guard !certs.isEmpty else { throw SigstoreFormatError("verificationMaterial.x509CertificateChain has no certificates") }
            signer = .chain(certs)
        } else {
            throw SigstoreFormatError("verificationMaterial has no publicKey, certificate or x509CertificateChain")
        }
        let entries = try vm.objects("tlogEntries").map(Self.entry)
        let timestamps = try (try vm.optionalObject("timestampVerificationData")?.objects("rfc3161Timestamps") ?? [])
            .map { try $0.bytes("signedTimestamp") }
        material = VerificationMaterial(signer: signer, tlogEntries: entries, timestamps: timestamps)

        if let m = try root.optionalObject("messageSignature") {
            let digest = try m.optionalObject("messageDigest").map {
                MessageDigest(algorithm: try $0.string("algorithm"), digest: try $0.bytes("digest"))
            }
            content = .message(digest: digest, signature: try m.bytes("signature"))
        } else if let d = try root.optionalObject("dsseEnvelope") {
            content = .dsse(try DSSEEnvelope(d))
        } else {
            throw SigstoreFormatError("the bundle has neither messageSignature nor dsseEnvelope")
        }
    }

    /// The version a bundle media type names, or nil.
    static func version(of mediaType: String) -> Version? {
        switch mediaType {
        case "application/vnd.dev.sigstore.bundle+json;version=0.1": .v01
        case "application/vnd.dev.sigstore.bundle+json;version=0.2": .v02
        case "application/vnd.dev.sigstore.bundle+json;version=0.3", mediaTypeV03: .v03
        default: nil
        }
    }

    static func entry(_ e: SigstoreJSON) throws -> TransparencyLogEntry {
        let logIndex = try e.int64("logIndex")
        guard logIndex >= 0 else { throw SigstoreFormatError("\(e.name("logIndex")) is negative") }
        let kv = try e.object("kindVersion")
        let bodyText = try e.string("canonicalizedBody")
        guard let body = SigstoreJSON.base64(bodyText) else { throw SigstoreFormatError("\(e.name("canonicalizedBody")) is not valid base64") }
        var proof: InclusionProof?
        if let p = try e.optionalObject("inclusionProof") {
            let index = try p.int64("logIndex"), size = try p.int64("treeSize")
            guard index >= 0, size >= 0 else { throw SigstoreFormatError("\(p.path) has a negative index or size") }
            proof = InclusionProof(logIndex: index, rootHash: try p.bytes("rootHash"), treeSize: size,
                                   hashes: try p.strings("hashes").enumerated().map { i, h in
                                       guard let b = SigstoreJSON.base64(h) else { throw SigstoreFormatError("\(p.name("hashes"))[\(i)] is not valid base64") }
                                       return b
                                   },
                                   checkpoint: try p.object("checkpoint").string("envelope"))
        }
        let integrated = try e.optionalInt64("integratedTime")
        if let integrated, integrated < 0 { throw SigstoreFormatError("\(e.name("integratedTime")) is negative") }
        return TransparencyLogEntry(logIndex: logIndex, logID: try e.object("logId").bytes("keyId"), kind: try kv.string("kind"),
                                    kindVersion: try kv.string("version"), integratedTime: integrated,
                                    signedEntryTimestamp: try e.optionalObject("inclusionPromise")?.bytes("signedEntryTimestamp"),
                                    inclusionProof: proof, canonicalizedBody: body, canonicalizedBodyText: bodyText)
    }
}

/// A DSSE envelope: a typed payload and signatures over its pre-authentication encoding.
public struct DSSEEnvelope: Sendable {
    public var payload: [UInt8]
    public var payloadType: String
    public var signatures: [(keyID: String?, signature: [UInt8])]

    init(_ d: SigstoreJSON) throws {
        payload = try d.bytes("payload")
        payloadType = try d.string("payloadType")
        signatures = try d.objects("signatures").map { (try $0.optionalString("keyid"), try $0.bytes("sig")) }
        guard !signatures.isEmpty else { throw SigstoreFormatError("\(d.name("signatures")) is empty") }
    }

    /// What each signature covers: `DSSEv1 <len(type)> <type> <len(payload)> <payload>`.
    public var preAuthenticationEncoding: [UInt8] {
        Array("DSSEv1 \(payloadType.utf8.count) \(payloadType) \(payload.count) ".utf8) + payload
    }
}
