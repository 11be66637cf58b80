import Engine
import FoundationEssentials

/// A keyless signature as cosign v2 stored it in a `.sig` layer: the signature annotation, the Fulcio
/// certificate (`dev.sigstore.cosign/certificate`) and its chain (`dev.sigstore.cosign/chain`, PEM), and the
/// Rekor entry (`dev.sigstore.cosign/bundle`: the signed entry timestamp and the entry's body, time, index and log
/// ID), with an optional RFC 3161 timestamp (`dev.sigstore.cosign/rfc3161timestamp`).
///
/// It is read as the v0.1 bundle it amounts to (a message signature over the payload, the chain, one log entry
/// with its promise), so it is verified by the same `BundleVerifier`, step for step. A chain's root is left out:
/// the root comes from the trusted root, never from the signature.
public enum KeylessSignatureLayer {
    public static let certificateAnnotation = "dev.sigstore.cosign/certificate"
    public static let chainAnnotation = "dev.sigstore.cosign/chain"
    public static let bundleAnnotation = "dev.sigstore.cosign/bundle"
    public static let timestampAnnotation = "dev.sigstore.cosign/rfc3161timestamp"

    /// Whether a layer's annotations carry a keyless signature.
    public static func isKeyless(_ annotations: [String: String]?) -> Bool {
        annotations?[certificateAnnotation] != nil && annotations?[bundleAnnotation] != nil
    }

    /// The bundle a keyless layer amounts to; `signature` is the layer's DER signature, `payload` its blob.
    public static func bundle(annotations: [String: String], signature: [UInt8], payload: [UInt8]) throws -> SigstoreBundle {
        guard let certificate = annotations[certificateAnnotation], let rekor = annotations[bundleAnnotation] else {
            throw SigstoreFormatError("the layer has no certificate or Rekor bundle annotation")
        }
        var chain = try pemCertificates(certificate)
        guard chain.count == 1 else { throw SigstoreFormatError("\(certificateAnnotation) holds \(chain.count) certificates, not one") }
        chain += try pemCertificates(annotations[chainAnnotation] ?? "").filter { !isSelfIssued($0) }
        let r = try SigstoreJSON(parsing: Array(rekor.utf8), limit: 1 << 20, what: bundleAnnotation)
        let p = try r.object("Payload")
        let logID = p.has("logID") ? try p.string("logID") : ""
        guard let logIDBytes = BundleVerifier.bytes(ofHex: logID), !logIDBytes.isEmpty else {
            throw SigstoreFormatError("\(bundleAnnotation): Payload.logID is not hex")
        }
        let bodyText = try p.string("body")
        guard let body = SigstoreJSON.base64(bodyText) else { throw SigstoreFormatError("\(bundleAnnotation): Payload.body is not valid base64") }
        let kind = try SigstoreJSON(parsing: body, limit: SigstoreBundle.maxSize, what: "the Rekor entry's body")
        let logIndex = try p.int64("logIndex")
        guard logIndex >= 0 else { throw SigstoreFormatError("\(bundleAnnotation): Payload.logIndex is negative") }
        let entry = SigstoreBundle.TransparencyLogEntry(
            logIndex: logIndex, logID: logIDBytes, kind: try kind.string("kind"), kindVersion: try kind.string("apiVersion"),
            integratedTime: try p.int64("integratedTime"), signedEntryTimestamp: try r.bytes("SignedEntryTimestamp"),
            inclusionProof: nil, canonicalizedBody: body, canonicalizedBodyText: bodyText)
        var timestamps: [[UInt8]] = []
        if let ts = annotations[timestampAnnotation] {
            timestamps.append(try SigstoreJSON(parsing: Array(ts.utf8), limit: 1 << 20, what: timestampAnnotation).bytes("SignedRFC3161Timestamp"))
        }
        return SigstoreBundle(mediaType: "application/vnd.dev.sigstore.bundle+json;version=0.1", version: .v01,
                              material: .init(signer: .chain(chain), tlogEntries: [entry], timestamps: timestamps),
                              content: .message(digest: .init(algorithm: "SHA2_256", digest: SigstoreHash.sha256(payload)), signature: signature))
    }

    /// The DER certificates of PEM text.
    static func pemCertificates(_ text: String) throws -> [[UInt8]] {
        var out: [[UInt8]] = []
        var body: String?
        for line in text.split(whereSeparator: \.isNewline).map({ $0.trimmingSpaces() }) {
            if line == "-----BEGIN CERTIFICATE-----" { body = "" } else if line == "-----END CERTIFICATE-----" {
                guard let b = body, let der = SigstoreJSON.base64(b) else { throw SigstoreFormatError("a PEM certificate is not valid base64") }
                out.append(der)
                body = nil
            } else if body != nil {
                body! += line
            }
        }
        guard body == nil else { throw SigstoreFormatError("a PEM certificate has no END line") }
        return out
    }

    /// Whether a DER certificate names itself as its issuer (a root).
    static func isSelfIssued(_ der: [UInt8]) -> Bool {
        (try? Certificate(der: der))?.isSelfIssued ?? false
    }
}

extension SigstoreBundle {
    /// A bundle assembled from parts (a cosign v2 keyless signature layer).
    init(mediaType: String, version: Version, material: VerificationMaterial, content: Content) {
        self.mediaType = mediaType
        self.version = version
        self.material = material
        self.content = content
    }
}

extension BundleCheck {
    /// The keyless signatures in the `.sig` attachment of the manifest `digest` (in `store`), each checked like a
    /// bundle under this check's identity and trusted root, and its simple-signing payload naming `digest`: who
    /// signed, or why not. Empty when the attachment has none (or no identity was given).
    public func keylessSignatures(of digest: Digest, in store: any SignatureStore) async throws -> [(signer: String?, failure: String?)] {
        guard let identity, let root, let manifest = try await store.manifest(tagged: SignatureAttachment.tag(for: digest)),
              case .image(let m) = try manifest.parsed() else { return [] }
        var out: [(signer: String?, failure: String?)] = []
        for layer in m.layers where layer.mediaType == SignatureAttachment.layerType && KeylessSignatureLayer.isKeyless(layer.annotations) {
            guard let annotations = layer.annotations, let sig = annotations[SignatureAttachment.signatureAnnotation].flatMap(SigstoreJSON.base64) else {
                out.append((nil, "a keyless layer without a signature"))
                continue
            }
            do {
                let payload = try await store.blob(layer)
                guard Digest.sha256(of: payload) == layer.digest else { throw BundleVerificationError("the payload's digest is not the layer's") }
                let bundle = try KeylessSignatureLayer.bundle(annotations: annotations, signature: sig, payload: payload)
                let verified = try BundleVerifier(trustedRoot: root, policy: .identity(identity)).verify(bundle, artifact: .bytes(payload))
                guard let p = SimpleSigningPayload.parse(payload), p.critical.type == SimpleSigningPayload.signatureType else {
                    throw BundleVerificationError("the payload is not a simple-signing signature")
                }
                guard p.critical.image.dockerManifestDigest == digest.description else {
                    throw BundleVerificationError("digest mismatch (the signature is for \(p.critical.image.dockerManifestDigest))")
                }
                out.append((verified.signer, nil))
            } catch {
                out.append((nil, "\(error)"))
            }
        }
        return out
    }
}
