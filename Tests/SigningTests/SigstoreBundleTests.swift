import Engine
import Foundation
import Testing
@testable import Signing

/// Reading bundles and trusted roots: every conformance bundle that is well-formed reads; hostile input is
/// refused with the field named, never a crash.
@Suite("Sigstore bundles and trusted roots: strict reading")
struct SigstoreBundleTests {
    static let root = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("sigstore-conformance")

    static func bundleJSON(_ name: String) throws -> [String: Any] {
        let data = try Data(contentsOf: root.appendingPathComponent("bundle-verify/\(name)/bundle.sigstore.json"))
        return try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    static func read(_ object: [String: Any]) -> String? {
        do {
            _ = try SigstoreBundle(json: Array(try JSONSerialization.data(withJSONObject: object)))
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test("the happy-path bundles read: versions, signer material, entries, timestamps, content")
    func happyPaths() throws {
        let v1 = try SigstoreBundle(json: Array(try JSONSerialization.data(withJSONObject: try Self.bundleJSON("happy-path-v0.1"))))
        #expect(v1.version == .v01)
        guard case .chain(let chain) = v1.material.signer, case .message(let digest, let sig) = v1.content else {
            Issue.record("v0.1: expected a chain and a message signature")
            return
        }
        #expect(!chain.isEmpty && !sig.isEmpty && digest?.algorithm == "SHA2_256" && digest?.digest.count == 32)
        #expect(v1.material.tlogEntries.first?.signedEntryTimestamp != nil && v1.material.tlogEntries.first?.kind == "hashedrekord")

        let dsse = try SigstoreBundle(json: Array(try JSONSerialization.data(withJSONObject: try Self.bundleJSON("happy-path-intoto-in-dsse-v3"))))
        guard case .dsse(let envelope) = dsse.content else {
            Issue.record("expected a DSSE envelope")
            return
        }
        #expect(envelope.payloadType == "application/vnd.in-toto+json")
        let pae = envelope.preAuthenticationEncoding
        #expect(pae.starts(with: Array("DSSEv1 28 application/vnd.in-toto+json \(envelope.payload.count) ".utf8)))

        let v2 = try SigstoreBundle(json: Array(try JSONSerialization.data(withJSONObject: try Self.bundleJSON("rekor2-happy-path"))))
        #expect(v2.version == .v03 && v2.material.tlogEntries[0].kindVersion == "0.0.2" && !v2.material.timestamps.isEmpty)
        #expect(v2.material.tlogEntries[0].inclusionProof?.checkpoint.isEmpty == false)
    }

    @Test("hostile bundles are refused with the field named: bad base64, wrong types, unknown version, negative index, truncation, size")
    func hostile() throws {
        var b = try Self.bundleJSON("happy-path-v0.3")
        var message = b["messageSignature"] as! [String: Any]
        message["signature"] = "not base64!"
        b["messageSignature"] = message
        #expect(Self.read(b)?.contains("messageSignature.signature is not valid base64") == true)

        b = try Self.bundleJSON("happy-path-v0.3")
        b["mediaType"] = "application/vnd.dev.sigstore.bundle.v0.9+json"
        #expect(Self.read(b)?.contains("is not a bundle version dray reads") == true)

        b = try Self.bundleJSON("happy-path-v0.3")
        var vm = b["verificationMaterial"] as! [String: Any]
        var entries = vm["tlogEntries"] as! [[String: Any]]
        entries[0]["logIndex"] = "-1"
        vm["tlogEntries"] = entries
        b["verificationMaterial"] = vm
        #expect(Self.read(b)?.contains("tlogEntries[0].logIndex is negative") == true)

        b = try Self.bundleJSON("happy-path-v0.3")
        vm = b["verificationMaterial"] as! [String: Any]
        vm["tlogEntries"] = "nope"
        b["verificationMaterial"] = vm
        #expect(Self.read(b)?.contains("verificationMaterial.tlogEntries is not a list") == true)

        b = try Self.bundleJSON("happy-path-v0.3")
        b["messageSignature"] = nil
        #expect(Self.read(b)?.contains("neither messageSignature nor dsseEnvelope") == true)

        b = try Self.bundleJSON("happy-path-v0.3")
        vm = b["verificationMaterial"] as! [String: Any]
        vm["certificate"] = ["rawBytes": 42]
        b["verificationMaterial"] = vm
        #expect(Self.read(b)?.contains("verificationMaterial.certificate.rawBytes is not a string") == true)

        let whole = Array(try JSONSerialization.data(withJSONObject: try Self.bundleJSON("happy-path-v0.3")))
        for cut in [1, whole.count / 3, whole.count - 1] {
            #expect(throws: SigstoreFormatError.self) { try SigstoreBundle(json: Array(whole.prefix(cut))) }
        }
        #expect(throws: SigstoreFormatError.self) { try SigstoreBundle(json: Array("[1,2]".utf8)) }
        let huge = Array("{\"mediaType\":\"".utf8) + [UInt8](repeating: 0x41, count: SigstoreBundle.maxSize) + Array("\"}".utf8)
        #expect(throws: SigstoreFormatError.self) { try SigstoreBundle(json: huge) }
    }

    @Test("trusted roots read; a log key without a start of validity is refused")
    func trustedRoots() throws {
        let good = try TrustedRoot(file: Self.root.appendingPathComponent("trusted_root.public-good.json").path)
        #expect(good.transparencyLogs.count == 2 && good.certificateAuthorities.count == 2 && good.ctLogs.count == 2)
        #expect(good.timestampAuthorities.count == 1 && good.transparencyLogs.allSatisfy { $0.validFrom != nil })
        let missing = Self.root.appendingPathComponent("bundle-verify/trust-root-tlog-missing-validity-start_fail/trusted_root.json").path
        #expect(throws: SigstoreFormatError.self) { try TrustedRoot(file: missing) }
        #expect(throws: SigstoreFormatError.self) { try TrustedRoot(json: Array("{\"mediaType\":\"something/else\"}".utf8)) }
    }
}

extension SigstoreBundleTests {
    @Test("a log entry integrated in the future is refused before anything else is believed")
    func futureIntegratedTime() throws {
        var b = try Self.bundleJSON("happy-path-v0.1")
        var vm = b["verificationMaterial"] as! [String: Any]
        var entries = vm["tlogEntries"] as! [[String: Any]]
        entries[0]["integratedTime"] = "4102444800"  // 2100-01-01
        vm["tlogEntries"] = entries
        b["verificationMaterial"] = vm
        let bundle = try SigstoreBundle(json: Array(try JSONSerialization.data(withJSONObject: b)))
        let root = try TrustedRoot(file: Self.root.appendingPathComponent("trusted_root.public-good.json").path)
        let identity = try CertificateIdentity(
            subject: .exact("https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main"),
            issuer: .exact("https://token.actions.githubusercontent.com"))
        let artifact = Array(try Data(contentsOf: Self.root.appendingPathComponent("a.txt")))
        #expect {
            _ = try BundleVerifier(trustedRoot: root, policy: .identity(identity)).verify(bundle, artifact: .bytes(artifact))
        } throws: { error in
            "\(error)".contains("integrated in the future")
        }
    }
}

/// The review's findings on verification, each a case that was accepted before its fix.
@Suite("Sigstore verification: what a signature must bind")
struct SigstoreBindingTests {
    static let root = SigstoreBundleTests.root
    static let identity = try! CertificateIdentity(
        subject: .exact("https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main"),
        issuer: .exact("https://token.actions.githubusercontent.com"))

    /// A key-signed DSSE bundle over `payload` of `type`, as dray would write it.
    static func keyBundle(_ key: SigningKey, payload: [UInt8], type: String) throws -> SigstoreBundle {
        let pae = Array("DSSEv1 \(type.utf8.count) \(type) \(payload.count) ".utf8) + payload
        let object: [String: Any] = [
            "mediaType": SigstoreBundle.mediaTypeV03,
            "verificationMaterial": ["publicKey": ["hint": "x"], "tlogEntries": [Any]()],
            "dsseEnvelope": ["payload": Data(payload).base64EncodedString(), "payloadType": type,
                             "signatures": [["sig": Data(try key.sign(pae)).base64EncodedString()]]],
        ]
        return try SigstoreBundle(json: Array(try JSONSerialization.data(withJSONObject: object)))
    }

    @Test("a DSSE payload that is not an in-toto statement, or a statement of another predicate, does not sign an image")
    func payloadBinding() throws {
        let key = try SigningKey.generate()
        let pub = PublicKey(spki: try key.publicKeyDER())!
        let digest = [UInt8](repeating: 7, count: 32)
        var verifier = BundleVerifier(trustedRoot: .empty, policy: .key(pub))
        verifier.ignoresTransparencyLog = true
        let plain = try Self.keyBundle(key, payload: Array("anything at all".utf8), type: "text/plain")
        #expect(throws: BundleVerificationError.self) { try verifier.verify(plain, artifact: .sha256(digest)) }
        let hex = digest.map { String(format: "%02x", $0) }.joined()
        let provenance = Array("{\"_type\":\"https://in-toto.io/Statement/v1\",\"predicateType\":\"https://slsa.dev/provenance/v1\",\"subject\":[{\"name\":\"x\",\"digest\":{\"sha256\":\"\(hex)\"}}],\"predicate\":{}}".utf8)
        let attestation = try Self.keyBundle(key, payload: provenance, type: "application/vnd.in-toto+json")
        #expect((try? verifier.verify(attestation, artifact: .sha256(digest))) != nil, "any statement naming the artifact, when no predicate is required")
        verifier.requiredPredicateType = BundleSigner.predicateType
        #expect(throws: BundleVerificationError.self) { try verifier.verify(attestation, artifact: .sha256(digest)) }
        let check = BundleCheck(keys: [("k", pub)], identity: nil, root: nil)
        let bytes = Array(try JSONSerialization.data(withJSONObject: [
            "mediaType": SigstoreBundle.mediaTypeV03,
            "verificationMaterial": ["publicKey": ["hint": "x"], "tlogEntries": [Any]()],
            "dsseEnvelope": ["payload": Data(provenance).base64EncodedString(), "payloadType": "application/vnd.in-toto+json",
                             "signatures": [["sig": Data(try key.sign(Array("DSSEv1 28 application/vnd.in-toto+json \(provenance.count) ".utf8) + provenance)).base64EncodedString()]]],
        ]))
        let sha = try Engine.Digest(parsing: "sha256:\(hex)")
        #expect(check.check(bytes, digest: sha).failure?.contains("predicate type") == true, "an attestation is not an image signature")
    }

    @Test("an inclusion proof without the log's promise gives no time: with no timestamp either, the bundle is refused")
    func unsignedIntegratedTime() throws {
        var b = try SigstoreBundleTests.bundleJSON("happy-path-v0.3")
        var vm = b["verificationMaterial"] as! [String: Any]
        var entries = vm["tlogEntries"] as! [[String: Any]]
        entries[0]["inclusionPromise"] = nil
        vm["tlogEntries"] = entries
        vm["timestampVerificationData"] = nil
        b["verificationMaterial"] = vm
        let bundle = try SigstoreBundle(json: Array(try JSONSerialization.data(withJSONObject: b)))
        let trusted = try TrustedRoot(file: Self.root.appendingPathComponent("trusted_root.public-good.json").path)
        let artifact = Array(try Data(contentsOf: Self.root.appendingPathComponent("a.txt")))
        #expect {
            _ = try BundleVerifier(trustedRoot: trusted, policy: .identity(Self.identity)).verify(bundle, artifact: .bytes(artifact))
        } throws: { "\($0)".contains("no verified time") }
    }

    @Test("identity patterns are searched for, as cosign does: a prefix pattern matches a workflow identity")
    func patternSearch() throws {
        let prefix = try CertificateIdentity(subject: .pattern("^https://github.com/sigstore-conformance/"), issuer: .pattern("githubusercontent"))
        #expect(prefix.matches(sans: ["https://github.com/sigstore-conformance/x/.github/workflows/a.yml@refs/heads/main"],
                               issuer: "https://token.actions.githubusercontent.com"))
        #expect(!prefix.matches(sans: ["https://github.com/other/x"], issuer: "https://token.actions.githubusercontent.com"))
        let whole = try CertificateIdentity(subject: .pattern("^a@example\\.com$"), issuer: .exact("https://i"))
        #expect(!whole.matches(sans: ["a@example.com.evil"], issuer: "https://i"))
    }
}

/// cosign v2's keyless `.sig` layers, read as the v0.1 bundles they amount to. The data is real: the conformance
/// suite's v0.1 bundle (a Fulcio certificate and chain, a Rekor entry with its promise) repackaged as cosign v2
/// lays it out in layer annotations.
@Suite("Keyless .sig layers (cosign v2)")
struct KeylessLayerTests {
    static func annotations(from name: String) throws -> (annotations: [String: String], signature: [UInt8]) {
        let b = try SigstoreBundleTests.bundleJSON(name)
        let vm = b["verificationMaterial"] as! [String: Any]
        let certs = ((vm["x509CertificateChain"] as! [String: Any])["certificates"] as! [[String: Any]]).map { $0["rawBytes"] as! String }
        func pem(_ b64: String) -> String {
            var lines: [String] = []
            var rest = Substring(b64)
            while !rest.isEmpty { lines.append(String(rest.prefix(64))); rest = rest.dropFirst(64) }
            return "-----BEGIN CERTIFICATE-----\n" + lines.joined(separator: "\n") + "\n-----END CERTIFICATE-----\n"
        }
        let entry = (vm["tlogEntries"] as! [[String: Any]])[0]
        let logID = Data(base64Encoded: (entry["logId"] as! [String: Any])["keyId"] as! String)!.map { String(format: "%02x", $0) }.joined()
        let rekor: [String: Any] = [
            "SignedEntryTimestamp": (entry["inclusionPromise"] as! [String: Any])["signedEntryTimestamp"] as! String,
            "Payload": ["body": entry["canonicalizedBody"] as! String, "integratedTime": Int(entry["integratedTime"] as! String)!,
                        "logIndex": Int(entry["logIndex"] as! String)!, "logID": logID],
        ]
        let signature = (b["messageSignature"] as! [String: Any])["signature"] as! String
        return ([
            "dev.cosignproject.cosign/signature": signature,
            KeylessSignatureLayer.certificateAnnotation: pem(certs[0]),
            KeylessSignatureLayer.chainAnnotation: certs.dropFirst().map(pem).joined(),
            KeylessSignatureLayer.bundleAnnotation: String(decoding: try JSONSerialization.data(withJSONObject: rekor), as: UTF8.self),
        ], Array(Data(base64Encoded: signature)!))
    }

    @Test("a keyless layer verifies through the same checks as a bundle: chain, SCT, promise, entry body, identity, signature")
    func keylessLayer() throws {
        let (annotations, signature) = try Self.annotations(from: "happy-path-v0.1")
        let payload = Array(try Data(contentsOf: SigstoreBundleTests.root.appendingPathComponent("a.txt")))
        let trusted = try TrustedRoot(file: SigstoreBundleTests.root.appendingPathComponent("trusted_root.public-good.json").path)
        let bundle = try KeylessSignatureLayer.bundle(annotations: annotations, signature: signature, payload: payload)
        let verified = try BundleVerifier(trustedRoot: trusted, policy: .identity(SigstoreBindingTests.identity)).verify(bundle, artifact: .bytes(payload))
        #expect(verified.signer.contains("extremely-dangerous-oidc-beacon"))
        // Another payload under the same signature: the log entry is for another artifact.
        let other = try KeylessSignatureLayer.bundle(annotations: annotations, signature: signature, payload: Array("other".utf8))
        #expect(throws: BundleVerificationError.self) {
            try BundleVerifier(trustedRoot: trusted, policy: .identity(SigstoreBindingTests.identity)).verify(other, artifact: .bytes(Array("other".utf8)))
        }
        // Another identity.
        let someone = try CertificateIdentity(subject: .exact("someone@example.com"), issuer: .exact("https://token.actions.githubusercontent.com"))
        #expect(throws: BundleVerificationError.self) { try BundleVerifier(trustedRoot: trusted, policy: .identity(someone)).verify(bundle, artifact: .bytes(payload)) }
        // A broken Rekor annotation, and two certificates where one belongs.
        var broken = annotations
        broken[KeylessSignatureLayer.bundleAnnotation] = "{\"SignedEntryTimestamp\":\"AA==\"}"
        #expect(throws: SigstoreFormatError.self) { try KeylessSignatureLayer.bundle(annotations: broken, signature: signature, payload: payload) }
        var two = annotations
        two[KeylessSignatureLayer.certificateAnnotation] = annotations[KeylessSignatureLayer.certificateAnnotation]! + annotations[KeylessSignatureLayer.certificateAnnotation]!
        #expect(throws: SigstoreFormatError.self) { try KeylessSignatureLayer.bundle(annotations: two, signature: signature, payload: payload) }
    }
}
