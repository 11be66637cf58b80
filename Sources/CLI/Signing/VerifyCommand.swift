import ArgumentParser
import Engine
import FoundationEssentials
import Glibc
import Signing
import Transports

/// `dray verify`: check the signatures of images in a registry, Sigstore bundles and cosign `.sig` tags alike.
struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check every signature of images, in both formats, against keys or a keyless identity; exit 1 if any image has no valid one.",
        discussion: """
            Both formats are read: Sigstore bundles attached as OCI 1.1 referrers (cosign v3; found through the \
            referrers API or the sha256-<hex> fallback tag) and cosign's legacy sha256-<hex>.sig tag. Each signature \
            found is reported with its format, signer and result; an image passes when at least one verifies.

            A bundle verifies with --key (the key is the trust; its transparency-log entries are checked against \
            --trusted-root when both are there, and a bundle signed offline, as dray signs, has none) or keylessly \
            with --certificate-identity[-regexp] and --certificate-oidc-issuer[-regexp] against --trusted-root (a \
            Sigstore trusted_root.json, read from the file, never fetched). A .sig signature verifies with --key \
            over the exact payload, naming that manifest's digest and the image as --identity requires \
            (containers/image's rules; default repo-digest-or-exact). Reasons: unsigned, bad signature, digest \
            mismatch, identity mismatch, and the bundle verifier's own.

            Examples:
              dray verify --key cosign.pub reg.local/app:1.0
              dray verify --trusted-root trusted_root.json --certificate-identity-regexp '^https://github.com/org/' \
                --certificate-oidc-issuer https://token.actions.githubusercontent.com reg.local/app:1.0
              dray verify --key cosign.pub -f images.txt --report verify.json --output json
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var targets: SignatureTargetOptions
    @OptionGroup var access: SingleRegistryOptions

    @Option(name: .long, help: ArgumentHelp("A public key (PEM); repeat for several.", valueName: "file"))
    var key: [String] = []

    @OptionGroup var keyless: CertificateIdentityOptions

    @Option(name: .long, help: ArgumentHelp("The Sigstore trusted root (trusted_root.json) for keyless bundles and log entries.", valueName: "file"))
    var trustedRoot: String?

    @Option(name: .long, help: "For .sig signatures: exact, repository, repo-digest-or-exact or remap:PREFIX=SIGNED_PREFIX.")
    var identity: String = "repo-digest-or-exact"

    @Option(name: .long, help: "Which signatures count: bundle, simplesigning or both.")
    var signatureFormat: String = SignatureFormat.both.rawValue

    @Option(name: .long, help: ArgumentHelp("Also take the keys and trusted root an archive or saved folder carries (save --include-trust).",
                                            valueName: "path"))
    var trustFrom: String?

    @Option(name: .long, help: ArgumentHelp("Also write the results to this file.", valueName: "file"))
    var report: String?

    /// The keys and trusted root `--trust-from` names, or none.
    func carriedTrust() throws -> (keys: [(name: String, key: PublicKey)], legacyKeys: [VerificationKey], root: TrustedRoot?)? {
        guard let trustFrom else { return nil }
        let trust: IncludedTrust
        do {
            if FileStatus.isDirectory(trustFrom) {
                trust = try IncludedTrust.read(layout: trustFrom)
            } else {
                trust = try ArchiveStream(path: trustFrom).head.trust
            }
        } catch { throw CLIError("--trust-from \(trustFrom): \(error)") }
        guard !trust.isEmpty else { throw CLIError("--trust-from \(trustFrom): carries no keys or trusted root (save it with --include-trust)") }
        return try GateOptions.classify(trust)
    }

    @Option(name: [.customLong("output"), .customLong("format")], help: "Report format: text, json or csv.")
    var format: String = "text"

    /// One signature's result (or an image's, when it has none or could not be read).
    struct Row: Sendable, Codable {
        var image: String
        var digest: String?
        /// bundle or simplesigning; nil when no signature was found.
        var format: String?
        /// The key, or the certificate's identity and issuer.
        var signer: String?
        var result: String
        var reason: String?
    }

    func run() async throws {
        try await reportingErrors {
            guard ["text", "json", "csv"].contains(format) else { throw CLIError("--output: \"\(format.prefix(40))\" is not text, json or csv") }
            guard let formats = SignatureFormat(rawValue: signatureFormat) else {
                throw CLIError("--signature-format: \"\(signatureFormat.prefix(40))\" is not bundle, simplesigning or both")
            }
            let (refs, listErrors) = try targets.references()
            let keylessIdentity = keyless.isEmpty ? nil : try keyless.identity()
            let carried = try carriedTrust()
            guard !key.isEmpty || keylessIdentity != nil || !(carried?.keys.isEmpty ?? true) else {
                throw CLIError("--key is required (a public key, PEM), or --certificate-identity with --certificate-oidc-issuer and --trusted-root")
            }
            if keylessIdentity != nil, trustedRoot == nil, carried?.root == nil { throw CLIError("--certificate-identity needs --trusted-root (a trusted_root.json; dray never fetches one)") }
            let root: TrustedRoot? = try trustedRoot.map { f in
                do { return try TrustedRoot(file: f) } catch { throw CLIError("--trusted-root \(error)") }
            } ?? carried?.root
            // cosign .sig signatures are ECDSA P-256: other keys (Ed25519, RSA, P-384) check bundles only.
            let rule: IdentityRule
            do { rule = try IdentityRule(parsing: identity) } catch { throw CLIError("--identity: \(error)") }
            let legacyKeys = key.compactMap { try? VerificationKey(file: $0) } + (carried?.legacyKeys ?? [])
            let legacy = legacyKeys.isEmpty ? nil : Verifier(keys: legacyKeys, identity: rule)
            let checks = BundleCheck(keys: try key.map { f in
                guard let data = FileManager.default.contents(atPath: f) else { throw CLIError("--key \(f): cannot be read") }
                do { return (f, try PublicKey(pem: String(decoding: data, as: UTF8.self), file: f)) } catch { throw CLIError("--key \(error)") }
            } + (carried?.keys ?? []), identity: keylessIdentity, root: root)
            let logger = global.makeLogger("dray.verify")
            let options = try access.registryOptions()
            let pool = RegistryPool(http: HTTPClient(logger: logger), source: options, destination: options)
            let retry = Retrier(attempts: 3, logger: logger)
            var rows = listErrors.map { Row(image: $0.line, digest: nil, format: nil, signer: nil, result: "FAIL", reason: $0.description) }
            let perImage = await refs.concurrentMap(limit: targets.concurrency.value(logger: logger)) { ref -> [Row] in
                do {
                    guard let digest = try await pool.destination(ref).manifestDigest(ManifestIdentifier(ref)) else {
                        return [Row(image: ref.description, digest: nil, format: nil, signer: nil, result: "FAIL", reason: "not found")]
                    }
                    var found: [Row] = []
                    var legacyFailure: String?
                    let store = DestinationSignatureStore(image: ref, destination: pool.destination)
                    if formats.writesSimpleSigning, let legacy {
                        switch try await legacy.verify(digest, image: ref, in: store) {
                        case .pass(let n, let who):
                            found.append(Row(image: ref.description, digest: digest.description, format: "simplesigning", signer: who, result: "PASS",
                                             reason: "\(n) signature\(n == 1 ? "" : "s"), signed as \(who)"))
                        case .fail(.unsigned):
                            break
                        case .fail(let why):
                            legacyFailure = why.description
                            found.append(Row(image: ref.description, digest: digest.description, format: "simplesigning", signer: nil, result: "FAIL",
                                             reason: why.description))
                        }
                    }
                    if formats.writesSimpleSigning {
                        // Keyless .sig signatures (cosign v2), checked as the bundles they amount to.
                        for (signer, failure) in try await checks.keylessSignatures(of: digest, in: store) {
                            found.append(Row(image: ref.description, digest: digest.description, format: "simplesigning", signer: signer,
                                             result: failure == nil ? "PASS" : "FAIL", reason: failure ?? "keyless, \(signer ?? "")"))
                        }
                    }
                    if formats.writesBundle {
                        for b in try await BundleReferrers.list(digest, image: ref, destination: pool.destination, retry: retry) {
                            let (signer, failure) = checks.check(b.bundle, digest: digest)
                            found.append(Row(image: ref.description, digest: digest.description, format: "bundle", signer: signer,
                                             result: failure == nil ? "PASS" : "FAIL", reason: failure ?? "\(signer ?? "verified"), referrer \(b.referrer)"))
                        }
                    }
                    if found.isEmpty {
                        return [Row(image: ref.description, digest: digest.description, format: nil, signer: nil, result: "FAIL",
                                    reason: legacyFailure ?? "unsigned (no signature in \(formats == .both ? "either format" : formats.rawValue))")]
                    }
                    return found
                } catch {
                    return [Row(image: ref.description, digest: nil, format: nil, signer: nil, result: "FAIL", reason: "\(error)")]
                }
            }
            var failures = listErrors.count
            for e in listErrors { print("FAIL \(e.line): \(e.description)") }
            for image in perImage {
                rows += image
                guard let first = image.first else { continue }
                let passed = image.filter { $0.result == "PASS" }
                if passed.isEmpty { failures += 1 }
                let detail = (passed.isEmpty ? image : passed).map { r in "\(r.format.map { "\($0): " } ?? "")\(r.reason ?? "")" }.joined(separator: "; ")
                print("\(passed.isEmpty ? "FAIL" : "PASS") \(first.image)\(first.digest.map { " \($0)" } ?? ""): \(detail)")
            }
            print("\(refs.count + listErrors.count - failures) passed, \(failures) failed")
            if let report { try AtomicFile.write(try Self.render(rows, format: format), to: report) }
            if failures > 0 { throw ExitCode.failure }
        }
    }

    static func render(_ rows: [Row], format: String) throws -> [UInt8] {
        switch format {
        case "json":
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            return Array(try encoder.encode(rows))
        case "csv":
            func field(_ s: String?) -> String {
                let v = s ?? ""
                return v.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) ? "\"\(v.replacing("\"", with: "\"\""))\"" : v
            }
            return Array((["image,digest,format,signer,result,reason"]
                          + rows.map { [$0.image, $0.digest, $0.format, $0.signer, $0.result, $0.reason].map(field).joined(separator: ",") })
                .joined(separator: "\n").utf8) + [0x0a]
        default:
            return Array(rows.map { "\($0.result) \($0.image)\($0.digest.map { " \($0)" } ?? "")\($0.format.map { " [\($0)]" } ?? ""): \($0.reason ?? "")" }
                .joined(separator: "\n").utf8) + [0x0a]
        }
    }
}
