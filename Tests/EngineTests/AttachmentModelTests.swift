import Engine
import Foundation
import Testing

@Suite("Attachments: tag names, referrers lists, policies")
struct AttachmentModelTests {
    let digest = try! Digest(parsing: "sha256:" + String(repeating: "ab", count: 32))

    @Test("fallback and cosign tag names follow the spec's rules; attachment tags are recognised, image tags are not")
    func tagNames() {
        #expect(AttachmentTag.fallback(for: digest) == "sha256-" + String(repeating: "ab", count: 32))
        #expect(AttachmentTag.legacy(.att, for: digest) == "sha256-" + String(repeating: "ab", count: 32) + ".att")
        // Algorithm cut to 32 characters, encoded part to 64, anything outside [a-zA-Z0-9_.-] replaced by '-'.
        let long = AttachmentTag.fallback(algorithm: String(repeating: "a", count: 40) + "+x", encoded: String(repeating: "0", count: 70))
        #expect(long == String(repeating: "a", count: 32) + "-" + String(repeating: "0", count: 64))
        #expect(AttachmentTag.fallback(algorithm: "sha+256", encoded: "ab:cd") == "sha-256-ab-cd")
        for tag in ["sha256-" + String(repeating: "0", count: 64), "sha256-" + String(repeating: "0", count: 64) + ".sig",
                    "sha512-" + String(repeating: "f", count: 64) + ".sbom"] {
            #expect(AttachmentTag.isAttachmentTag(tag), "\(tag)")
        }
        for tag in ["latest", "v1.2.3", "sha256-abc", "sha256-" + String(repeating: "0", count: 64) + ".zip",
                    "sha-860c1904a1ce19322e91ac35af1ab07466440c37", "main-" + String(repeating: "a", count: 32),
                    "md5-" + String(repeating: "0", count: 64),
                    "SHA256-" + String(repeating: "0", count: 64), "sha256-" + String(repeating: "G", count: 64)] {
            #expect(!AttachmentTag.isAttachmentTag(tag), "\(tag)")
        }
        #expect(AttachmentTag.parse(AttachmentTag.legacy(.sig, for: digest))?.subject == digest)
        #expect(AttachmentTag.parse(AttachmentTag.legacy(.sig, for: digest))?.legacy == .sig)
    }

    @Test("a fallback index gains what it lacks, keeps every entry it had byte for byte, and is not rewritten when complete")
    func fallbackIndex() throws {
        let existingJSON = #"{"manifests":[{"digest":"sha256:\#(String(repeating: "1", count: 64))","mediaType":"application/vnd.oci.image.manifest.v1+json","size":7,"x-unknown":{"kept":true}}],"mediaType":"application/vnd.oci.image.index.v1+json","schemaVersion":2}"#
        let existing = try RawManifest(bytes: Array(existingJSON.utf8), mediaType: .ociIndex)
        let added = Descriptor(mediaType: .ociManifest, digest: digest, size: 9, annotations: ["a": "b"], artifactType: "application/x")
        let merged = try #require(try ReferrersIndex.adding([added], to: existing))
        let object = try JSONSerialization.jsonObject(with: Data(merged.bytes)) as! [String: Any]
        let entries = object["manifests"] as! [[String: Any]]
        #expect(entries.count == 2)
        #expect((entries[0]["x-unknown"] as? [String: Bool]) == ["kept": true], "unknown fields of entries already there stay")
        #expect(entries[1]["artifactType"] as? String == "application/x" && (entries[1]["annotations"] as? [String: String]) == ["a": "b"])
        #expect(try ReferrersIndex.adding([added], to: merged) == nil, "nothing twice")
        // None yet: a new index; something that is not an index is replaced.
        #expect(ReferrersIndex.entries(of: try #require(try ReferrersIndex.adding([added], to: nil)))?.map(\.digest) == [digest])
        let image = try RawManifest(bytes: Array(#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"a/b","digest":"sha256:\#(String(repeating: "2", count: 64))","size":1},"layers":[]}"#.utf8), mediaType: .ociManifest)
        #expect(ReferrersIndex.entries(of: image) == nil)
        #expect(ReferrersIndex.entries(of: try #require(try ReferrersIndex.adding([added], to: image)))?.count == 1)
        // An entry names the artifact type, or an image manifest's config media type, and all annotations.
        #expect(try ReferrersIndex.entry(for: image).artifactType == "a/b")
    }

    @Test("policies: scopes, type patterns (regex, or the media type spelled out), --remove-signatures, the server filter")
    func policies() throws {
        func a(_ type: String?, legacy: AttachmentTag.Legacy? = nil) -> Engine.Attachment {
            Engine.Attachment(subject: digest, descriptor: Descriptor(mediaType: .ociManifest, digest: digest, size: 1, artifactType: type),
                       legacy: legacy, origin: legacy == nil ? .api : .legacyTag)
        }
        let bundle = a("application/vnd.dev.sigstore.bundle.v0.3+json"), sbom = a("application/spdx+json"), sig = a(nil, legacy: .sig)
        var p = AttachmentPolicy()
        #expect(p.exclusion(bundle) == nil && p.exclusion(sbom) == nil && p.exclusion(sig) == nil)
        p.scope = .signatures
        #expect(p.exclusion(bundle) == nil && p.exclusion(sig) == nil && p.exclusion(sbom) != nil)
        p.removeSignatures = true
        #expect(!p.isEnabled)
        p = AttachmentPolicy()
        p.include = [try TypePattern("application/spdx+json", flag: "--referrer-type")]
        #expect(p.exclusion(sbom) == nil && p.exclusion(bundle) != nil, "the media type spelled out matches although + is a quantifier")
        #expect(p.serverFilter == nil, "an unanchored pattern is dray's to apply")
        p.include = [try TypePattern(#"^application/spdx\+json$"#, flag: "--referrer-type")]
        #expect(p.serverFilter == "application/spdx+json" && p.exclusion(sbom) == nil)
        p.include = [try TypePattern("cosign.sig", flag: "--referrer-type")]
        #expect(p.exclusion(sig) == nil && p.exclusion(bundle) != nil)
        #expect(throws: AttachmentPolicyError.self) { try TypePattern("([", flag: "--referrer-type") }
    }
}
