import Foundation
import Testing
@testable import Signing

/// One sigstore-conformance case's bundle and trust root, decoded just far enough for the certificate checks.
private struct X509Case {
    let bundle: [String: Any]
    let root: [String: Any]

    static let identity = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/"
        + ".github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main"
    static let oidcIssuer = "https://token.actions.githubusercontent.com"

    init(_ name: String) throws {
        let base = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
            .appendingPathComponent("sigstore-conformance")
        let dir = base.appendingPathComponent("bundle-verify/\(name)")
        bundle = try Self.json(dir.appendingPathComponent("bundle.sigstore.json"))
        let own = dir.appendingPathComponent("trusted_root.json")
        root = try Self.json(FileManager.default.fileExists(atPath: own.path)
            ? own : base.appendingPathComponent("trusted_root.public-good.json"))
    }

    static func json(_ url: URL) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    }

    static func bytes(_ b64: Any?) -> [UInt8] {
        // Protobuf JSON base64 may be wrapped (rekor2-timestamp-with-incorrect-time_fail has newlines).
        Array(Data(base64Encoded: b64 as! String, options: .ignoreUnknownCharacters)!)
    }

    static func date(_ s: Any?) -> Date? {
        guard let s = s as? String else { return nil }
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let d = f.date(from: s) { return d }
        f.formatOptions = [.withInternetDateTime]
        return f.date(from: s)
    }

    var material: [String: Any] { bundle["verificationMaterial"] as! [String: Any] }

    /// The bundle's certificates, leaf first.
    func certificates() throws -> [Certificate] {
        if let c = material["certificate"] as? [String: Any] { return [try Certificate(der: Self.bytes(c["rawBytes"]))] }
        let chain = (material["x509CertificateChain"] as! [String: Any])["certificates"] as! [[String: Any]]
        return try chain.map { try Certificate(der: Self.bytes($0["rawBytes"])) }
    }

    var signature: [UInt8] {
        if let m = bundle["messageSignature"] as? [String: Any] { return Self.bytes(m["signature"]) }
        let env = bundle["dsseEnvelope"] as! [String: Any]
        return Self.bytes((env["signatures"] as! [[String: Any]])[0]["sig"])
    }

    var integratedTime: Date? {
        let entries = material["tlogEntries"] as? [[String: Any]] ?? []
        guard let t = entries.first?["integratedTime"] as? String, let s = Double(t) else { return nil }
        return Date(timeIntervalSince1970: s)
    }

    var timestamps: [[UInt8]] {
        let data = material["timestampVerificationData"] as? [String: Any]
        return (data?["rfc3161Timestamps"] as? [[String: Any]] ?? []).map { Self.bytes($0["signedTimestamp"]) }
    }

    func authorities(_ key: String) throws -> [Authority] {
        try (root[key] as? [[String: Any]] ?? []).map { a in
            let chain = (a["certChain"] as! [String: Any])["certificates"] as! [[String: Any]]
            let window = a["validFor"] as? [String: Any]
            return Authority(certificates: try chain.map { try Certificate(der: Self.bytes($0["rawBytes"])) },
                             validFrom: Self.date(window?["start"]), validUntil: Self.date(window?["end"]))
        }
    }

    /// The CT logs whose key is a DER SPKI (a PKCS#1 RSA key in the staging root is skipped).
    var ctLogs: [CTLog] {
        (root["ctlogs"] as? [[String: Any]] ?? []).compactMap { l in
            let pk = l["publicKey"] as! [String: Any]
            guard let key = PublicKey(spki: Self.bytes(pk["rawBytes"])) else { return nil }
            let window = pk["validFor"] as? [String: Any]
            return CTLog(keyID: Self.bytes((l["logId"] as! [String: Any])["keyId"]), key: key,
                         validFrom: Self.date(window?["start"]), validUntil: Self.date(window?["end"]))
        }
    }

    /// The single timestamp, parsed.
    func timestamp() throws -> TimestampToken { try TimestampToken(der: timestamps[0]) }

    /// The leaf's issuer among the bundle's intermediates and the authority's certificates.
    func issuer(_ leaf: Certificate, _ rest: [Certificate], _ authority: Authority) -> Certificate? {
        CertificateChain.issuer(of: leaf, among: rest + authority.certificates)
    }
}

/// The one-line reason `body` throws, or nil when it does not.
private func failure(_ body: () throws -> Void) -> String? {
    do {
        try body()
        return nil
    } catch {
        return "\(error)"
    }
}

@Suite("Sigstore certificates, chains, SCTs and RFC 3161 timestamps")
struct CertificateTests {
    @Test("happy paths: SAN, OIDC issuer, chain at integrated time, no root in the bundle, SCTs",
          arguments: ["happy-path-v0.1", "happy-path-v0.2", "happy-path-v0.3"])
    func happyPath(_ name: String) throws {
        let c = try X509Case(name)
        let certs = try c.certificates()
        let leaf = certs[0]
        #expect(leaf.sans == [X509Case.identity])
        #expect(leaf.oidcIssuer == X509Case.oidcIssuer)
        #expect(!leaf.isCA && leaf.hasCodeSigningUsage)
        #expect(leaf.der == Array(Data(base64Encoded: {
            if let one = c.material["certificate"] as? [String: Any] { return one["rawBytes"] as! String }
            let chain = (c.material["x509CertificateChain"] as! [String: Any])["certificates"] as! [[String: Any]]
            return chain[0]["rawBytes"] as! String
        }())!))
        let time = try #require(c.integratedTime)
        #expect(leaf.isValid(at: time))
        let cas = try c.authorities("certificateAuthorities")
        #expect(!CertificateChain.includesRoot(certs, authorities: cas))
        let authority = try CertificateChain.verify(leaf: leaf, intermediates: Array(certs.dropFirst()),
                                                    authorities: cas, at: time)
        #expect(authority.certificates.last?.isCA == true)
        let issuer = try #require(c.issuer(leaf, Array(certs.dropFirst()), authority))
        #expect(try SignedCertificateTimestamps.verify(leaf: leaf, issuer: issuer, logs: c.ctLogs, at: time) == 1)
        // An hour after issuance the 10-minute certificate has expired.
        #expect(failure {
            _ = try CertificateChain.verify(leaf: leaf, intermediates: [], authorities: cas,
                                            at: time.addingTimeInterval(3600))
        }?.contains("expired") == true)
    }

    @Test("bundle-with-root-cert_fail: the bundle's chain carries the root")
    func bundleWithRoot() throws {
        let c = try X509Case("bundle-with-root-cert_fail")
        let certs = try c.certificates()
        #expect(certs.count == 3)
        #expect(CertificateChain.includesRoot(certs, authorities: try c.authorities("certificateAuthorities")))
        #expect(!CertificateChain.includesRoot([certs[0], certs[2]], authorities: []))
    }

    @Test("invalid-ct-key_fail: the chain is good but no SCT verifies with the trust root's CT logs")
    func invalidCTKey() throws {
        let c = try X509Case("invalid-ct-key_fail")
        let certs = try c.certificates()
        let time = try #require(c.integratedTime)
        let authority = try CertificateChain.verify(leaf: certs[0], intermediates: [],
                                                    authorities: try c.authorities("certificateAuthorities"), at: time)
        let issuer = try #require(c.issuer(certs[0], [], authority))
        let reason = failure {
            _ = try SignedCertificateTimestamps.verify(leaf: certs[0], issuer: issuer, logs: c.ctLogs, at: time)
        }
        #expect(reason == "no embedded SCT verifies with a known CT log")
        // With the public-good root's logs the same certificate's SCT verifies.
        let good = try X509Case("happy-path-v0.1")
        #expect(try SignedCertificateTimestamps.verify(leaf: certs[0], issuer: issuer, logs: good.ctLogs,
                                                       at: time) == 1)
    }

    @Test("an SCT whose log's window excludes the time, or whose signed data differs, does not count")
    func sctWindowsAndIssuer() throws {
        let c = try X509Case("happy-path-v0.3")
        let leaf = try c.certificates()[0]
        let time = try #require(c.integratedTime)
        let cas = try c.authorities("certificateAuthorities")
        let authority = try CertificateChain.verify(leaf: leaf, intermediates: [], authorities: cas, at: time)
        let issuer = try #require(c.issuer(leaf, [], authority))
        let closed = c.ctLogs.map { CTLog(keyID: $0.keyID, key: $0.key, validFrom: nil, validUntil: time - 1) }
        #expect(failure { _ = try SignedCertificateTimestamps.verify(leaf: leaf, issuer: issuer, logs: closed,
                                                                     at: time) } != nil)
        // Nil time: the log's window is checked at the SCT's own timestamp.
        #expect(try SignedCertificateTimestamps.verify(leaf: leaf, issuer: issuer, logs: c.ctLogs, at: nil) == 1)
        // The root is not the issuer: the issuer key hash differs, so the signature does not verify.
        let root = try #require(authority.certificates.last)
        #expect(failure { _ = try SignedCertificateTimestamps.verify(leaf: leaf, issuer: root, logs: c.ctLogs,
                                                                     at: time) } != nil)
        #expect(failure { _ = try SignedCertificateTimestamps.verify(leaf: root, issuer: root, logs: c.ctLogs,
                                                                     at: time) } == "certificate has no embedded SCTs")
    }

    @Test("the signing certificate is not valid at the integrated time",
          arguments: [("intoto-expired-certificate_fail", "not yet valid"),
                      ("intoto-set-outside-signing-cert-validity_fail", "expired"),
                      ("integrated-time-in-future_fail", "expired")])
    func certificateOutsideIntegratedTime(_ name: String, _ expected: String) throws {
        let c = try X509Case(name)
        let certs = try c.certificates()
        let reason = failure {
            _ = try CertificateChain.verify(leaf: certs[0], intermediates: [],
                                            authorities: try c.authorities("certificateAuthorities"),
                                            at: try #require(c.integratedTime))
        }
        #expect(reason?.contains(expected) == true, "\(reason ?? "accepted")")
    }

    @Test("bundle-from-wrong-instance_fail: a staging certificate does not chain to the public-good CAs")
    func wrongInstance() throws {
        let c = try X509Case("bundle-from-wrong-instance_fail")
        let certs = try c.certificates()
        let reason = failure {
            _ = try CertificateChain.verify(leaf: certs[0], intermediates: [],
                                            authorities: try c.authorities("certificateAuthorities"),
                                            at: try #require(c.integratedTime))
        }
        #expect(reason?.contains("does not chain") == true)
    }

    @Test("bundle-with-sct-with-extensions: chain at the TSA time, an SCT with extensions, the timestamp")
    func sctWithExtensions() throws {
        let c = try X509Case("bundle-with-sct-with-extensions")
        let leaf = try c.certificates()[0]
        let (time, _) = try c.timestamp().verify(over: c.signature,
                                                 authorities: try c.authorities("timestampAuthorities"))
        let authority = try CertificateChain.verify(leaf: leaf, intermediates: [],
                                                    authorities: try c.authorities("certificateAuthorities"), at: time)
        let issuer = try #require(c.issuer(leaf, [], authority))
        #expect(try SignedCertificateTimestamps.verify(leaf: leaf, issuer: issuer, logs: c.ctLogs, at: time) == 1)
    }

    @Test("rekor v2 timestamps that verify, and the leaf valid at their time",
          arguments: ["rekor2-timestamp-with-embedded-cert", "rekor2-timestamp-without-embedded-cert",
                      "rekor2-timestamp-with-expired-cert-chain", "trust-root-tsa-validity-end-inclusive",
                      "rekor2-happy-path"])
    func goodTimestamps(_ name: String) throws {
        let c = try X509Case(name)
        let token = try c.timestamp()
        let tsas = try c.authorities("timestampAuthorities")
        let (time, authority) = try token.verify(over: c.signature, authorities: tsas)
        #expect(time == token.genTime)
        #expect(authority.isValid(at: time))
        let leaf = try c.certificates()[0]
        let ca = try CertificateChain.verify(leaf: leaf, intermediates: [],
                                             authorities: try c.authorities("certificateAuthorities"), at: time)
        let issuer = try #require(c.issuer(leaf, [], ca))
        #expect(try SignedCertificateTimestamps.verify(leaf: leaf, issuer: issuer, logs: c.ctLogs, at: time) >= 1)
        // The same token does not timestamp other bytes.
        #expect(failure { _ = try token.verify(over: c.signature + [0], authorities: tsas) }?
            .contains("imprint") == true)
    }

    @Test("trust-root-tsa-validity-end-inclusive: genTime equals the TSA window's end")
    func tsaEndInclusive() throws {
        let c = try X509Case("trust-root-tsa-validity-end-inclusive")
        let tsas = try c.authorities("timestampAuthorities")
        #expect(try c.timestamp().genTime == tsas[0].validUntil)
    }

    @Test("rekor v2 timestamps that must be rejected",
          arguments: [("rekor2-timestamp-outside-trust-root-tsa-validity_fail", "no timestamp authority"),
                      ("rekor2-timestamp-outside-tsa-cert-validity_fail", "expired"),
                      ("rekor2-timestamp-payload-mismatch_fail", "imprint"),
                      ("rekor2-timestamp-untrusted-tsa-with-embedded-cert_fail", "not signed by a trusted"),
                      ("rekor2-timestamp-untrusted-tsa-without-embedded-cert_fail", "not signed by a trusted")])
    func badTimestamps(_ name: String, _ expected: String) throws {
        let c = try X509Case(name)
        let tsas = try c.authorities("timestampAuthorities")
        let reason = failure { _ = try c.timestamp().verify(over: c.signature, authorities: tsas) }
        #expect(reason?.contains(expected) == true, "\(reason ?? "accepted")")
    }

    @Test("a valid timestamp outside the signing certificate's validity fails the chain at genTime",
          arguments: ["rekor2-timestamp-with-incorrect-time_fail", "intoto-tsa-timestamp-outside-cert-validity_fail"])
    func timestampOutsideCertificate(_ name: String) throws {
        let c = try X509Case(name)
        let (time, _) = try c.timestamp().verify(over: c.signature,
                                                 authorities: try c.authorities("timestampAuthorities"))
        let certs = try c.certificates()
        let reason = failure {
            _ = try CertificateChain.verify(leaf: certs[0], intermediates: Array(certs.dropFirst()),
                                            authorities: try c.authorities("certificateAuthorities"), at: time)
        }
        #expect(reason?.contains("expired") == true, "\(reason ?? "accepted")")
    }

    /// Every case the suite expects to verify, except the malformed-JSON one.
    static let passingCases: [String] = {
        let dir = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
            .appendingPathComponent("sigstore-conformance/bundle-verify")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.filter { !$0.hasSuffix("_fail") && !$0.contains(".") }.sorted()
    }()

    @Test("every case expected to verify passes the timestamp, chain and SCT checks", arguments: passingCases)
    func passingCase(_ name: String) throws {
        let c = try X509Case(name)
        let tsas = try c.authorities("timestampAuthorities")
        var times = try c.timestamps.map { try TimestampToken(der: $0).verify(over: c.signature, authorities: tsas).time }
        if let t = c.integratedTime, t.timeIntervalSince1970 > 0 { times.append(t) }
        #expect(!times.isEmpty)
        guard c.material["publicKey"] == nil else { return }
        let certs = try c.certificates()
        let cas = try c.authorities("certificateAuthorities")
        #expect(!CertificateChain.includesRoot(certs, authorities: cas))
        for time in times {
            let authority = try CertificateChain.verify(leaf: certs[0], intermediates: Array(certs.dropFirst()),
                                                        authorities: cas, at: time)
            let issuer = try #require(c.issuer(certs[0], Array(certs.dropFirst()), authority))
            #expect(try SignedCertificateTimestamps.verify(leaf: certs[0], issuer: issuer, logs: c.ctLogs,
                                                           at: time) >= 1)
        }
    }

    @Test("garbage, trailing bytes and an empty Fulcio issuer extension")
    func parsing() throws {
        #expect(failure { _ = try Certificate(der: [0x30, 0x03, 0x02, 0x01, 0x00]) } != nil)
        let der = try X509Case("happy-path-v0.3").certificates()[0].der
        #expect(failure { _ = try Certificate(der: der + [0]) } == "not a DER X.509 certificate")
        #expect(failure { _ = try TimestampToken(der: der) } != nil)
        #expect(ASN1Bytes.utf8String([0x0C, 0x02, 0x61, 0x62]) == [0x61, 0x62])
        #expect(ASN1Bytes.utf8String([0x0C, 0x03, 0x61, 0x62]) == nil)
        #expect(ASN1Bytes.utf8String([0x04, 0x02, 0x61, 0x62]) == nil)
    }

    @Test("authority windows are closed intervals; a missing bound is open")
    func windows() {
        let t = Date(timeIntervalSince1970: 1_000_000)
        #expect(Authority(certificates: [], validFrom: t, validUntil: t).isValid(at: t))
        #expect(!Authority(certificates: [], validFrom: nil, validUntil: t).isValid(at: t + 0.001))
        #expect(!Authority(certificates: [], validFrom: t, validUntil: nil).isValid(at: t - 0.001))
        #expect(Authority(certificates: [], validFrom: nil, validUntil: nil).isValid(at: .distantFuture))
    }
}
