import Engine
import FoundationEssentials

/// Signs manifest digests cosign's way, appending to the `.sig` attachment of the image's repository.
public struct Signer: Sendable {
    public let key: SigningKey
    let publicKey: VerificationKey
    /// Recorded in each payload's `optional.creator`.
    public let creator: String

    public init(key: SigningKey, creator: String) throws {
        self.key = key
        self.publicKey = try key.publicKey()
        self.creator = creator
    }

    /// What signing did.
    public enum Outcome: Sendable, Equatable {
        case signed
        /// This key had already signed this digest for this identity: nothing was added.
        case alreadySigned
    }

    /// Signs `digest` as `identity` (a reference, normally with its tag) in `store`.
    public func sign(_ digest: Digest, identity: String, in store: any SignatureStore) async throws -> Outcome {
        let tag = SignatureAttachment.tag(for: digest)
        var layers: [Descriptor] = []
        if let existing = try await store.manifest(tagged: tag) {
            for layer in try SignatureManifest.layers(of: existing) {
                layers.append(layer.descriptor)
                guard let sig = layer.signature, layer.descriptor.size <= 1 << 20 else { continue }
                let payload = try await store.blob(layer.descriptor)
                if Self.digest(payload) == layer.descriptor.digest, publicKey.verify(sig, over: payload),
                   let p = SimpleSigningPayload.parse(payload),
                   p.critical.image.dockerManifestDigest == digest.description, p.critical.identity.dockerReference == identity {
                    return .alreadySigned
                }
            }
        }
        let payload = try SimpleSigningPayload(reference: identity, digest: digest, creator: creator).encoded()
        let signature = try key.sign(payload)
        let layer = Descriptor(mediaType: SignatureAttachment.layerType, digest: Self.digest(payload), size: Int64(payload.count),
                               annotations: [SignatureAttachment.signatureAnnotation: Data(signature).base64EncodedString()])
        layers.append(layer)
        let (manifest, config) = try SignatureAttachment.build(layers: layers)
        try await store.putBlob(layer, bytes: payload)
        try await store.putBlob(Descriptor(mediaType: .ociConfig, digest: Self.digest(config), size: Int64(config.count)), bytes: config)
        try await store.putManifest(manifest, tagged: tag)
        return .signed
    }

    static func digest(_ bytes: [UInt8]) -> Digest {
        var h = Hasher256()
        h.update(bytes)
        return h.finalize()
    }
}
