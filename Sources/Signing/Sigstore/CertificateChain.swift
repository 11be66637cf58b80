import COpenSSL
import FoundationEssentials

/// A certificate authority of a trust root (a Fulcio CA or a timestamping authority) with its validity window.
public struct Authority: Sendable {
    /// The chain, leaf-most first and the root (the trust anchor) last, as trusted_root.json lists it.
    public let certificates: [Certificate]
    /// The start of the window in which this authority is trusted (nil: open).
    public let validFrom: Date?
    /// The end of the window, inclusive (nil: open).
    public let validUntil: Date?

    public init(certificates: [Certificate], validFrom: Date?, validUntil: Date?) {
        self.certificates = certificates
        self.validFrom = validFrom
        self.validUntil = validUntil
    }

    /// Whether `time` lies in validFrom...validUntil (both inclusive, a missing bound open).
    public func isValid(at time: Date) -> Bool { TrustedRoot.within(time, from: validFrom, until: validUntil) }

    /// The trust anchor: the last certificate.
    public var root: Certificate? { certificates.last }
}

/// Verifying a Fulcio signing certificate's chain to a certificate authority of the trust root.
public enum CertificateChain {
    /// The authority `leaf` chains to at `time`, through `intermediates` (from the bundle) and the authority's own
    /// intermediates, to the authority's root; every certificate must be valid at `time`, the authority's window
    /// must contain `time`, and the leaf must carry the code-signing extended key usage.
    public static func verify(
        leaf: Certificate, intermediates: [Certificate], authorities: [Authority], at time: Date
    ) throws(CertificateError) -> Authority {
        guard leaf.hasCodeSigningUsage else {
            throw CertificateError("signing certificate lacks the code-signing extended key usage")
        }
        let candidates = authorities.filter { $0.isValid(at: time) && !$0.certificates.isEmpty }
        guard !candidates.isEmpty else {
            throw CertificateError("no certificate authority of the trust root is valid at \(time)")
        }
        var reason = "no certificate authority"
        for authority in candidates {
            do {
                try chain(leaf, untrusted: intermediates + authority.certificates.dropLast(),
                          anchor: authority.certificates.last!, at: time)
                return authority
            } catch {
                reason = error.description
            }
        }
        throw CertificateError("signing certificate does not chain to a trusted authority at \(time): \(reason)")
    }

    /// Whether `certs` (a bundle's chain) contains a root: an authority's trust anchor or any self-issued
    /// certificate. A bundle must not carry its root; the verifier rejects one that does.
    public static func includesRoot(_ certs: [Certificate], authorities: [Authority]) -> Bool {
        let roots = Set(authorities.compactMap { $0.root?.der })
        return certs.contains { roots.contains($0.der) || $0.isSelfIssued }
    }

    /// The certificate among `candidates` that issued `leaf` (for SCT checks), or nil.
    public static func issuer(of leaf: Certificate, among candidates: [Certificate]) -> Certificate? {
        candidates.first { leaf.isIssued(by: $0) }
    }

    /// Builds and checks a path from `leaf` through `untrusted` to `anchor`, all valid at `time`, without partial
    /// chains.
    static func chain(
        _ leaf: Certificate, untrusted: [Certificate], anchor: Certificate, at time: Date
    ) throws(CertificateError) {
        defer { ERR_clear_error() }
        guard let store = X509_STORE_new() else { throw CertificateError("out of memory") }
        defer { X509_STORE_free(store) }
        guard X509_STORE_add_cert(store, anchor.x509) == 1 else {
            throw CertificateError("trust anchor could not be added")
        }
        guard let stack = dray_sk_X509_new() else { throw CertificateError("out of memory") }
        defer { dray_sk_X509_free(stack) }
        for c in untrusted { _ = dray_sk_X509_push(stack, c.x509) }
        guard let ctx = X509_STORE_CTX_new() else { throw CertificateError("out of memory") }
        defer { X509_STORE_CTX_free(ctx) }
        guard X509_STORE_CTX_init(ctx, store, leaf.x509, stack) == 1 else {
            throw CertificateError("certificate verification could not start")
        }
        let param = X509_STORE_CTX_get0_param(ctx)
        X509_VERIFY_PARAM_set_time(param, ASN1Time.timeT(time))
        X509_VERIFY_PARAM_clear_flags(param, UInt(X509_V_FLAG_PARTIAL_CHAIN))
        guard X509_verify_cert(ctx) == 1 else {
            let err = X509_STORE_CTX_get_error(ctx)
            throw CertificateError(String(cString: X509_verify_cert_error_string(Int(err))))
        }
    }
}
