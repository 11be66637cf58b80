import COpenSSL

/// A PKIX public key of any kind a Sigstore trust root or bundle names (ECDSA P-256/P-384/P-521, Ed25519, RSA),
/// read from its DER `SubjectPublicKeyInfo`, that checks signatures with the hash its kind calls for.
///
/// The primitive the bundle verifier's parts share: transparency-log keys (SET, checkpoints), CT log keys (SCTs),
/// certificate keys and managed keys.
public final class PublicKey: @unchecked Sendable {
    let pkey: OpaquePointer
    /// The DER `SubjectPublicKeyInfo`, as given.
    public let der: [UInt8]

    /// Reads a DER `SubjectPublicKeyInfo`; nil when it is not one OpenSSL can use.
    public init?(spki der: [UInt8]) {
        let k: OpaquePointer? = der.withUnsafeBufferPointer { b in
            var p: UnsafePointer<UInt8>? = b.baseAddress
            return d2i_PUBKEY(nil, &p, b.count)
        }
        guard let k else {
            ERR_clear_error()
            return nil
        }
        pkey = k
        self.der = der
    }

    /// Reads a PEM `PUBLIC KEY` (cosign's `.pub`); `file` names it in errors.
    public convenience init(pem text: String, file: String) throws {
        let pem = try PEM(parsing: text, file: file)
        guard pem.label == "PUBLIC KEY" else { throw KeyError(file: file, reason: "expected a PUBLIC KEY, found \(pem.label)") }
        guard let key = PublicKey(spki: pem.der) else { throw KeyError(file: file, reason: "not a public key OpenSSL can read") }
        self.init(taking: key.release())
    }

    /// A new reference to the key, for another owner.
    private func release() -> OpaquePointer {
        EVP_PKEY_up_ref(pkey)
        return pkey
    }

    /// Takes ownership of `pkey` (from a certificate).
    init(taking pkey: OpaquePointer) {
        self.pkey = pkey
        var out: UnsafeMutablePointer<UInt8>?
        let n = i2d_PUBKEY(pkey, &out)
        if n > 0, let out {
            der = Array(UnsafeBufferPointer(start: out, count: Int(n)))
            dray_OPENSSL_free(out)
        } else {
            der = []
        }
    }

    deinit { EVP_PKEY_free(pkey) }

    /// The hash a signature by this key is made over: Ed25519 signs the message itself (nil); ECDSA keys use the
    /// hash of their curve's size (P-256 SHA-256, P-384 SHA-384, P-521 SHA-512) unless `hash` says otherwise;
    /// RSA uses `hash` or SHA-256.
    public enum Hash: Sendable { case sha256, sha384, sha512 }

    /// Whether `signature` is valid for `message` (for ECDSA, a DER signature), under `hash` or this key's usual one.
    public func verify(_ signature: [UInt8], over message: [UInt8], hash: Hash? = nil) -> Bool {
        guard let ctx = EVP_MD_CTX_new() else { return false }
        defer {
            EVP_MD_CTX_free(ctx)
            ERR_clear_error()
        }
        let md: OpaquePointer? = isEd25519 ? nil : Self.md(hash ?? defaultHash)
        guard EVP_DigestVerifyInit(ctx, nil, md, nil, pkey) == 1 else { return false }
        let rc = signature.withUnsafeBufferPointer { s in
            message.withUnsafeBufferPointer { m in EVP_DigestVerify(ctx, s.baseAddress, s.count, m.baseAddress, m.count) }
        }
        return rc == 1
    }

    /// Whether `signature` is valid for a message whose `hash` digest is `digest` (a message signature checked
    /// against a digest alone). Not for Ed25519, which signs messages, not digests.
    public func verify(_ signature: [UInt8], digest: [UInt8], hash: Hash) -> Bool {
        guard !isEd25519, let ctx = EVP_PKEY_CTX_new(pkey, nil) else { return false }
        defer {
            EVP_PKEY_CTX_free(ctx)
            ERR_clear_error()
        }
        guard EVP_PKEY_verify_init(ctx) == 1, EVP_PKEY_CTX_set_signature_md(ctx, Self.md(hash)) == 1 else { return false }
        let rc = signature.withUnsafeBufferPointer { s in
            digest.withUnsafeBufferPointer { d in EVP_PKEY_verify(ctx, s.baseAddress, s.count, d.baseAddress, d.count) }
        }
        return rc == 1
    }

    /// Whether this is an Ed25519 key.
    public var isEd25519: Bool { EVP_PKEY_get_base_id(pkey) == NID_ED25519 }

    /// The hash that goes with this key when none is named.
    var defaultHash: Hash {
        switch EVP_PKEY_get_bits(pkey) {
        case 384: .sha384
        case 521: .sha512
        default: .sha256
        }
    }

    static func md(_ h: Hash) -> OpaquePointer? {
        switch h {
        case .sha256: dray_EVP_sha256()
        case .sha384: EVP_sha384()
        case .sha512: dray_EVP_sha512()
        }
    }
}
