import Foundation
import Testing
@testable import Signing

/// sigstore-conformance's bundle-verification cases, every one of them: a `_fail` case must be rejected, every
/// other case accepted (see Fixtures/sigstore-conformance/README.md).
@Suite("Sigstore conformance: every bundle-verification case")
struct SigstoreConformanceTests {
    static let root = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("sigstore-conformance")
    static let defaultIdentity = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main"
    static let defaultIssuer = "https://token.actions.githubusercontent.com"

    /// Cases that still give the wrong answer, with why. The test fails when one of them starts giving the right
    /// answer (take it off the list) and when any other case gives the wrong one.
    static let pending: [String: String] = [:]

    /// Runs one case: nil when the bundle verified, else the reason it was refused.
    static func run(_ dir: URL) -> String? {
        func file(_ name: String) -> Data? { FileManager.default.contents(atPath: dir.appendingPathComponent(name).path) }
        func text(_ name: String) -> String? { file(name).map { String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) } }
        do {
            let bundle = try SigstoreBundle(json: Array(file("bundle.sigstore.json") ?? Data()))
            let rootPath = file("trusted_root.json") != nil ? dir.appendingPathComponent("trusted_root.json").path
                : root.appendingPathComponent("trusted_root.public-good.json").path
            let trusted = try TrustedRoot(file: rootPath)
            let policy: BundleVerifier.Policy
            if let pem = text("key.pub") {
                policy = .key(try PublicKey(pem: pem, file: "key.pub"))
            } else {
                policy = .identity(try CertificateIdentity(subject: .exact(text("identity") ?? defaultIdentity),
                                                           issuer: .exact(text("issuer") ?? defaultIssuer)))
            }
            let artifact = file("artifact") ?? FileManager.default.contents(atPath: root.appendingPathComponent("a.txt").path)!
            _ = try BundleVerifier(trustedRoot: trusted, policy: policy).verify(bundle, artifact: .bytes(Array(artifact)))
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test("each _fail case is rejected and every other case verifies (70 cases)")
    func everyCase() throws {
        let cases = Self.root.appendingPathComponent("bundle-verify")
        let names = try FileManager.default.contentsOfDirectory(atPath: cases.path)
            .filter { FileManager.default.fileExists(atPath: cases.appendingPathComponent($0).appendingPathComponent("bundle.sigstore.json").path) }
            .sorted()
        #expect(names.count == 70)
        var right = 0
        for name in names {
            let refused = Self.run(cases.appendingPathComponent(name))
            let expectAccepted = !name.hasSuffix("_fail")
            let isRight = (refused == nil) == expectAccepted
            if isRight { right += 1 }
            if Self.pending[name] != nil {
                #expect(!isRight, "\(name) now gives the right answer: take it off the pending list")
            } else {
                #expect(isRight, "\(name): \(refused.map { "refused: \($0)" } ?? "accepted")")
            }
        }
        print("sigstore-conformance: \(right)/\(names.count) cases give the expected answer")
    }
}
