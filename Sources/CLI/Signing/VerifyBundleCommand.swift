import ArgumentParser
import FoundationEssentials
import Signing

/// `dray verify-bundle`: verify a Sigstore bundle over a file or a digest, offline (sigstore-conformance's shape).
struct VerifyBundleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify-bundle",
        abstract: "Verify a Sigstore bundle over a file or a sha256 digest, offline, against a trusted root.",
        discussion: """
            Checks what Sigstore clients check, with no network: the transparency-log entries (signed entry \
            timestamp, or inclusion proof and signed checkpoint; the entry records this signature), RFC 3161 \
            timestamps, the certificate chain to a Fulcio CA at the signing time, its SCTs, the identity and \
            issuer, and the signature (or DSSE envelope) itself. Exit 0 when it verifies, 1 with the reason when not.

            Examples:
              dray verify-bundle --bundle a.txt.sigstore.json --trusted-root trusted_root.json \\
                --certificate-identity https://github.com/org/repo/.github/workflows/release.yml@refs/heads/main \\
                --certificate-oidc-issuer https://token.actions.githubusercontent.com a.txt
              dray verify-bundle --bundle b.json --key cosign.pub --trusted-root trusted_root.json sha256:0cf0…
            """)

    @Option(name: .long, help: ArgumentHelp("The Sigstore bundle (JSON).", valueName: "file"))
    var bundle: String

    @Option(name: .long, help: ArgumentHelp("A PEM public key the bundle was signed with (instead of an identity).", valueName: "file"))
    var key: String?

    @OptionGroup var identity: CertificateIdentityOptions

    @Option(name: .long, help: ArgumentHelp("The Sigstore trusted root (trusted_root.json); read from the file, never fetched.", valueName: "file"))
    var trustedRoot: String?

    @Flag(name: .long, help: "With --key: leave the transparency log and timestamps unchecked (bundles signed offline, as dray signs them, have none).")
    var insecureIgnoreTlog = false

    @Argument(help: ArgumentHelp("The signed file, or its digest as sha256:<hex>.", valueName: "file-or-digest"))
    var artifact: String

    func run() async throws {
        try await reportingErrors {
            let policy: BundleVerifier.Policy
            if let key {
                guard identity.isEmpty else { throw CLIError("--key and --certificate-identity/--certificate-oidc-issuer exclude each other") }
                guard let data = FileManager.default.contents(atPath: key) else { throw CLIError("--key \(key): cannot be read") }
                policy = .key(try PublicKey(pem: String(decoding: data, as: UTF8.self), file: key))
            } else {
                policy = .identity(try identity.identity())
            }
            guard let data = FileManager.default.contents(atPath: bundle) else { throw CLIError("--bundle \(bundle): cannot be read") }
            let parsed: SigstoreBundle
            do { parsed = try SigstoreBundle(json: Array(data)) } catch { throw CLIError("--bundle \(bundle): \(error)") }
            if insecureIgnoreTlog, key == nil { throw CLIError("--insecure-ignore-tlog needs --key (a keyless signature is checked through the log)") }
            let root: TrustedRoot
            if let trustedRoot {
                do { root = try TrustedRoot(file: trustedRoot) } catch { throw CLIError("--trusted-root \(error)") }
            } else if insecureIgnoreTlog {
                root = .empty
            } else {
                throw CLIError("--trusted-root is required (a trusted_root.json; dray never fetches one), or --key with --insecure-ignore-tlog")
            }
            var verifier = BundleVerifier(trustedRoot: root, policy: policy)
            verifier.ignoresTransparencyLog = insecureIgnoreTlog
            let verified: BundleVerifier.Verified
            do { verified = try verifier.verify(parsed, artifact: try artifactValue()) } catch {
                throw CLIError("\(bundle): \(error)")
            }
            print("OK: \(bundle) verifies for \(artifact), signed by \(verified.signer)")
        }
    }

    /// The artifact: `sha256:<64 hex>`, else a file's bytes.
    func artifactValue() throws -> BundleVerifier.Artifact {
        if artifact.hasPrefix("sha256:") {
            let hex = artifact.dropFirst(7)
            guard hex.count == 64, let bytes = BundleVerifier.bytes(ofHex: String(hex)) else { throw CLIError("\(artifact): not sha256:<64 hex>") }
            return .sha256(bytes)
        }
        guard let data = FileManager.default.contents(atPath: artifact) else { throw CLIError("\(artifact): cannot be read") }
        return .bytes(Array(data))
    }
}

/// cosign's keyless identity flags: `--certificate-identity[-regexp]` and `--certificate-oidc-issuer[-regexp]`.
struct CertificateIdentityOptions: ParsableArguments {
    @Option(name: .long, help: "The certificate's expected identity (SAN: an email or a URI).")
    var certificateIdentity: String?
    @Option(name: .long, help: "A regular expression searched for in the certificate's identity, as cosign does (anchor it: ^…$).")
    var certificateIdentityRegexp: String?
    @Option(name: .long, help: "The OIDC issuer the certificate must name.")
    var certificateOidcIssuer: String?
    @Option(name: .long, help: "A regular expression searched for in the OIDC issuer (anchor it: ^…$).")
    var certificateOidcIssuerRegexp: String?

    var isEmpty: Bool { [certificateIdentity, certificateIdentityRegexp, certificateOidcIssuer, certificateOidcIssuerRegexp].allSatisfy { $0 == nil } }

    /// The identity these flags name; one of each pair is required.
    func identity() throws -> CertificateIdentity {
        guard let id = try Self.identity(certificateIdentity, certificateIdentityRegexp, certificateOidcIssuer, certificateOidcIssuerRegexp,
                                         flags: "--certificate") else {
            throw CLIError("give --key, or --certificate-identity (or -regexp) with --certificate-oidc-issuer (or -regexp)")
        }
        return id
    }

    /// The identity named by an exact or pattern subject and issuer (flags spelled `<flags>-identity[-regexp]`,
    /// `<flags>-oidc-issuer[-regexp]`), or nil when none is given.
    static func identity(_ subject: String?, _ subjectPattern: String?, _ issuer: String?, _ issuerPattern: String?,
                         flags: String) throws -> CertificateIdentity? {
        if [subject, subjectPattern, issuer, issuerPattern].allSatisfy({ $0 == nil }) { return nil }
        let s: CertificateIdentity.Match
        switch (subject, subjectPattern) {
        case (let v?, nil): s = .exact(v)
        case (nil, let p?): s = .pattern(p)
        case (nil, nil): throw CLIError("\(flags)-oidc-issuer needs \(flags)-identity (or -regexp)")
        default: throw CLIError("\(flags)-identity and \(flags)-identity-regexp exclude each other")
        }
        let i: CertificateIdentity.Match
        switch (issuer, issuerPattern) {
        case (let v?, nil): i = .exact(v)
        case (nil, let p?): i = .pattern(p)
        case (nil, nil): throw CLIError("\(flags)-oidc-issuer (or -regexp) is required with \(flags)-identity")
        default: throw CLIError("\(flags)-oidc-issuer and \(flags)-oidc-issuer-regexp exclude each other")
        }
        do { return try CertificateIdentity(subject: s, issuer: i) } catch { throw CLIError("\(flags)-identity-regexp or -oidc-issuer-regexp: \(error)") }
    }
}
