import COpenSSL
import FoundationEssentials
import Synchronization

/// An RFC 3161 timestamp: a TimeStampResp or a bare TimeStampToken (CMS ContentInfo), as a bundle carries it.
///
/// Verification uses OpenSSL's TS API (`TS_RESP_verify_signature`: the CMS signature, the ESS signing-certificate
/// attribute and the TSA certificate's chain with the time-stamping purpose) against one trust-root authority at a
/// time, at the token's own genTime; the message imprint is compared here.
public final class TimestampToken: @unchecked Sendable {
    let token: UnsafeMutablePointer<PKCS7>
    let info: OpaquePointer  // TS_TST_INFO
    /// Serializes OpenSSL's walk over the shared token during verification.
    private let lock = Mutex(())
    /// The time the TSA asserts (TSTInfo genTime, fractional seconds included).
    public let genTime: Date
    /// The message imprint: the hashed data.
    public let imprint: [UInt8]
    /// The name of the imprint's hash algorithm (e.g. "SHA256").
    public let hashAlgorithm: String

    /// Reads a DER TimeStampResp (whose status must be granted) or TimeStampToken.
    public init(der: [UInt8]) throws(CertificateError) {
        defer { ERR_clear_error() }
        guard let p7 = try Self.readToken(der) else {
            throw CertificateError("not an RFC 3161 timestamp response or token")
        }
        guard let tst = PKCS7_to_TS_TST_INFO(p7) else {
            PKCS7_free(p7)
            throw CertificateError("timestamp token carries no TSTInfo")
        }
        guard let time = ASN1Time.date(TS_TST_INFO_get_time(tst)) else {
            TS_TST_INFO_free(tst)
            PKCS7_free(p7)
            throw CertificateError("timestamp genTime is unreadable")
        }
        let mi = TS_TST_INFO_get_msg_imprint(tst)
        var obj: OpaquePointer?
        X509_ALGOR_get0(&obj, nil, nil, TS_MSG_IMPRINT_get_algo(mi))
        token = p7
        info = tst
        genTime = time
        imprint = TS_MSG_IMPRINT_get_msg(mi).map { ASN1Bytes.of($0) } ?? []
        hashAlgorithm = obj.flatMap { OBJ_nid2sn(OBJ_obj2nid($0)) }.map { String(cString: $0) } ?? "unknown"
    }

    deinit {
        TS_TST_INFO_free(info)
        PKCS7_free(token)
    }

    /// The token of a granted TimeStampResp, or a bare token; nil when `der` is neither.
    private static func readToken(_ der: [UInt8]) throws(CertificateError) -> UnsafeMutablePointer<PKCS7>? {
        let resp: OpaquePointer? = der.withUnsafeBufferPointer { b in
            var p: UnsafePointer<UInt8>? = b.baseAddress
            return d2i_TS_RESP(nil, &p, b.count)
        }
        if let resp {
            defer { TS_RESP_free(resp) }
            let status = ASN1_INTEGER_get(TS_STATUS_INFO_get0_status(TS_RESP_get_status_info(resp)))
            guard status == 0 || status == 1 else {
                throw CertificateError("timestamp response status is \(status), not granted")
            }
            guard let t = TS_RESP_get_token(resp) else { throw CertificateError("timestamp response has no token") }
            return PKCS7_dup(t)
        }
        return der.withUnsafeBufferPointer { b in
            var p: UnsafePointer<UInt8>? = b.baseAddress
            return d2i_PKCS7(nil, &p, b.count)
        }
    }

    /// Checks that this token timestamps `signature` and is signed by a TSA certificate (embedded, or the
    /// authority's leaf) chaining at genTime to an authority whose window contains genTime; returns genTime and
    /// that authority.
    public func verify(
        over signature: [UInt8], authorities: [Authority]
    ) throws(CertificateError) -> (time: Date, authority: Authority) {
        guard let md = EVP_get_digestbyname(hashAlgorithm) else {
            throw CertificateError("timestamp hash algorithm \(hashAlgorithm) is unsupported")
        }
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var len: UInt32 = 0
        guard EVP_Digest(signature, signature.count, &digest, &len, md, nil) == 1 else {
            throw CertificateError("timestamp hash failed")
        }
        guard Array(digest.prefix(Int(len))) == imprint else {
            throw CertificateError("timestamp message imprint does not match the signature")
        }
        let candidates = authorities.filter { $0.isValid(at: genTime) && !$0.certificates.isEmpty }
        guard !candidates.isEmpty else {
            throw CertificateError("no timestamp authority of the trust root is valid at \(genTime)")
        }
        var reason = ""
        for authority in candidates {
            do {
                try lock.withLock { _ throws(CertificateError) in try verifySignature(with: authority) }
                return (genTime, authority)
            } catch {
                reason = error.description
            }
        }
        throw CertificateError("timestamp is not signed by a trusted timestamp authority: \(reason)")
    }

    /// Checks the CMS signature, ESS certificate binding and TSA chain against `authority` at genTime.
    private func verifySignature(with authority: Authority) throws(CertificateError) {
        defer { ERR_clear_error() }
        guard let anchor = authority.certificates.last, let store = X509_STORE_new() else {
            throw CertificateError("out of memory")
        }
        defer { X509_STORE_free(store) }
        guard X509_STORE_add_cert(store, anchor.x509) == 1 else {
            throw CertificateError("trust anchor could not be added")
        }
        let param = X509_STORE_get0_param(store)
        X509_VERIFY_PARAM_set_time(param, ASN1Time.timeT(genTime))
        X509_VERIFY_PARAM_clear_flags(param, UInt(X509_V_FLAG_PARTIAL_CHAIN))
        guard let certs = dray_sk_X509_new() else { throw CertificateError("out of memory") }
        defer { dray_sk_X509_free(certs) }
        for c in authority.certificates.dropLast() { _ = dray_sk_X509_push(certs, c.x509) }
        var signer: OpaquePointer?
        guard TS_RESP_verify_signature(token, certs, store, &signer) == 1, let signer else {
            throw CertificateError("timestamp signature or TSA chain invalid: \(Self.opensslReason())")
        }
        defer { X509_free(signer) }
        let flags = X509_get_extension_flags(signer)
        guard flags & UInt32(EXFLAG_XKUSAGE) != 0, X509_get_extended_key_usage(signer) & UInt32(XKU_TIMESTAMP) != 0
        else {
            throw CertificateError("TSA certificate lacks the time-stamping extended key usage")
        }
    }

    /// The reason in OpenSSL's error queue (with its detail, e.g. the chain error), or a generic one.
    static func opensslReason() -> String {
        var data: UnsafePointer<CChar>?
        var flags: Int32 = 0
        let e = ERR_peek_last_error_data(&data, &flags)
        guard e != 0, let s = ERR_reason_error_string(e) else { return "verification failed" }
        let reason = String(cString: s)
        guard flags & ERR_TXT_STRING != 0, let data, data.pointee != 0 else { return reason }
        return "\(reason) (\(String(cString: data)))"
    }
}
