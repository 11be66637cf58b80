import COpenSSL
import FoundationEssentials

/// An ECDSA P-256 private key held by OpenSSL: signs with SHA-256, DER signatures (cosign's scheme).
public final class SigningKey: @unchecked Sendable {
    let pkey: OpaquePointer

    init(taking pkey: OpaquePointer) { self.pkey = pkey }
    deinit { EVP_PKEY_free(pkey) }

    /// A new random key.
    public static func generate() throws -> SigningKey {
        guard let k = dray_EVP_EC_gen_p256() else { throw KeyError(file: "generate-key", reason: "OpenSSL could not make a P-256 key") }
        return SigningKey(taking: k)
    }

    /// A DER-encoded ECDSA signature over SHA-256 of `message`.
    public func sign(_ message: [UInt8]) throws -> [UInt8] {
        guard let ctx = EVP_MD_CTX_new() else { throw SignatureError.openssl("EVP_MD_CTX_new") }
        defer { EVP_MD_CTX_free(ctx) }
        guard EVP_DigestSignInit(ctx, nil, dray_EVP_sha256(), nil, pkey) == 1 else { throw SignatureError.openssl("sign init") }
        var length = 0
        guard message.withUnsafeBufferPointer({ EVP_DigestSign(ctx, nil, &length, $0.baseAddress, $0.count) }) == 1 else {
            throw SignatureError.openssl("sign")
        }
        var sig = [UInt8](repeating: 0, count: length)
        guard message.withUnsafeBufferPointer({ m in
            sig.withUnsafeMutableBufferPointer { EVP_DigestSign(ctx, $0.baseAddress, &length, m.baseAddress, m.count) }
        }) == 1 else { throw SignatureError.openssl("sign") }
        return Array(sig.prefix(length))
    }

    /// The matching public key's DER `SubjectPublicKeyInfo`.
    public func publicKeyDER() throws -> [UInt8] {
        var out: UnsafeMutablePointer<UInt8>?
        let n = i2d_PUBKEY(pkey, &out)
        guard n > 0, let out else { throw SignatureError.openssl("i2d_PUBKEY") }
        defer { dray_OPENSSL_free(out) }
        return Array(UnsafeBufferPointer(start: out, count: Int(n)))
    }

    /// The matching public key.
    public func publicKey() throws -> VerificationKey {
        var out: UnsafeMutablePointer<UInt8>?
        let n = i2d_PUBKEY(pkey, &out)
        guard n > 0, let out else { throw SignatureError.openssl("i2d_PUBKEY") }
        defer { dray_OPENSSL_free(out) }
        return try VerificationKey(der: Array(UnsafeBufferPointer(start: out, count: Int(n))), file: "public key")
    }

    /// The key as PKCS#8 DER (secret: wipe after use).
    func pkcs8() throws -> [UInt8] {
        guard let p8 = EVP_PKEY2PKCS8(pkey) else { throw SignatureError.openssl("EVP_PKEY2PKCS8") }
        defer { PKCS8_PRIV_KEY_INFO_free(p8) }
        var out: UnsafeMutablePointer<UInt8>?
        let n = i2d_PKCS8_PRIV_KEY_INFO(p8, &out)
        guard n > 0, let out else { throw SignatureError.openssl("i2d_PKCS8_PRIV_KEY_INFO") }
        defer {
            OPENSSL_cleanse(out, Int(n))
            dray_OPENSSL_free(out)
        }
        return Array(UnsafeBufferPointer(start: out, count: Int(n)))
    }

    /// Parses a PKCS#8 `PrivateKeyInfo`, requiring ECDSA P-256.
    static func fromPKCS8(_ der: [UInt8], file: String) throws -> SigningKey {
        let p8: OpaquePointer? = der.withUnsafeBufferPointer { b in
            var p: UnsafePointer<UInt8>? = b.baseAddress
            return d2i_PKCS8_PRIV_KEY_INFO(nil, &p, b.count)
        }
        guard let p8 else {
            // cosign accepts only PKCS#8; a SEC1 "EC PRIVATE KEY" starts SEQUENCE { INTEGER 1, OCTET STRING … }.
            if der.count > 8, der[0] == 0x30, der.dropFirst(2).starts(with: [0x02, 0x01, 0x01, 0x04]) || der.dropFirst(3).starts(with: [0x02, 0x01, 0x01, 0x04]) {
                throw KeyError(file: file, reason: "the key is a SEC1 EC PRIVATE KEY, which cosign does not accept; convert it with `openssl pkcs8 -topk8`")
            }
            throw KeyError(file: file, reason: "the key is not PKCS#8")
        }
        defer { PKCS8_PRIV_KEY_INFO_free(p8) }
        guard let pkey = EVP_PKCS82PKEY(p8) else { throw KeyError(file: file, reason: "the PKCS#8 key cannot be read") }
        try requireP256(pkey, file: file)
        return SigningKey(taking: pkey)
    }
}

/// An ECDSA P-256 public key (PKIX `PUBLIC KEY`).
public final class VerificationKey: @unchecked Sendable {
    let pkey: OpaquePointer
    /// Where it came from, for messages.
    public let name: String

    init(der: [UInt8], file: String) throws {
        let k: OpaquePointer? = der.withUnsafeBufferPointer { b in
            var p: UnsafePointer<UInt8>? = b.baseAddress
            return d2i_PUBKEY(nil, &p, b.count)
        }
        guard let k else { throw KeyError(file: file, reason: "not a PKIX public key") }
        do { try requireP256(k, file: file) } catch {
            EVP_PKEY_free(k)
            throw error
        }
        pkey = k
        name = file
    }

    deinit { EVP_PKEY_free(pkey) }

    /// Reads a PEM `PUBLIC KEY` file.
    public convenience init(file: String) throws {
        let text: String
        do { text = try String(contentsOfFile: file, encoding: .utf8) } catch {
            throw KeyError(file: file, reason: "cannot read")
        }
        let pem = try PEM(parsing: text, file: file)
        guard pem.label == "PUBLIC KEY" else { throw KeyError(file: file, reason: "expected a PUBLIC KEY, found \(pem.label)") }
        try self.init(der: pem.der, file: file)
    }

    /// Reads PEM `PUBLIC KEY` text; `name` says where it came from.
    public convenience init(pem text: String, name: String) throws {
        let pem = try PEM(parsing: text, file: name)
        guard pem.label == "PUBLIC KEY" else { throw KeyError(file: name, reason: "expected a PUBLIC KEY, found \(pem.label)") }
        try self.init(der: pem.der, file: name)
    }

    /// PEM text of the key.
    public func pem() throws -> String {
        var out: UnsafeMutablePointer<UInt8>?
        let n = i2d_PUBKEY(pkey, &out)
        guard n > 0, let out else { throw SignatureError.openssl("i2d_PUBKEY") }
        defer { dray_OPENSSL_free(out) }
        return PEM(label: "PUBLIC KEY", der: Array(UnsafeBufferPointer(start: out, count: Int(n)))).text
    }

    /// Whether `signature` (DER ECDSA) is valid for `message` under SHA-256.
    public func verify(_ signature: [UInt8], over message: [UInt8]) -> Bool {
        guard let ctx = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(ctx) }
        guard EVP_DigestVerifyInit(ctx, nil, dray_EVP_sha256(), nil, pkey) == 1 else { return false }
        let rc = signature.withUnsafeBufferPointer { s in
            message.withUnsafeBufferPointer { m in EVP_DigestVerify(ctx, s.baseAddress, s.count, m.baseAddress, m.count) }
        }
        ERR_clear_error()
        return rc == 1
    }
}

/// Fails unless `pkey` is an EC key on P-256.
func requireP256(_ pkey: OpaquePointer, file: String) throws {
    guard EVP_PKEY_get_base_id(pkey) == dray_EVP_PKEY_EC() else {
        let kind = EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA ? "an RSA key" : "not an EC key"
        throw KeyError(file: file, reason: "\(kind); cosign keys are ECDSA P-256")
    }
    var name = [CChar](repeating: 0, count: 64)
    var len = 0
    guard EVP_PKEY_get_group_name(pkey, &name, name.count, &len) == 1 else {
        throw KeyError(file: file, reason: "an EC key without a named curve")
    }
    let curve = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    guard curve == "prime256v1" || curve == "P-256" else {
        throw KeyError(file: file, reason: "an EC key on \(curve); cosign keys are ECDSA P-256")
    }
}

/// A signing or verification failure inside OpenSSL.
public enum SignatureError: Error, Sendable, CustomStringConvertible {
    case openssl(String)
    /// A signature attachment that cannot be used (e.g. an oversized blob).
    case attachment(String)
    public var description: String {
        switch self {
        case .openssl(let what): "OpenSSL failed: \(what)"
        case .attachment(let why): why
        }
    }
}
