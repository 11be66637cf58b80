import ArgumentParser
import Engine
import FoundationEssentials
import Logging
import Signing
import Transports

/// The verify-before-mirroring gate of mirror, sync, save and load: an image is copied only when its source
/// signatures verify (a Sigstore bundle or a cosign `.sig`), and exactly the digest that was verified is copied.
struct GateOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Copy only images signed with this public key (PEM); repeat for several.", valueName: "file"))
    var verifyKey: [String] = []

    @Option(name: .long, help: "Copy only images signed keylessly by this identity (certificate SAN).")
    var verifyCertificateIdentity: String?
    @Option(name: .long, help: "… or by an identity matching this regular expression.")
    var verifyCertificateIdentityRegexp: String?
    @Option(name: .long, help: "The OIDC issuer the keyless certificate must name.")
    var verifyCertificateOidcIssuer: String?
    @Option(name: .long, help: "… or an issuer matching this regular expression.")
    var verifyCertificateOidcIssuerRegexp: String?

    @Option(name: .long, help: ArgumentHelp("The Sigstore trusted root (trusted_root.json) for keyless signatures and log entries; never fetched.",
                                            valueName: "file"))
    var trustedRoot: String?

    @Option(name: .long, help: "any: the image's own signature (an index's stands for its platforms); all-platforms: every kept platform manifest's.")
    var verifyPolicy: String = SignatureGate.Policy.any.rawValue

    /// The gate these flags ask for, or nil; keys and the trusted root are read now, before anything moves.
    /// `included`: keys and a trusted root an archive carries (`load --verify-included-trust`), added to the flags'.
    func gate(logger: Logger, included: IncludedTrust? = nil) throws -> SignatureGate? {
        let carried = try included.map { try Self.classify($0) }
        guard let policy = SignatureGate.Policy(rawValue: verifyPolicy) else {
            throw CLIError("--verify-policy: \"\(verifyPolicy.prefix(40))\" is not any or all-platforms")
        }
        let identity = try CertificateIdentityOptions.identity(verifyCertificateIdentity, verifyCertificateIdentityRegexp, verifyCertificateOidcIssuer,
                                                               verifyCertificateOidcIssuerRegexp, flags: "--verify-certificate")
        if carried != nil, carried?.keys.isEmpty ?? true, identity == nil, verifyKey.isEmpty {
            throw CLIError("--verify-included-trust: the archive carries a trusted root but no key; add --verify-certificate-identity and --verify-certificate-oidc-issuer")
        }
        guard !verifyKey.isEmpty || identity != nil || !(carried?.keys.isEmpty ?? true) else {
            if trustedRoot != nil { throw CLIError("--trusted-root needs --verify-key or --verify-certificate-identity") }
            if verifyPolicy != SignatureGate.Policy.any.rawValue { throw CLIError("--verify-policy needs --verify-key or --verify-certificate-identity") }
            return nil
        }
        if identity != nil, trustedRoot == nil, carried?.root == nil {
            throw CLIError("--verify-certificate-identity needs --trusted-root (a trusted_root.json; dray never fetches one)")
        }
        let root: TrustedRoot? = try trustedRoot.map { f in
            do { return try TrustedRoot(file: f) } catch { throw CLIError("--trusted-root \(error)") }
        } ?? carried?.root
        let keys = try verifyKey.map { f -> (name: String, key: PublicKey) in
            guard let data = FileManager.default.contents(atPath: f) else { throw CLIError("--verify-key \(f): cannot be read") }
            do { return (f, try PublicKey(pem: String(decoding: data, as: UTF8.self), file: f)) } catch { throw CLIError("--verify-key \(error)") }
        }
        let allKeys = keys + (carried?.keys ?? [])
        // cosign .sig signatures are ECDSA P-256: other keys (Ed25519, RSA, P-384) check bundles only.
        let legacyKeys = verifyKey.compactMap { try? VerificationKey(file: $0) } + (carried?.legacyKeys ?? [])
        let legacy = legacyKeys.isEmpty ? nil : Verifier(keys: legacyKeys, identity: .repoDigestOrExact)
        return SignatureGate(bundles: BundleCheck(keys: allKeys, identity: identity, root: root), legacy: legacy, policy: policy, logger: logger)
    }

    /// What carried trust holds: PEM public keys, and at most one trusted root. `file` names a file in errors (by
    /// default as the archive's `dray-trust/` entry).
    static func classify(_ trust: IncludedTrust, file: (String) -> String = { "the archive's \(IncludedTrust.folder)/\($0)" }) throws
        -> (keys: [(name: String, key: PublicKey)], legacyKeys: [VerificationKey], root: TrustedRoot?)
    {
        guard trust.files.count <= IncludedTrust.maxFiles else {
            throw CLIError("\(trust.files.count) trust files; at most \(IncludedTrust.maxFiles)")
        }
        var keys: [(name: String, key: PublicKey)] = []
        var legacy: [VerificationKey] = []
        var root: TrustedRoot?
        for (name, bytes) in trust.files.sorted(by: { $0.key < $1.key }) {
            let text = String(decoding: bytes, as: UTF8.self)
            if text.contains("-----BEGIN PUBLIC KEY-----") {
                do { keys.append(("archive:\(name)", try PublicKey(pem: text, file: "archive:\(name)"))) } catch {
                    throw CLIError("\(file(name)): \(error)")
                }
                // A cosign key (ECDSA P-256) checks .sig signatures too.
                if let k = try? VerificationKey(pem: text, name: "archive:\(name)") { legacy.append(k) }
            } else if let r = try? TrustedRoot(json: bytes) {
                guard root == nil else { throw CLIError("\(file(name)) is a second trusted root; one is used") }
                root = r
            } else {
                throw CLIError("\(file(name)) is neither a PEM public key nor a trusted root")
            }
        }
        return (keys, legacy, root)
    }
}
