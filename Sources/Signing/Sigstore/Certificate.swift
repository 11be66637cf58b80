import COpenSSL
import FoundationEssentials

/// Why a certificate, its chain, its SCTs or a timestamp was rejected.
public struct CertificateError: Error, CustomStringConvertible, Sendable {
    /// The one-line reason.
    public let description: String

    init(_ description: String) { self.description = description }
}

/// An X.509 certificate read from DER, with the parts a Sigstore verifier looks at.
public final class Certificate: @unchecked Sendable {
    let x509: OpaquePointer
    /// The DER encoding, as given.
    public let der: [UInt8]
    /// The start of the validity period.
    public let notBefore: Date
    /// The end of the validity period (inclusive).
    public let notAfter: Date
    /// The subject public key.
    public let publicKey: PublicKey
    /// The Subject Alternative Name URIs and email addresses, in order.
    public let sans: [String]
    /// The Fulcio OIDC issuer (extension 1.3.6.1.4.1.57264.1.8, else the legacy 1.3.6.1.4.1.57264.1.1), if any.
    public let oidcIssuer: String?
    /// Whether basic constraints mark this a CA.
    public let isCA: Bool

    /// Fulcio's OIDC issuer extension (DER UTF8String inside).
    static let issuerV2OID = "1.3.6.1.4.1.57264.1.8"
    /// Fulcio's legacy OIDC issuer extension (raw string inside).
    static let issuerV1OID = "1.3.6.1.4.1.57264.1.1"

    /// Reads a DER certificate.
    public init(der: [UInt8]) throws(CertificateError) {
        let parsed: OpaquePointer? = der.withUnsafeBufferPointer { b in
            var p: UnsafePointer<UInt8>? = b.baseAddress
            let x = d2i_X509(nil, &p, b.count)
            // Trailing bytes mean this is not one DER certificate.
            if let x, p != b.baseAddress.map({ $0 + b.count }) {
                X509_free(x)
                return nil
            }
            return x
        }
        guard let x = parsed else {
            ERR_clear_error()
            throw CertificateError("not a DER X.509 certificate")
        }
        guard let nb = ASN1Time.date(X509_get0_notBefore(x)), let na = ASN1Time.date(X509_get0_notAfter(x)) else {
            X509_free(x)
            throw CertificateError("certificate validity dates are unreadable")
        }
        guard let pkey = X509_get_pubkey(x) else {
            X509_free(x)
            ERR_clear_error()
            throw CertificateError("certificate public key is unsupported")
        }
        x509 = x
        self.der = der
        notBefore = nb
        notAfter = na
        publicKey = PublicKey(taking: pkey)
        sans = Self.readSANs(x)
        oidcIssuer = Self.readIssuer(x)
        isCA = X509_get_extension_flags(x) & UInt32(EXFLAG_CA) != 0
        ERR_clear_error()
    }

    deinit { X509_free(x509) }

    /// Whether `time` lies within notBefore...notAfter.
    public func isValid(at time: Date) -> Bool { notBefore <= time && time <= notAfter }

    /// Whether the extended key usage extension is present and lists `usage` (an `XKU_*` bit).
    func hasExtendedKeyUsage(_ usage: Int32) -> Bool {
        X509_get_extension_flags(x509) & UInt32(EXFLAG_XKUSAGE) != 0
            && X509_get_extended_key_usage(x509) & UInt32(usage) != 0
    }

    /// Whether the extended key usage includes code signing (id-kp-codeSigning).
    public var hasCodeSigningUsage: Bool { hasExtendedKeyUsage(XKU_CODE_SIGN) }

    /// Whether the extended key usage includes time stamping (id-kp-timeStamping).
    public var hasTimeStampingUsage: Bool { hasExtendedKeyUsage(XKU_TIMESTAMP) }

    /// Whether subject equals issuer (a self-issued, typically root, certificate).
    public var isSelfIssued: Bool { X509_get_extension_flags(x509) & UInt32(EXFLAG_SI) != 0 }

    /// The content of the extension `oid` (dotted), or nil when absent.
    public func extensionValue(oid: String) -> [UInt8]? { Self.extensionValue(x509, oid: oid) }

    static func extensionValue(_ x: OpaquePointer, oid: String) -> [UInt8]? {
        guard let obj = OBJ_txt2obj(oid, 1) else { return nil }
        defer { ASN1_OBJECT_free(obj) }
        let i = X509_get_ext_by_OBJ(x, obj, -1)
        guard i >= 0, let ext = X509_get_ext(x, i), let data = X509_EXTENSION_get_data(ext) else { return nil }
        return ASN1Bytes.of(data)
    }

    /// Whether `other` is this certificate's issuer (names match and its key verifies this signature).
    public func isIssued(by other: Certificate) -> Bool {
        defer { ERR_clear_error() }
        guard X509_check_issued(other.x509, x509) == X509_V_OK else { return false }
        guard let key = X509_get0_pubkey(other.x509) else { return false }
        return X509_verify(x509, key) == 1
    }

    private static func readSANs(_ x: OpaquePointer) -> [String] {
        guard let raw = X509_get_ext_d2i(x, NID_subject_alt_name, nil, nil) else { return [] }
        let names = OpaquePointer(raw)
        defer { dray_sk_GENERAL_NAME_pop_free(names) }
        var out: [String] = []
        for i in 0..<dray_sk_GENERAL_NAME_num(names) {
            guard let name = dray_sk_GENERAL_NAME_value(names, i) else { continue }
            var type: Int32 = 0
            guard let value = GENERAL_NAME_get0_value(name, &type) else { continue }
            guard type == GEN_URI || type == GEN_EMAIL else { continue }
            let ia5 = value.assumingMemoryBound(to: ASN1_STRING.self)
            out.append(String(decoding: ASN1Bytes.of(ia5), as: UTF8.self))
        }
        return out
    }

    private static func readIssuer(_ x: OpaquePointer) -> String? {
        if let v2 = extensionValue(x, oid: issuerV2OID) {
            return ASN1Bytes.utf8String(v2).map { String(decoding: $0, as: UTF8.self) }
        }
        return extensionValue(x, oid: issuerV1OID).map { String(decoding: $0, as: UTF8.self) }
    }
}

/// Reading OpenSSL ASN.1 strings.
enum ASN1Bytes {
    /// The bytes of an ASN1_STRING (any string type, OCTET STRING included).
    static func of(_ s: UnsafePointer<ASN1_STRING>) -> [UInt8] {
        let n = Int(ASN1_STRING_length(s))
        guard n > 0, let p = ASN1_STRING_get0_data(s) else { return [] }
        return Array(UnsafeBufferPointer(start: p, count: n))
    }

    /// The content of a DER UTF8String (tag 0x0C) that is exactly `der`, or nil.
    static func utf8String(_ der: [UInt8]) -> [UInt8]? {
        guard der.count >= 2, der[0] == 0x0C else { return nil }
        var len = Int(der[1])
        var start = 2
        if len & 0x80 != 0 {
            let k = len & 0x7F
            guard k >= 1, k <= 3, der.count >= 2 + k else { return nil }
            len = der[2..<(2 + k)].reduce(0) { $0 << 8 | Int($1) }
            start = 2 + k
        }
        guard start + len == der.count else { return nil }
        return Array(der[start...])
    }
}

/// Converting OpenSSL ASN.1 times to `Date`.
enum ASN1Time {
    /// The instant an ASN1_TIME (UTCTime or GeneralizedTime) names, fractional seconds included.
    static func date(_ t: UnsafePointer<ASN1_TIME>?) -> Date? {
        guard let t else { return nil }
        var tm = tm()
        guard ASN1_TIME_to_tm(t, &tm) == 1 else { return nil }
        let seconds = timegm(&tm)
        return Date(timeIntervalSince1970: TimeInterval(seconds) + fraction(ASN1Bytes.of(t)))
    }

    /// The fractional seconds of a GeneralizedTime text ("…SS.fffZ"), or 0.
    private static func fraction(_ text: [UInt8]) -> TimeInterval {
        guard let dot = text.firstIndex(of: UInt8(ascii: ".")) else { return 0 }
        let digits = text[(dot + 1)...].prefix { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
        return Double("0." + String(decoding: digits, as: UTF8.self)) ?? 0
    }

    /// Whole seconds since the epoch for `X509_VERIFY_PARAM_set_time` (rounded down).
    static func timeT(_ d: Date) -> time_t { time_t(d.timeIntervalSince1970.rounded(.down)) }
}
