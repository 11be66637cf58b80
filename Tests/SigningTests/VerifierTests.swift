import Engine
import Foundation
import Testing
@testable import Signing

/// A containers/image `dir:` signature file: `\0sigstore-json\n` then JSON with the payload and its signature.
func dirSignature(_ path: String) throws -> (mime: String, payload: [UInt8], signature: [UInt8]) {
    let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    let prefix = Array("\u{0}sigstore-json\n".utf8)
    #expect(bytes.starts(with: prefix))
    let json = try JSONSerialization.jsonObject(with: Data(bytes.dropFirst(prefix.count))) as! [String: Any]
    let annotations = json["annotations"] as! [String: String]
    return (json["mimeType"] as! String, Array(Data(base64Encoded: json["payload"] as! String)!),
            Array(Data(base64Encoded: annotations[SignatureAttachment.signatureAnnotation]!)!))
}

func sha256(_ bytes: [UInt8]) -> Digest {
    var h = Hasher256()
    h.update(bytes)
    return h.finalize()
}

@Suite("Verifying cosign's own signatures")
struct VerifierTests {
    let good = try! VerificationKey(file: Fixture.path("cosign.pub"))
    let other = try! VerificationKey(file: Fixture.path("cosign2.pub"))

    func fixture(_ dir: String) throws -> (digest: Digest, sig: (mime: String, payload: [UInt8], signature: [UInt8])) {
        let manifest = Array(try Data(contentsOf: URL(fileURLWithPath: Fixture.path("\(dir)/manifest.json"))))
        return (sha256(manifest), try dirSignature(Fixture.path("\(dir)/signature-1")))
    }

    @Test("the fixture signatures verify with cosign.pub over the manifest digest, and not with cosign2.pub")
    func fixtures() throws {
        let (digest, sig) = try fixture("dir-img-cosign-valid")
        let byDigest = try Reference(parsing: "192.168.64.2:5000/cosign-signed-single-sample@\(digest)")
        let verdict = Verifier(keys: [good]).evaluate([(sig.payload, sig.signature)], digest: digest, image: byDigest)
        #expect(verdict == .pass(signatures: 1, identity: "192.168.64.2:5000/cosign-signed-single-sample"))
        #expect(Verifier(keys: [other]).evaluate([(sig.payload, sig.signature)], digest: digest, image: byDigest) == .fail(.badSignature))
        // Either key of a set may match.
        #expect(Verifier(keys: [other, good]).evaluate([(sig.payload, sig.signature)], digest: digest, image: byDigest).passed)
        // The payload names another manifest than the one asked about.
        let wrong = sha256(Array("another manifest".utf8))
        #expect(Verifier(keys: [good]).evaluate([(sig.payload, sig.signature)], digest: wrong,
                                                image: byDigest.withDigest(wrong)) == .fail(.digestMismatch(signed: digest.description)))
        // cosign signs the bare repository: by tag, repo-digest-or-exact wants the tag too; repository accepts it.
        let byTag = try Reference(parsing: "192.168.64.2:5000/cosign-signed-single-sample:v1")
        #expect(Verifier(keys: [good]).evaluate([(sig.payload, sig.signature)], digest: digest, image: byTag)
            == .fail(.identityMismatch(signed: "192.168.64.2:5000/cosign-signed-single-sample")))
        #expect(Verifier(keys: [good], identity: .repository).evaluate([(sig.payload, sig.signature)], digest: digest, image: byTag).passed)
    }

    @Test("a tagged identity (as containers/image signs): exact, repository and remap rules")
    func taggedIdentity() throws {
        let (digest, sig) = try fixture("dir-img-cosign-valid-with-tag")
        func check(_ image: String, _ rule: IdentityRule) throws -> Bool {
            Verifier(keys: [good], identity: rule).evaluate([(sig.payload, sig.signature)], digest: digest,
                                                            image: try Reference(parsing: image)).passed
        }
        #expect(try check("192.168.64.2:5000/skopeo-signed:tag", .exact))
        #expect(try check("192.168.64.2:5000/skopeo-signed:tag", .repoDigestOrExact))
        #expect(!(try check("192.168.64.2:5000/skopeo-signed:other", .repoDigestOrExact)))
        #expect(try check("192.168.64.2:5000/skopeo-signed:other", .repository))
        #expect(!(try check("192.168.64.2:5000/skopeo-signed-not:tag", .repository)))
        #expect(try check("mirror.local/team/skopeo-signed:tag",
                          try IdentityRule(parsing: "remap:mirror.local/team=192.168.64.2:5000")))
        #expect(!(try check("mirror.local/team/skopeo-signed:tag", .exact)))
        #expect(throws: IdentityRuleError.self) { try IdentityRule(parsing: "remap:nothing") }
    }

    @Test("an attachment that is not a signature is skipped, never accepted")
    func otherAttachment() throws {
        let (digest, sig) = try fixture("dir-img-cosign-other-attachment")
        #expect(sig.mime != SignatureAttachment.layerType.rawValue)
        // Even with the annotation of a valid signature, a non-signature payload never passes.
        #expect(!Verifier(keys: [good]).evaluate([(sig.payload, sig.signature)], digest: digest,
                                                 image: try Reference(parsing: "r.example/x@\(digest)")).passed)
    }
}
