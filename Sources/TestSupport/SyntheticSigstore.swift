import COpenSSL
import Foundation

/// A synthetic, offline Sigstore: a Fulcio-like root CA, a CT log that embeds SCTs in the leaves it issues, and a
/// Rekor-like log that signs entry timestamps, all with keys made for the test. With `trustedRootJSON()` as the
/// trust root, the keyless cosign v2 signatures it makes (`keylessLayerAnnotations`) verify as real ones do: the
/// chain, the embedded SCT (RFC 6962 precertificate entry), the signed entry timestamp over a hashedrekord 0.0.1
/// body, the identity and issuer, and the signature.
///
/// Nothing here is a real Sigstore service; never trust its root outside a test.
public final class SyntheticSigstore: @unchecked Sendable {
    /// An ECDSA private key (P-256 or P-384) that signs with SHA-256 or SHA-384, DER signatures.
    public final class SigningKey: @unchecked Sendable {
        let pkey: OpaquePointer

        /// A fresh key on P-256 (`bits` 256) or P-384 (`bits` 384).
        public init(bits: Int = 256) {
            let nid = bits == 384 ? NID_secp384r1 : NID_X9_62_prime256v1
            guard let ctx = EVP_PKEY_CTX_new_id(dray_EVP_PKEY_EC(), nil) else { fatalError("EVP_PKEY_CTX_new_id failed") }
            defer { EVP_PKEY_CTX_free(ctx) }
            var key: OpaquePointer?
            guard EVP_PKEY_keygen_init(ctx) == 1, dray_EVP_PKEY_CTX_set_ec_paramgen_curve_nid(ctx, nid) == 1,
                  EVP_PKEY_keygen(ctx, &key) == 1, let key else { fatalError("EC key generation failed") }
            pkey = key
        }

        deinit { EVP_PKEY_free(pkey) }

        /// The DER SubjectPublicKeyInfo.
        public var publicKeyDER: [UInt8] {
            var out: UnsafeMutablePointer<UInt8>?
            let n = i2d_PUBKEY(pkey, &out)
            guard n > 0, let out else { fatalError("i2d_PUBKEY failed") }
            defer { dray_OPENSSL_free(out) }
            return Array(UnsafeBufferPointer(start: out, count: Int(n)))
        }

        /// The PEM `PUBLIC KEY`.
        public var publicKeyPEM: String { SyntheticSigstore.pem(publicKeyDER, label: "PUBLIC KEY") }

        /// The key ID logs are named by: SHA-256 of the DER SubjectPublicKeyInfo.
        public var keyID: [UInt8] { SyntheticSigstore.sha256(publicKeyDER) }

        /// A DER ECDSA signature over `message` with SHA-256 (or SHA-384 when `sha384`).
        public func sign(_ message: [UInt8], sha384: Bool = false) -> [UInt8] {
            guard let ctx = EVP_MD_CTX_new() else { fatalError("EVP_MD_CTX_new failed") }
            defer { EVP_MD_CTX_free(ctx) }
            guard EVP_DigestSignInit(ctx, nil, sha384 ? EVP_sha384() : dray_EVP_sha256(), nil, pkey) == 1 else {
                fatalError("EVP_DigestSignInit failed")
            }
            var length = 0
            guard EVP_DigestSign(ctx, nil, &length, message, message.count) == 1 else { fatalError("EVP_DigestSign failed") }
            var signature = [UInt8](repeating: 0, count: length)
            guard EVP_DigestSign(ctx, &signature, &length, message, message.count) == 1 else { fatalError("EVP_DigestSign failed") }
            return Array(signature.prefix(length))
        }
    }

    /// The Fulcio-like root CA's key (P-384).
    public let caKey: SigningKey
    /// The root CA certificate, DER (self-signed, CA:TRUE).
    public let rootDER: [UInt8]
    /// The CT log's key (P-256): it signs the SCTs embedded in leaves.
    public let ctLogKey: SigningKey
    /// The Rekor-like log's key (P-256): it signs entry timestamps.
    public let rekorKey: SigningKey
    /// When this instance was made; the trusted root's windows start an hour before.
    public let created: Date

    private let root: OpaquePointer
    private let lock = NSLock()
    private var nextSerial: Int = 2

    public static let oidcIssuerOID = "1.3.6.1.4.1.57264.1.8"

    public init() {
        created = Date()
        caKey = SigningKey(bits: 384)
        ctLogKey = SigningKey()
        rekorKey = SigningKey()
        guard let x = X509_new() else { fatalError("X509_new failed") }
        Self.setBasics(x, serial: 1, from: -3600, to: 86400, publicKey: caKey.pkey)
        guard let name = X509_NAME_new() else { fatalError("X509_NAME_new failed") }
        defer { X509_NAME_free(name) }
        for (field, value) in [("O", "dray synthetic sigstore"), ("CN", "synthetic fulcio root")] {
            _ = X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8, Array(value.utf8), Int32(value.utf8.count), -1, 0)
        }
        X509_set_subject_name(x, name)
        X509_set_issuer_name(x, name)
        Self.addExtension(x, nid: NID_basic_constraints, critical: true, value: Self.der(0x30, Self.der(0x01, [0xFF])))
        // keyCertSign | cRLSign.
        Self.addExtension(x, nid: NID_key_usage, critical: true, value: Self.der(0x03, [0x01, 0x06]))
        Self.addExtension(x, nid: NID_subject_key_identifier, critical: false,
                          value: Self.der(0x04, Array(Self.sha256(caKey.publicKeyDER).prefix(20))))
        guard X509_sign(x, caKey.pkey, EVP_sha384()) > 0 else { fatalError("X509_sign failed") }
        root = x
        rootDER = Self.der(of: x)
    }

    deinit { X509_free(root) }

    /// The root CA certificate, PEM.
    public var rootPEM: String { Self.pem(rootDER, label: "CERTIFICATE") }

    /// A signing certificate for `identity` (a URI subject alternative name) and OIDC `issuer`, issued by the root
    /// for code signing, valid from a minute ago for ten minutes, with an SCT from the CT log embedded. The key is
    /// a fresh P-256 key.
    public func leaf(identity: String, issuer: String) -> (certificatePEM: String, privateKey: SigningKey) {
        let key = SigningKey()
        let serial: Int = lock.withLock {
            defer { nextSerial += 1 }
            return nextSerial
        }
        guard let x = X509_new() else { fatalError("X509_new failed") }
        defer { X509_free(x) }
        Self.setBasics(x, serial: serial, from: -60, to: 600, publicKey: key.pkey)
        // Fulcio leaves have an empty subject; the identity is in the (then critical) SAN.
        X509_set_issuer_name(x, X509_get_subject_name(root))
        Self.addExtension(x, nid: NID_key_usage, critical: true, value: Self.der(0x03, [0x07, 0x80]))  // digitalSignature
        // id-kp-codeSigning 1.3.6.1.5.5.7.3.3.
        Self.addExtension(x, nid: NID_ext_key_usage, critical: false,
                          value: Self.der(0x30, Self.der(0x06, [0x2B, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x03])))
        Self.addExtension(x, nid: NID_authority_key_identifier, critical: false,
                          value: Self.der(0x30, Self.der(0x80, Array(Self.sha256(caKey.publicKeyDER).prefix(20)))))
        Self.addExtension(x, nid: NID_subject_alt_name, critical: true, value: Self.der(0x30, Self.der(0x86, Array(identity.utf8))))
        Self.addExtension(x, oid: Self.oidcIssuerOID, critical: false, value: Self.der(0x0C, Array(issuer.utf8)))
        // Sign once to fix the TBS's signature algorithm, then take the precertificate TBS (no SCT extension yet).
        guard X509_sign(x, caKey.pkey, EVP_sha384()) > 0 else { fatalError("X509_sign failed") }
        let tbs = Self.reencodedTBS(x)
        let sct = signedCertificateTimestamp(tbs: tbs, timestamp: UInt64(Date().timeIntervalSince1970 * 1000))
        // SignedCertificateTimestampList: a 2-byte length, then each SCT with its 2-byte length; in an OCTET STRING.
        let list = Self.u16(sct.count) + sct
        Self.addExtension(x, nid: NID_ct_precert_scts, critical: false, value: Self.der(0x04, Self.u16(list.count) + list))
        guard X509_sign(x, caKey.pkey, EVP_sha384()) > 0 else { fatalError("X509_sign failed") }
        return (Self.pem(Self.der(of: x), label: "CERTIFICATE"), key)
    }

    /// A v1 SCT (RFC 6962 §3.2) by the CT log over the precertificate entry `tbs` issued by the root, serialized.
    func signedCertificateTimestamp(tbs: [UInt8], timestamp: UInt64) -> [UInt8] {
        let time = (0..<8).reversed().map { UInt8(truncatingIfNeeded: timestamp >> (8 * UInt64($0))) }
        var signed: [UInt8] = [0, 0]  // v1, certificate_timestamp
        signed += time
        signed += [0, 1]  // precert_entry
        signed += Self.sha256(Self.der(ofPublicKeyOf: root))  // issuer_key_hash
        signed += [UInt8(truncatingIfNeeded: tbs.count >> 16), UInt8(truncatingIfNeeded: tbs.count >> 8), UInt8(truncatingIfNeeded: tbs.count)]
        signed += tbs
        signed += [0, 0]  // no extensions
        let signature = ctLogKey.sign(signed)
        var sct: [UInt8] = [0]  // v1
        sct += ctLogKey.keyID
        sct += time
        sct += [0, 0]  // no extensions
        sct += [4, 3]  // sha256, ecdsa
        sct += Self.u16(signature.count) + signature
        return sct
    }

    /// The `dev.sigstore.cosign/bundle` annotation cosign v2 writes for a hashedrekord 0.0.1 entry of `signature`
    /// over `payload` by the certificate: the entry's body, time, index and log ID, and the log's signed entry
    /// timestamp over them. `setKey` signs the timestamp instead of the log's key (for tests that it is refused).
    public func rekorBundleAnnotation(payload: [UInt8], signature: [UInt8], certificatePEM: String, integratedTime: Int64,
                                      logIndex: Int64, setKey: SigningKey? = nil) -> String {
        let body = Data(hashedRekordBody(payload: payload, signature: signature, certificatePEM: certificatePEM)).base64EncodedString()
        let logID = Self.hex(rekorKey.keyID)
        let promise = "{\"body\":\"\(body)\",\"integratedTime\":\(integratedTime),\"logID\":\"\(logID)\",\"logIndex\":\(logIndex)}"
        let set = (setKey ?? rekorKey).sign(Array(promise.utf8))
        return "{\"SignedEntryTimestamp\":\"\(Data(set).base64EncodedString())\",\"Payload\":{\"body\":\"\(body)\","
            + "\"integratedTime\":\(integratedTime),\"logIndex\":\(logIndex),\"logID\":\"\(logID)\"}}"
    }

    /// The canonical hashedrekord 0.0.1 body (keys sorted, no spaces) Rekor records for a message signature.
    public func hashedRekordBody(payload: [UInt8], signature: [UInt8], certificatePEM: String) -> [UInt8] {
        let json = "{\"apiVersion\":\"0.0.1\",\"kind\":\"hashedrekord\",\"spec\":{\"data\":{\"hash\":{\"algorithm\":\"sha256\","
            + "\"value\":\"\(Self.hex(Self.sha256(payload)))\"}},\"signature\":{\"content\":\"\(Data(signature).base64EncodedString())\","
            + "\"publicKey\":{\"content\":\"\(Data(certificatePEM.utf8).base64EncodedString())\"}}}}"
        return Array(json.utf8)
    }

    /// A `trusted_root.json` naming the Rekor log, the root CA and the CT log, each trusted from an hour before this
    /// instance was made. `ctLogKeys` replaces the CT logs named (an empty list, or another instance's key, makes
    /// this root's SCTs unknown).
    public func trustedRootJSON(ctLogKeys: [SigningKey]? = nil) -> [UInt8] {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        let start = formatter.string(from: created.addingTimeInterval(-3600))
        func log(_ key: SigningKey, url: String) -> [String: Any] {
            ["baseUrl": url, "hashAlgorithm": "SHA2_256",
             "publicKey": ["rawBytes": Data(key.publicKeyDER).base64EncodedString(), "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                           "validFor": ["start": start]],
             "logId": ["keyId": Data(key.keyID).base64EncodedString()]]
        }
        let root: [String: Any] = [
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs": [log(rekorKey, url: "https://rekor.synthetic.invalid")],
            "certificateAuthorities": [[
                "subject": ["organization": "dray synthetic sigstore", "commonName": "synthetic fulcio root"],
                "uri": "https://fulcio.synthetic.invalid",
                "certChain": ["certificates": [["rawBytes": Data(rootDER).base64EncodedString()]]],
                "validFor": ["start": start],
            ]],
            "ctlogs": (ctLogKeys ?? [ctLogKey]).map { log($0, url: "https://ctfe.synthetic.invalid") },
            "timestampAuthorities": [Any](),
        ]
        guard let data = try? JSONSerialization.data(withJSONObject: root, options: [.sortedKeys, .withoutEscapingSlashes]) else {
            fatalError("trusted root JSON failed")
        }
        return Array(data)
    }

    /// The annotations of a cosign v2 keyless `.sig` layer for `payload`: signed (ECDSA P-256, SHA-256, DER) by a
    /// fresh leaf for `identity` and `issuer`, the leaf and root PEM, and the Rekor bundle integrated now.
    public func keylessLayerAnnotations(payload: [UInt8], identity: String, issuer: String) -> [String: String] {
        let (certificate, key) = leaf(identity: identity, issuer: issuer)
        let signature = key.sign(payload)
        let logIndex: Int64 = lock.withLock { Int64(1000 + nextSerial) }
        return [
            "dev.cosignproject.cosign/signature": Data(signature).base64EncodedString(),
            "dev.sigstore.cosign/certificate": certificate,
            "dev.sigstore.cosign/chain": rootPEM,
            "dev.sigstore.cosign/bundle": rekorBundleAnnotation(payload: payload, signature: signature, certificatePEM: certificate,
                                                                integratedTime: Int64(Date().timeIntervalSince1970), logIndex: logIndex),
        ]
    }

    // MARK: - OpenSSL and DER helpers

    /// Version 3, serial, validity relative to now (seconds) and the public key.
    private static func setBasics(_ x: OpaquePointer, serial: Int, from: Int, to: Int, publicKey: OpaquePointer) {
        guard dray_X509_set_version(x, 2) == 1, ASN1_INTEGER_set(X509_get_serialNumber(x), serial) == 1,
              X509_gmtime_adj(X509_getm_notBefore(x), from) != nil, X509_gmtime_adj(X509_getm_notAfter(x), to) != nil,
              X509_set_pubkey(x, publicKey) == 1 else { fatalError("certificate fields could not be set") }
    }

    private static func addExtension(_ x: OpaquePointer, nid: Int32, critical: Bool, value: [UInt8]) {
        guard let obj = OBJ_nid2obj(nid) else { fatalError("unknown NID \(nid)") }
        addExtension(x, object: obj, critical: critical, value: value)
    }

    private static func addExtension(_ x: OpaquePointer, oid: String, critical: Bool, value: [UInt8]) {
        guard let obj = OBJ_txt2obj(oid, 1) else { fatalError("bad OID \(oid)") }
        defer { ASN1_OBJECT_free(obj) }
        addExtension(x, object: obj, critical: critical, value: value)
    }

    private static func addExtension(_ x: OpaquePointer, object: OpaquePointer, critical: Bool, value: [UInt8]) {
        guard let octets = ASN1_OCTET_STRING_new() else { fatalError("ASN1_OCTET_STRING_new failed") }
        defer { ASN1_OCTET_STRING_free(octets) }
        guard ASN1_OCTET_STRING_set(octets, value, Int32(value.count)) == 1,
              let ext = X509_EXTENSION_create_by_OBJ(nil, object, critical ? 1 : 0, octets) else {
            fatalError("extension could not be made")
        }
        defer { X509_EXTENSION_free(ext) }
        guard X509_add_ext(x, ext, -1) == 1 else { fatalError("X509_add_ext failed") }
    }

    /// The DER TBSCertificate, re-encoded from the current fields.
    private static func reencodedTBS(_ x: OpaquePointer) -> [UInt8] {
        var out: UnsafeMutablePointer<UInt8>?
        let n = i2d_re_X509_tbs(x, &out)
        guard n > 0, let out else { fatalError("i2d_re_X509_tbs failed") }
        defer { dray_OPENSSL_free(out) }
        return Array(UnsafeBufferPointer(start: out, count: Int(n)))
    }

    private static func der(of x: OpaquePointer) -> [UInt8] {
        var out: UnsafeMutablePointer<UInt8>?
        let n = i2d_X509(x, &out)
        guard n > 0, let out else { fatalError("i2d_X509 failed") }
        defer { dray_OPENSSL_free(out) }
        return Array(UnsafeBufferPointer(start: out, count: Int(n)))
    }

    private static func der(ofPublicKeyOf x: OpaquePointer) -> [UInt8] {
        var out: UnsafeMutablePointer<UInt8>?
        let n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &out)
        guard n > 0, let out else { fatalError("i2d_X509_PUBKEY failed") }
        defer { dray_OPENSSL_free(out) }
        return Array(UnsafeBufferPointer(start: out, count: Int(n)))
    }

    /// A DER TLV.
    static func der(_ tag: UInt8, _ content: [UInt8]) -> [UInt8] {
        let n = content.count
        if n < 0x80 { return [tag, UInt8(n)] + content }
        var length: [UInt8] = []
        var rest = n
        while rest > 0 {
            length.insert(UInt8(rest & 0xFF), at: 0)
            rest >>= 8
        }
        return [tag, 0x80 | UInt8(length.count)] + length + content
    }

    static func u16(_ n: Int) -> [UInt8] { [UInt8(truncatingIfNeeded: n >> 8), UInt8(truncatingIfNeeded: n)] }

    static func sha256(_ data: [UInt8]) -> [UInt8] {
        var md = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        guard EVP_Digest(data, data.count, &md, &length, dray_EVP_sha256(), nil) == 1 else { fatalError("SHA-256 failed") }
        return md
    }

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    static func pem(_ der: [UInt8], label: String) -> String {
        let b64 = Data(der).base64EncodedString(options: [.lineLength64Characters, .endLineWithLineFeed])
        return "-----BEGIN \(label)-----\n\(b64)\n-----END \(label)-----\n"
    }
}
