import Engine
import FoundationEssentials

/// Checks an image's cosign signatures against public keys.
///
/// A signature counts when its layer is a simple-signing layer, its payload blob has the layer's digest, the
/// signature verifies over the exact payload bytes with one of the keys, the payload's
/// `docker-manifest-digest` is the digest being verified, and its `docker-reference` passes the identity rule.
/// Other layers (attachments that are not signatures) are skipped, never accepted.
public struct Verifier: Sendable {
    public let keys: [VerificationKey]
    public let identity: IdentityRule

    public init(keys: [VerificationKey], identity: IdentityRule = .repoDigestOrExact) {
        self.keys = keys
        self.identity = identity
    }

    /// The verdict for one manifest.
    public enum Verdict: Sendable, Equatable {
        /// Signed: how many signatures passed, and the identity of the first.
        case pass(signatures: Int, identity: String)
        case fail(Failure)

        public var passed: Bool { if case .pass = self { true } else { false } }
    }

    /// Why an image fails, from least to most specific.
    public enum Failure: Sendable, Equatable, CustomStringConvertible {
        case unsigned
        case badSignature
        case digestMismatch(signed: String)
        case identityMismatch(signed: String)

        public var description: String {
            switch self {
            case .unsigned: "unsigned (no signature)"
            case .badSignature: "bad signature (none verifies with the given key)"
            case .digestMismatch(let s): "digest mismatch (the signature is for \(s))"
            case .identityMismatch(let s): "identity mismatch (signed as \(s))"
            }
        }

        var rank: Int {
            switch self {
            case .unsigned: 0
            case .badSignature: 1
            case .digestMismatch: 2
            case .identityMismatch: 3
            }
        }
    }

    /// Verifies the manifest `digest` of the image named `image`, reading signatures from `store`.
    public func verify(_ digest: Digest, image: Reference, in store: any SignatureStore) async throws -> Verdict {
        guard let sigManifest = try await store.manifest(tagged: SignatureAttachment.tag(for: digest)) else {
            return .fail(.unsigned)
        }
        var payloads: [(payload: [UInt8], signature: [UInt8])] = []
        for layer in try SignatureManifest.layers(of: sigManifest) {
            guard let sig = layer.signature, layer.descriptor.size <= 1 << 20 else { continue }
            let payload = try await store.blob(layer.descriptor)
            guard Signer.digest(payload) == layer.descriptor.digest else { continue }
            payloads.append((payload, sig))
        }
        return evaluate(payloads, digest: digest, image: image)
    }

    /// The verdict over signature payloads already fetched (e.g. from a `dir:` copy or an archive).
    public func evaluate(_ payloads: [(payload: [UInt8], signature: [UInt8])], digest: Digest, image: Reference) -> Verdict {
        guard !payloads.isEmpty else { return .fail(.unsigned) }
        var worst = Failure.badSignature
        var passed: [String] = []
        for (payload, sig) in payloads {
            guard keys.contains(where: { $0.verify(sig, over: payload) }),
                  let p = SimpleSigningPayload.parse(payload), p.critical.type == SimpleSigningPayload.signatureType
            else { continue }
            guard p.critical.image.dockerManifestDigest == digest.description else {
                if worst.rank < 2 { worst = .digestMismatch(signed: p.critical.image.dockerManifestDigest) }
                continue
            }
            guard identity.accepts(signed: p.critical.identity.dockerReference, for: image) else {
                worst = .identityMismatch(signed: p.critical.identity.dockerReference)
                continue
            }
            passed.append(p.critical.identity.dockerReference)
        }
        if let first = passed.first { return .pass(signatures: passed.count, identity: first) }
        return .fail(worst)
    }
}
