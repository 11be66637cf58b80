import Foundation
import Testing

/// `dray verify-bundle` as the sigstore-conformance suite calls it (the library is run over every case in
/// SigningTests; this checks the command's shape, exit codes and one-line errors).
@Suite("dray verify-bundle")
struct VerifyBundleCLITests {
    static let data = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("SigningTests/Fixtures/sigstore-conformance").path
    static let identity = ["--certificate-identity", "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main",
                           "--certificate-oidc-issuer", "https://token.actions.githubusercontent.com"]

    @Test("keyless and managed-key bundles verify over a file or its digest; a bad one fails with one line naming the reason; flags are checked")
    func shapes() throws {
        let root = ["--trusted-root", "\(Self.data)/trusted_root.public-good.json"]
        let ok = try Dray.run(["verify-bundle", "--bundle", "\(Self.data)/bundle-verify/happy-path-v0.3/bundle.sigstore.json"] + root + Self.identity + ["\(Self.data)/a.txt"])
        #expect(ok.status == 0 && ok.stdoutText.hasPrefix("OK: "), "\(ok.stdoutText)\(ok.stderr)")
        // The same by digest (sha256 of a.txt).
        let digest = "sha256:a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf"
        let byDigest = try Dray.run(["verify-bundle", "--bundle", "\(Self.data)/bundle-verify/happy-path-v0.3/bundle.sigstore.json"] + root + Self.identity + [digest])
        #expect(byDigest.status == 0, "\(byDigest.stderr)")
        let key = try Dray.run(["verify-bundle", "--bundle", "\(Self.data)/bundle-verify/managed-key-happy-path/bundle.sigstore.json",
                                "--key", "\(Self.data)/bundle-verify/managed-key-happy-path/key.pub"] + root + ["\(Self.data)/a.txt"])
        #expect(key.status == 0 && key.stdoutText.contains("signed by key sha256:"), "\(key.stderr)")

        let bad = try Dray.run(["verify-bundle", "--bundle", "\(Self.data)/bundle-verify/set-invalid-signature_fail/bundle.sigstore.json"] + root + Self.identity + ["\(Self.data)/a.txt"])
        #expect(bad.status == 1 && bad.stderr.contains("signed entry timestamp") && bad.stderr.split(separator: "\n").count == 1, "\(bad.stderr)")
        let other = try Dray.run(["verify-bundle", "--bundle", "\(Self.data)/bundle-verify/happy-path-v0.3/bundle.sigstore.json"] + root
                                 + ["--certificate-identity", "someone@example.com", "--certificate-oidc-issuer", "https://token.actions.githubusercontent.com", "\(Self.data)/a.txt"])
        #expect(other.status == 1 && other.stderr.contains("not someone@example.com"), "\(other.stderr)")
        let noPolicy = try Dray.run(["verify-bundle", "--bundle", "\(Self.data)/bundle-verify/happy-path-v0.3/bundle.sigstore.json"] + root + ["\(Self.data)/a.txt"])
        #expect(noPolicy.status != 0 && noPolicy.stderr.contains("give --key, or --certificate-identity"), "\(noPolicy.stderr)")
        let badDigest = try Dray.run(["verify-bundle", "--bundle", "\(Self.data)/bundle-verify/happy-path-v0.3/bundle.sigstore.json"] + root + Self.identity + ["sha256:12"])
        #expect(badDigest.status != 0 && badDigest.stderr.contains("sha256:12: not sha256:<64 hex>"), "\(badDigest.stderr)")
    }
}
