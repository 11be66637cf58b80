import COpenSSL
import FoundationEssentials

/// A Certificate Transparency log of the trust root: its key, its log ID and the window in which it is trusted.
public struct CTLog: Sendable {
    /// The log ID (SHA-256 of the log's DER public key, as `logId.keyId` gives it).
    public let keyID: [UInt8]
    /// The log's signing key.
    public let key: PublicKey
    /// The start of the window in which the log is trusted (nil: open).
    public let validFrom: Date?
    /// The end of the window, inclusive (nil: open).
    public let validUntil: Date?

    public init(keyID: [UInt8], key: PublicKey, validFrom: Date?, validUntil: Date?) {
        self.keyID = keyID
        self.key = key
        self.validFrom = validFrom
        self.validUntil = validUntil
    }

    /// Whether `time` lies in validFrom...validUntil (both inclusive, a missing bound open).
    public func isValid(at time: Date) -> Bool { TrustedRoot.within(time, from: validFrom, until: validUntil) }
}

/// Verifying the SCTs embedded in a Fulcio certificate (extension 1.3.6.1.4.1.11129.2.4.2, RFC 6962).
///
/// OpenSSL parses the SCT list; the signed structure (a v1 `precert_entry`: the TBS certificate without the SCT
/// extension and the SHA-256 of the issuer's public key) is built here and checked with the log's `PublicKey`, so
/// logs are found by the trust root's key ID and their validity windows apply.
public enum SignedCertificateTimestamps {
    /// The number of embedded SCTs that verify with a known log (at least one, else this throws). An SCT from a
    /// log not in `logs` is ignored; a log counts only when its window contains `time` (or, when `time` is nil,
    /// the SCT's own timestamp).
    public static func verify(
        leaf: Certificate, issuer: Certificate, logs: [CTLog], at time: Date?
    ) throws(CertificateError) -> Int {
        defer { ERR_clear_error() }
        guard let raw = X509_get_ext_d2i(leaf.x509, NID_ct_precert_scts, nil, nil) else {
            throw CertificateError("certificate has no embedded SCTs")
        }
        let list = OpaquePointer(raw)
        defer { dray_SCT_LIST_free(list) }
        let tbs = try precertificateTBS(leaf)
        let issuerKeyHash = try sha256(spki(of: issuer))
        var verified = 0
        for i in 0..<dray_sk_SCT_num(list) {
            guard let sct = dray_sk_SCT_value(list, i), SCT_get_version(sct) == SCT_VERSION_V1 else { continue }
            let logID = bytes { SCT_get0_log_id(sct, &$0) }
            let millis = SCT_get_timestamp(sct)
            let sctTime = Date(timeIntervalSince1970: TimeInterval(millis) / 1000)
            guard let log = logs.first(where: { $0.keyID == logID }), log.isValid(at: time ?? sctTime) else {
                continue
            }
            guard SCT_get_signature_nid(sct) == NID_ecdsa_with_SHA256
                || SCT_get_signature_nid(sct) == NID_sha256WithRSAEncryption
            else { continue }
            var signed: [UInt8] = [0, 0]  // sct_version v1, signature_type certificate_timestamp
            signed += (0..<8).reversed().map { UInt8(truncatingIfNeeded: millis >> (8 * UInt64($0))) }
            signed += [0, 1]  // entry_type precert_entry
            signed += issuerKeyHash
            signed += [UInt8(truncatingIfNeeded: tbs.count >> 16), UInt8(truncatingIfNeeded: tbs.count >> 8),
                       UInt8(truncatingIfNeeded: tbs.count)]
            signed += tbs
            let ext = bytes { SCT_get0_extensions(sct, &$0) }
            signed += [UInt8(truncatingIfNeeded: ext.count >> 8), UInt8(truncatingIfNeeded: ext.count)]
            signed += ext
            let signature = bytes { SCT_get0_signature(sct, &$0) }
            if log.key.verify(signature, over: signed, hash: .sha256) { verified += 1 }
        }
        guard verified > 0 else { throw CertificateError("no embedded SCT verifies with a known CT log") }
        return verified
    }

    /// Copies the bytes an OpenSSL `get0` accessor points at.
    private static func bytes(_ get: (inout UnsafeMutablePointer<UInt8>?) -> Int) -> [UInt8] {
        var p: UnsafeMutablePointer<UInt8>?
        let n = get(&p)
        guard n > 0, let p else { return [] }
        return Array(UnsafeBufferPointer(start: p, count: n))
    }

    /// The DER TBSCertificate of `leaf` with the SCT list extension removed.
    static func precertificateTBS(_ leaf: Certificate) throws(CertificateError) -> [UInt8] {
        guard let copy = X509_dup(leaf.x509) else { throw CertificateError("out of memory") }
        defer { X509_free(copy) }
        let i = X509_get_ext_by_NID(copy, NID_ct_precert_scts, -1)
        if i >= 0, let ext = X509_delete_ext(copy, i) { X509_EXTENSION_free(ext) }
        var out: UnsafeMutablePointer<UInt8>?
        let n = i2d_re_X509_tbs(copy, &out)
        guard n > 0, let out else { throw CertificateError("certificate TBS could not be encoded") }
        defer { dray_OPENSSL_free(out) }
        return Array(UnsafeBufferPointer(start: out, count: Int(n)))
    }

    /// The DER SubjectPublicKeyInfo of `cert`, as encoded in it.
    static func spki(of cert: Certificate) throws(CertificateError) -> [UInt8] {
        var out: UnsafeMutablePointer<UInt8>?
        let n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert.x509), &out)
        guard n > 0, let out else { throw CertificateError("issuer public key could not be encoded") }
        defer { dray_OPENSSL_free(out) }
        return Array(UnsafeBufferPointer(start: out, count: Int(n)))
    }

    /// SHA-256 of `data`.
    static func sha256(_ data: [UInt8]) throws(CertificateError) -> [UInt8] {
        var md = [UInt8](repeating: 0, count: 32)
        var len: UInt32 = 0
        guard EVP_Digest(data, data.count, &md, &len, dray_EVP_sha256(), nil) == 1 else {
            throw CertificateError("SHA-256 failed")
        }
        return md
    }
}
