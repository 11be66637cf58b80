import Engine
import FoundationEssentials

/// Which signature formats `sign` and `mirror --sigstore-private-key` write.
public enum SignatureFormat: String, CaseIterable, Sendable {
    /// A Sigstore bundle stored as an OCI 1.1 referrer (cosign v3, Kyverno, policy-controller read it).
    case bundle
    /// cosign's legacy simple-signing payload under `sha256-<hex>.sig` (CRI-O/podman policies, OpenShift).
    case simplesigning
    /// Both, while the ecosystem moves.
    case both

    public var writesBundle: Bool { self != .simplesigning }
    public var writesSimpleSigning: Bool { self != .bundle }
}

/// Signs manifest digests as cosign v3 does, offline: a Sigstore bundle v0.3 whose DSSE envelope carries an in-toto
/// statement v1 (predicate type `https://sigstore.dev/cosign/sign/v1`, the manifest digest as its subject), signed
/// with the cosign key and naming it by hint, with no transparency-log entry (nothing leaves the machine). The
/// bundle is pushed as a referrer of the manifest: an OCI image manifest with the empty config, the bundle as its one
/// layer, the bundle's media type as `artifactType`, and the manifest as `subject`; where the registry has no
/// referrers API, the subject's fallback tag lists it.
public struct BundleSigner: Sendable {
    public static let predicateType = "https://sigstore.dev/cosign/sign/v1"
    public static let statementType = "https://in-toto.io/Statement/v1"
    public static let payloadType = "application/vnd.in-toto+json"
    /// The empty config every bundle referrer has (`{}`).
    static let emptyConfig: [UInt8] = Array("{}".utf8)

    let key: SigningKey
    let publicKey: PublicKey
    /// The key's hint in bundles: base64 of the SHA-256 of its DER public key.
    public let hint: String

    public init(key: SigningKey) throws {
        self.key = key
        guard let pub = PublicKey(spki: try key.publicKeyDER()) else { throw SignatureError.openssl("public key") }
        publicKey = pub
        hint = Data(SigstoreHash.sha256(pub.der)).base64EncodedString()
    }

    /// The in-toto statement signed for the manifest `digest` of the image named `name`.
    public func statement(for digest: Digest, name: String) throws -> [UInt8] {
        let object: JSONValue = [
            "_type": .string(Self.statementType),
            "subject": [["name": .string(name), "digest": .object([digest.algorithm.rawValue: .string(digest.hex)])]],
            "predicateType": .string(Self.predicateType),
            "predicate": .object([:]),
        ]
        return object.serialized()
    }

    /// A bundle (JSON) signing the manifest `digest` of the image named `name`.
    public func bundle(for digest: Digest, name: String) throws -> [UInt8] {
        let payload = try statement(for: digest, name: name)
        let pae = Array("DSSEv1 \(Self.payloadType.utf8.count) \(Self.payloadType) \(payload.count) ".utf8) + payload
        let signature = try key.sign(pae)
        let object: JSONValue = [
            "mediaType": .string(SigstoreBundle.mediaTypeV03),
            // An empty list rather than none: protobuf-JSON readers accept both, sigstore-python's models only this.
            "verificationMaterial": ["publicKey": ["hint": .string(hint)], "tlogEntries": []],
            "dsseEnvelope": [
                "payload": .string(Data(payload).base64EncodedString()),
                "payloadType": .string(Self.payloadType),
                "signatures": [["sig": .string(Data(signature).base64EncodedString())]],
            ],
        ]
        return object.serialized()
    }

    /// The referrer manifest holding `bundle` for `subject`.
    public static func referrer(bundle: [UInt8], subject: Descriptor, created: Date) throws -> RawManifest {
        let stamp = InternetTime.rfc3339(created)
        let object: JSONValue = [
            "schemaVersion": 2,
            "mediaType": .string(MediaType.ociManifest.rawValue),
            "artifactType": .string(SigstoreBundle.mediaTypeV03),
            "config": ["mediaType": .string(MediaType.ociEmpty.rawValue), "digest": .string(Digest.sha256(of: emptyConfig).description),
                       "size": JSONValue(emptyConfig.count)],
            "layers": [["mediaType": .string(SigstoreBundle.mediaTypeV03), "digest": .string(Digest.sha256(of: bundle).description),
                        "size": JSONValue(bundle.count)]],
            "subject": ["mediaType": .string(subject.mediaType.rawValue), "digest": .string(subject.digest.description),
                        "size": JSONValue(subject.size)],
            "annotations": [
                "dev.sigstore.bundle.content": "dsse-envelope",
                "dev.sigstore.bundle.predicateType": .string(predicateType),
                "org.opencontainers.image.created": .string(stamp),
            ],
        ]
        return try RawManifest(bytes: object.serialized(), mediaType: .ociManifest)
    }

    /// Whether `bundle` (JSON) is a signature of the manifest `digest` by this key.
    public func signs(_ bundle: [UInt8], digest: Digest) -> Bool {
        guard let parsed = try? SigstoreBundle(json: bundle), let bytes = BundleVerifier.bytes(ofHex: digest.hex) else { return false }
        var verifier = BundleVerifier(trustedRoot: .empty, policy: .key(publicKey))
        verifier.ignoresTransparencyLog = true
        verifier.requiredPredicateType = Self.predicateType
        return (try? verifier.verify(parsed, artifact: .sha256(bytes))) != nil
    }

    /// Signs the manifest `digest` of `image` at its destination, unless a bundle of this key already signs it there.
    public func sign(_ digest: Digest, image: Reference, destination: @escaping @Sendable (Reference) -> any ImageDestination,
                     retry: Retrier) async throws -> Signer.Outcome {
        let dst = destination(image)
        let existing = try await BundleReferrers.list(digest, image: image, destination: destination, retry: retry)
        if existing.contains(where: { signs($0.bundle, digest: digest) }) { return .alreadySigned }
        let subject = try await retry.run("\(image.name)@\(digest)") { try await dst.manifest(.digest(digest)) }
        let bundle = try bundle(for: digest, name: image.name)
        let manifest = try Self.referrer(bundle: bundle, subject: Descriptor(mediaType: subject.mediaType, digest: digest,
                                                                              size: Int64(subject.bytes.count)), created: Date())
        for (bytes, type) in [(Self.emptyConfig, MediaType.ociEmpty), (bundle, MediaType(rawValue: SigstoreBundle.mediaTypeV03))] {
            let d = Descriptor(mediaType: type, digest: Digest.sha256(of: bytes), size: Int64(bytes.count))
            try await retry.run("\(image.name): bundle blob") {
                if try await dst.blobExists(d) { return }
                try await dst.putBlob(d, from: MemoryBlobStream(bytes))
            }
        }
        let indexing = try await retry.run("\(image.name)@\(manifest.digest): put bundle") { try await dst.putReferrer(manifest) }
        if indexing == .notIndexed {
            let tagged = destination(image.withTag(AttachmentTag.fallback(for: digest)))
            _ = try await ReferrersFallback.add([try ReferrersIndex.entry(for: manifest)], subject: digest, tagged: tagged, retry: retry)
        }
        return .signed
    }
}
