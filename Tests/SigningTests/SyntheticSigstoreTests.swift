import COpenSSL
import Engine
import Foundation
import Testing
@testable import Signing
import TestSupport
import Transports

/// Keyless cosign v2 signatures made by a synthetic, offline Sigstore (TestSupport's `SyntheticSigstore`), checked
/// by the same verifier as real ones: they pass, and each broken part makes them fail.
@Suite("Synthetic Sigstore")
struct SyntheticSigstoreTests {
    static let identity = "https://github.com/dray-test/dray/.github/workflows/release.yml@refs/heads/main"
    static let issuer = "https://token.actions.githubusercontent.com"

    static func verify(_ annotations: [String: String], payload: [UInt8], root: [UInt8],
                       identity: String = identity, issuer: String = issuer) throws -> BundleVerifier.Verified {
        let signature = try #require(SigstoreJSON.base64(annotations["dev.cosignproject.cosign/signature"] ?? ""))
        let bundle = try KeylessSignatureLayer.bundle(annotations: annotations, signature: signature, payload: payload)
        let policy = try CertificateIdentity(subject: .exact(identity), issuer: .exact(issuer))
        return try BundleVerifier(trustedRoot: TrustedRoot(json: root), policy: .identity(policy)).verify(bundle, artifact: .bytes(payload))
    }

    @Test("a synthetic keyless signature verifies; another identity, payload, SET key or CT log does not")
    func keyless() throws {
        let sigstore = SyntheticSigstore()
        let payload = Array("{\"critical\":{\"type\":\"cosign container image signature\"}}".utf8)
        let annotations = sigstore.keylessLayerAnnotations(payload: payload, identity: Self.identity, issuer: Self.issuer)
        let root = sigstore.trustedRootJSON()
        // The leaf carries what Fulcio puts in one.
        let leafDER = try #require(try KeylessSignatureLayer.pemCertificates(annotations["dev.sigstore.cosign/certificate"]!).first)
        let leaf = try Certificate(der: leafDER)
        #expect(leaf.sans == [Self.identity])
        #expect(leaf.oidcIssuer == Self.issuer)
        #expect(leaf.hasCodeSigningUsage)
        #expect(!leaf.isCA)

        let verified = try Self.verify(annotations, payload: payload, root: root)
        #expect(verified.signer.contains(Self.identity))
        #expect(verified.times.count == 1)

        // Another identity, or another issuer.
        #expect(throws: BundleVerificationError.self) {
            try Self.verify(annotations, payload: payload, root: root, identity: "https://github.com/someone/else")
        }
        #expect(throws: BundleVerificationError.self) {
            try Self.verify(annotations, payload: payload, root: root, issuer: "https://accounts.google.com")
        }
        // A tampered payload: the log entry is for another artifact (and the signature does not cover it).
        var tampered = payload
        tampered[tampered.count - 2] ^= 1
        #expect(throws: BundleVerificationError.self) { try Self.verify(annotations, payload: tampered, root: root) }
        // A signed entry timestamp made with another key than the log's.
        let leafPEM = annotations["dev.sigstore.cosign/certificate"]!
        let signature = try #require(SigstoreJSON.base64(annotations["dev.cosignproject.cosign/signature"]!))
        var forged = annotations
        forged["dev.sigstore.cosign/bundle"] = sigstore.rekorBundleAnnotation(
            payload: payload, signature: signature, certificatePEM: leafPEM, integratedTime: Int64(Date().timeIntervalSince1970),
            logIndex: 7, setKey: SyntheticSigstore.SigningKey())
        let forgedError = try #require(throws: BundleVerificationError.self) { try Self.verify(forged, payload: payload, root: root) }
        #expect(forgedError.description.contains("signed entry timestamp"), "\(forgedError)")
        // ...while the same entry with the log's own promise verifies.
        var resigned = annotations
        resigned["dev.sigstore.cosign/bundle"] = sigstore.rekorBundleAnnotation(
            payload: payload, signature: signature, certificatePEM: leafPEM, integratedTime: Int64(Date().timeIntervalSince1970), logIndex: 7)
        #expect(try Self.verify(resigned, payload: payload, root: root).logIndices == [7])
        // An SCT from a CT log the trusted root does not name (none, or another instance's).
        for ctLogs in [[], [SyntheticSigstore().ctLogKey]] {
            let error = try #require(throws: BundleVerificationError.self) {
                try Self.verify(annotations, payload: payload, root: sigstore.trustedRootJSON(ctLogKeys: ctLogs))
            }
            #expect(error.description.contains("SCT"), "\(error)")
        }
        // Another instance's root CA does not vouch for this leaf.
        let stranger = SyntheticSigstore()
        #expect(throws: BundleVerificationError.self) { try Self.verify(annotations, payload: payload, root: stranger.trustedRootJSON()) }
    }

    @Test("the embedded SCT also validates with OpenSSL's own RFC 6962 code, given the CT log's key")
    func sctValidatesWithOpenSSL() throws {
        let sigstore = SyntheticSigstore()
        let (pem, _) = sigstore.leaf(identity: Self.identity, issuer: Self.issuer)
        let leaf = try Certificate(der: try #require(try KeylessSignatureLayer.pemCertificates(pem).first))
        let root = try Certificate(der: sigstore.rootDER)
        // OpenSSL reads CT logs from a file only.
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("ct-logs-\(UUID().uuidString).cnf").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        try "enabled_logs = synthetic\n[synthetic]\ndescription = synthetic CT log\nkey = \(Data(sigstore.ctLogKey.publicKeyDER).base64EncodedString())\n"
            .write(toFile: file, atomically: true, encoding: .utf8)
        let store = try #require(CTLOG_STORE_new())
        defer { CTLOG_STORE_free(store) }
        #expect(CTLOG_STORE_load_file(store, file) == 1)
        let ctx = try #require(CT_POLICY_EVAL_CTX_new())
        defer { CT_POLICY_EVAL_CTX_free(ctx) }
        #expect(CT_POLICY_EVAL_CTX_set1_cert(ctx, leaf.x509) == 1)
        #expect(CT_POLICY_EVAL_CTX_set1_issuer(ctx, root.x509) == 1)
        CT_POLICY_EVAL_CTX_set_shared_CTLOG_STORE(ctx, store)
        let list = OpaquePointer(try #require(X509_get_ext_d2i(leaf.x509, NID_ct_precert_scts, nil, nil)))
        defer { dray_SCT_LIST_free(list) }
        #expect(dray_sk_SCT_num(list) == 1)
        #expect(SCT_LIST_validate(list, ctx) == 1)
        #expect(SCT_get_validation_status(dray_sk_SCT_value(list, 0)) == SCT_VALIDATION_STATUS_VALID)
    }

    @Test("a keyless .sig layer pushed to a real registry next to an image verifies through BundleCheck, for its signer only")
    func keylessOnRegistry() async throws {
        let sigstore = SyntheticSigstore()
        let registry = try RegistryServer()
        let client = RegistryClient(registry: registry.host, options: RegistryOptions(credentials: CredentialStore(authFiles: [])))
        let image = try SyntheticImage.single(layers: 1, layerSize: 2048, seed: 5701)
        try await SyntheticImage.push(image, to: client, repository: "keyless/app", tag: "v1")
        let digest = image.top.digest
        let reference = try Reference(parsing: "\(registry.host)/keyless/app:v1")
        let store = DestinationSignatureStore(image: reference) { RegistryImageDestination(client: client, repository: $0.repository) }

        // What `cosign sign` (v2, keyless) attaches: a simple-signing payload naming the digest, in a layer annotated
        // with the signature, certificate, chain and Rekor bundle, under the sha256-<hex>.sig tag.
        let payload = try SimpleSigningPayload(reference: "\(registry.host)/keyless/app", digest: digest, creator: "synthetic").encoded()
        let annotations = sigstore.keylessLayerAnnotations(payload: payload, identity: Self.identity, issuer: Self.issuer)
        let layer = Descriptor(mediaType: SignatureAttachment.layerType, digest: Digest.sha256(of: payload), size: Int64(payload.count),
                               annotations: annotations)
        let (manifest, config) = try SignatureAttachment.build(layers: [layer])
        try await store.putBlob(layer, bytes: payload)
        try await store.putBlob(Descriptor(mediaType: .ociConfig, digest: Digest.sha256(of: config), size: Int64(config.count)), bytes: config)
        try await store.putManifest(manifest, tagged: SignatureAttachment.tag(for: digest))

        let root = try TrustedRoot(json: sigstore.trustedRootJSON())
        let signer = try CertificateIdentity(subject: .exact(Self.identity), issuer: .exact(Self.issuer))
        let good = try await BundleCheck(keys: [], identity: signer, root: root).keylessSignatures(of: digest, in: store)
        #expect(good.count == 1)
        #expect(good.first?.failure == nil, "\(good)")
        #expect(good.first?.signer?.contains(Self.identity) == true)

        let someone = try CertificateIdentity(subject: .exact("https://github.com/someone/else"), issuer: .exact(Self.issuer))
        let other = try await BundleCheck(keys: [], identity: someone, root: root).keylessSignatures(of: digest, in: store)
        #expect(other.count == 1 && other.first?.signer == nil && other.first?.failure != nil, "\(other)")
        // Under another instance's trusted root nothing vouches for it.
        let stranger = try await BundleCheck(keys: [], identity: signer, root: TrustedRoot(json: SyntheticSigstore().trustedRootJSON()))
            .keylessSignatures(of: digest, in: store)
        #expect(stranger.count == 1 && stranger.first?.signer == nil, "\(stranger)")
    }
}
