import Engine
import Logging

/// The gate of `mirror`, `sync`, `save` and `load --verify-key …`: an image goes through only when its source
/// signatures verify (a Sigstore bundle referrer or a cosign `.sig`), and the report says which signature let it in.
public struct SignatureGate: ImageGate {
    /// What must be signed.
    public enum Policy: String, Sendable, CaseIterable {
        /// The top manifest (an index's own signature stands for every platform it lists, a filtered one too); for a
        /// filtered index whose own is missing, every kept platform manifest.
        case any
        /// Every kept platform manifest (and a single image's own manifest).
        case allPlatforms = "all-platforms"
    }

    let bundles: BundleCheck
    /// For `.sig` signatures: the keys and containers/image's identity rule.
    let legacy: Verifier?
    public let policy: Policy
    let logger: Logger

    public init(bundles: BundleCheck, legacy: Verifier?, policy: Policy, logger: Logger) {
        self.bundles = bundles
        self.legacy = legacy
        self.policy = policy
        self.logger = logger
    }

    public func admit(_ target: MirrorTarget, top: Digest, kept: [Digest], rewritten: Bool,
                      sources: @escaping @Sendable (Reference) -> any ImageSource) async throws -> String {
        let reading: @Sendable (Reference) -> SignatureReading = { SignatureReading(source: sources($0)) }
        switch policy {
        case .any:
            let own = try await signature(of: top, target: target, reading: reading)
            if let signer = own.signer { return "\(signer) on \(top)\(rewritten ? " (the original index)" : "")" }
            guard rewritten, !kept.isEmpty else { throw GateRefusal("not admitted: \(own.reason)") }
            let platforms = try await all(kept, target: target, reading: reading, index: own.reason)
            return "\(platforms) on each of the \(kept.count) kept platform manifests (the index: \(own.reason))"
        case .allPlatforms:
            let subjects = kept.isEmpty ? [top] : kept
            return "\(try await all(subjects, target: target, reading: reading, index: nil)) on each of \(subjects.count) manifest\(subjects.count == 1 ? "" : "s")"
        }
    }

    /// Every one of `digests` must be signed: the signers, or a refusal naming the first that is not.
    func all(_ digests: [Digest], target: MirrorTarget, reading: @escaping @Sendable (Reference) -> SignatureReading,
             index: String?) async throws -> String {
        var signers: [String] = []
        for d in digests {
            let found = try await signature(of: d, target: target, reading: reading)
            guard let signer = found.signer else {
                throw GateRefusal("not admitted: platform manifest \(d): \(found.reason)\(index.map { "; the index: \($0)" } ?? "")")
            }
            if !signers.contains(signer) { signers.append(signer) }
        }
        return signers.joined(separator: ", ")
    }

    /// The first valid signature of the manifest `digest` at the source, or why there is none.
    func signature(of digest: Digest, target: MirrorTarget, reading: @escaping @Sendable (Reference) -> SignatureReading)
        async throws -> (signer: String?, reason: String)
    {
        let retry = Retrier(attempts: 3, logger: logger)
        var reasons: [String] = []
        for found in try await BundleReferrers.list(digest, image: target.source, reading: reading, retry: retry) {
            let (signer, failure) = bundles.check(found.bundle, digest: digest)
            if let signer { return ("bundle, \(signer)", "") }
            reasons.append("bundle \(found.referrer): \(failure ?? "does not verify")")
        }
        let store = ReadOnlySignatureStore(image: target.source, reading: reading)
        for (signer, failure) in try await bundles.keylessSignatures(of: digest, in: store) {
            if let signer { return ("simplesigning (keyless), \(signer)", "") }
            reasons.append(".sig (keyless): \(failure ?? "does not verify")")
        }
        if let legacy {
            switch try await legacy.verify(digest, image: target.source, in: store) {
            case .pass(_, let who): return ("simplesigning, signed as \(who)", "")
            case .fail(.unsigned): break
            case .fail(let why): reasons.append(".sig: \(why)")
            }
        }
        return (nil, reasons.isEmpty ? "unsigned (no signature in either format)" : reasons.joined(separator: "; "))
    }
}
