import Engine
import FoundationEssentials

/// Checks that a transparency-log entry is about the bundle it came with: the same signature, made by the same
/// certificate or key, over the same artifact (hashedrekord) or envelope (dsse, intoto). Without this a valid
/// entry for something else would vouch for the bundle.
///
/// Kinds read: `hashedrekord` 0.0.1 (hex digest, PEM verifier) and 0.0.2 (Rekor v2: base64 digest, DER verifier;
/// for a DSSE bundle the digest is of the envelope's pre-authentication encoding), `dsse` 0.0.1 (payload and
/// envelope hashes, signatures with PEM verifiers) and `intoto` 0.0.2 (the envelope itself, base64 twice).
enum LogEntryBody {
    /// The signer as the entry must name it: a certificate or a public key, DER.
    enum Signer {
        case certificate([UInt8])
        case publicKey([UInt8])
        var der: [UInt8] {
            switch self {
            case .certificate(let d), .publicKey(let d): d
            }
        }
    }

    /// Throws, with the reason, unless `entry` records `content` signed by `signer`; `artifactDigest` is the
    /// SHA-256 of the artifact a message signature covers.
    static func check(_ entry: SigstoreBundle.TransparencyLogEntry, content: SigstoreBundle.Content, artifactDigest: [UInt8]?,
                      signer: Signer) throws {
        let body = try SigstoreJSON(parsing: entry.canonicalizedBody, limit: SigstoreBundle.maxSize, what: "the log entry's body")
        let kind = try body.string("kind"), version = try body.string("apiVersion")
        guard kind == entry.kind, version == entry.kindVersion else {
            throw LogEntryError("the entry's body is \(kind) \(version), its kindVersion says \(entry.kind) \(entry.kindVersion)")
        }
        let spec = try body.object("spec")
        switch (kind, version, content) {
        case ("hashedrekord", "0.0.1", .message(_, let signature)):
            let data = try spec.object("data").object("hash")
            guard try data.string("algorithm") == "sha256", let artifactDigest,
                  try data.string("value").lowercased() == Hex.encode(artifactDigest) else {
                throw LogEntryError("the entry is for another artifact")
            }
            let sig = try spec.object("signature")
            guard try sig.bytes("content") == signature else { throw LogEntryError("the entry holds another signature") }
            try expect(pem: try sig.object("publicKey").bytes("content"), is: signer)
        case ("hashedrekord", "0.0.2", _):
            let v = try spec.object("hashedRekordV002")
            let data = try v.object("data")
            let expected: [UInt8]?
            let signature: [UInt8]
            switch content {
            case .message(_, let s):
                expected = artifactDigest
                signature = s
            case .dsse(let envelope):
                expected = SigstoreHash.sha256(envelope.preAuthenticationEncoding)
                signature = try single(envelope)
            }
            guard try data.string("algorithm") == "SHA2_256", let expected, try data.bytes("digest") == expected else {
                throw LogEntryError("the entry is for another artifact")
            }
            let sig = try v.object("signature")
            guard try sig.bytes("content") == signature else { throw LogEntryError("the entry holds another signature") }
            try expect(verifier: try sig.object("verifier"), is: signer)
        case ("dsse", "0.0.1", .dsse(let envelope)):
            let payloadHash = try spec.object("payloadHash")
            guard try payloadHash.string("algorithm") == "sha256",
                  try payloadHash.string("value").lowercased() == Hex.encode(SigstoreHash.sha256(envelope.payload)) else {
                throw LogEntryError("the entry is for another payload")
            }
            let signatures = try spec.objects("signatures")
            guard signatures.count == envelope.signatures.count else { throw LogEntryError("the entry holds other signatures") }
            for (logged, own) in zip(signatures, envelope.signatures) {
                guard try logged.bytes("signature") == own.signature else { throw LogEntryError("the entry holds another signature") }
                try expect(pem: try logged.bytes("verifier"), is: signer)
            }
        case ("intoto", "0.0.2", .dsse(let envelope)):
            let logged = try spec.object("content").object("envelope")
            // The log stores the payload and signatures base64-encoded once more.
            guard let payload = SigstoreJSON.base64(String(decoding: try logged.bytes("payload"), as: UTF8.self)), payload == envelope.payload,
                  try logged.string("payloadType") == envelope.payloadType else {
                throw LogEntryError("the entry is for another envelope")
            }
            let signatures = try logged.objects("signatures")
            guard signatures.count == envelope.signatures.count else { throw LogEntryError("the entry holds other signatures") }
            for (l, own) in zip(signatures, envelope.signatures) {
                guard let sig = SigstoreJSON.base64(String(decoding: try l.bytes("sig"), as: UTF8.self)), sig == own.signature else {
                    throw LogEntryError("the entry holds another signature")
                }
                try expect(pem: try l.bytes("publicKey"), is: signer)
            }
        default:
            throw LogEntryError("a \(kind) \(version) entry does not record this kind of bundle")
        }
    }

    /// The one signature of an envelope (Sigstore bundles carry exactly one).
    static func single(_ envelope: DSSEEnvelope) throws -> [UInt8] {
        guard envelope.signatures.count == 1 else { throw LogEntryError("the envelope has \(envelope.signatures.count) signatures, not one") }
        return envelope.signatures[0].signature
    }

    /// The PEM text `pem` holds the signer's certificate or key.
    static func expect(pem: [UInt8], is signer: Signer) throws {
        guard let parsed = try? PEM(parsing: String(decoding: pem, as: UTF8.self), file: "the log entry"), parsed.der == signer.der else {
            throw LogEntryError("the entry was signed by another \(signer.kind)")
        }
    }

    /// A Rekor v2 verifier (`x509Certificate` or `publicKey`, DER) is the signer.
    static func expect(verifier v: SigstoreJSON, is signer: Signer) throws {
        let der = try v.optionalObject("x509Certificate")?.bytes("rawBytes") ?? v.optionalObject("publicKey")?.bytes("rawBytes")
        guard let der, der == signer.der else { throw LogEntryError("the entry was signed by another \(signer.kind)") }
    }
}

extension LogEntryBody.Signer {
    var kind: String {
        switch self {
        case .certificate: "certificate"
        case .publicKey: "key"
        }
    }
}

/// A transparency-log entry that does not record this bundle.
struct LogEntryError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
