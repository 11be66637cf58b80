import Engine

/// Who may have signed a bundle attached to an image: one of some keys, or a keyless identity under a trusted root.
/// Only a signature counts (an in-toto statement of predicate type `https://sigstore.dev/cosign/sign/v1`), not any
/// attestation the same signer made.
/// A key-signed bundle is checked with the key (its log entries against the trusted root when there is one; a bundle
/// signed offline, as dray signs, has none); a keyless one always through the log.
public struct BundleCheck: Sendable {
    public var keys: [(name: String, key: PublicKey)]
    public var identity: CertificateIdentity?
    public var root: TrustedRoot?

    public init(keys: [(name: String, key: PublicKey)], identity: CertificateIdentity?, root: TrustedRoot?) {
        self.keys = keys
        self.identity = identity
        self.root = root
    }

    /// Who signed `bundle` (JSON) over the manifest `digest`, or why it does not verify.
    public func check(_ bytes: [UInt8], digest: Digest) -> (signer: String?, failure: String?) {
        let bundle: SigstoreBundle
        do { bundle = try SigstoreBundle(json: bytes) } catch { return (nil, "\(error)") }
        guard let artifact = BundleVerifier.bytes(ofHex: digest.hex) else { return (nil, "not a sha256 digest") }
        var reasons: [String] = []
        if case .publicKey = bundle.material.signer {
            let offline = bundle.material.tlogEntries.isEmpty && bundle.material.timestamps.isEmpty
            for (name, key) in keys {
                var verifier = BundleVerifier(trustedRoot: root ?? .empty, policy: .key(key))
                verifier.ignoresTransparencyLog = offline || root == nil
                verifier.requiredPredicateType = BundleSigner.predicateType
                do {
                    _ = try verifier.verify(bundle, artifact: .sha256(artifact))
                    let log = offline ? "no log entry: signed offline" : root == nil ? "log not checked: no trusted root" : "log checked"
                    return ("key \(name) (\(log))", nil)
                } catch {
                    reasons.append("\(name): \(error)")
                }
            }
            if keys.isEmpty { reasons.append("signed with a key, and no key was given") }
        } else if let identity, let root {
            do {
                var verifier = BundleVerifier(trustedRoot: root, policy: .identity(identity))
                verifier.requiredPredicateType = BundleSigner.predicateType
                let verified = try verifier.verify(bundle, artifact: .sha256(artifact))
                return (verified.signer, nil)
            } catch {
                reasons.append("\(error)")
            }
        } else {
            reasons.append("keyless, and no certificate identity with a trusted root was given")
        }
        return (nil, reasons.joined(separator: "; "))
    }
}
