import Engine
import Foundation
import Testing
import TestSupport
import Transports

@Suite("Signing with cosign keys: generate-key, sign, verify", .serialized)
struct SigningCLITests {
    @Test("sign then verify against a real registry; OpenSSL checks the payload; re-pointing the tag fails; skopeo carries the .sig")
    func signVerify() async throws {
        let a = try RegistryServer(), b = try RegistryServer()
        let client = RegistryClient(registry: a.host, options: MirrorCLITests.noAuth)
        let tree = try SyntheticImage.index(layers: 1, layerSize: 20_000, seed: 501)
        let other = try SyntheticImage.single(layers: 1, layerSize: 10_000, seed: 502)
        try await SyntheticImage.push(tree, to: client, repository: "signed/app", tag: "1")
        try await SyntheticImage.push(other, to: client, repository: "signed/app", tag: "other")
        let dir = try TemporaryDirectory()
        try "pw\n".write(toFile: dir.file("pass"), atomically: false, encoding: .utf8)
        let gen = try Dray.run(["generate-key", "--prefix", dir.file("k"), "--passphrase-file", dir.file("pass")])
        #expect(gen.status == 0, "\(gen.stderr)")
        let mode = try FileManager.default.attributesOfItem(atPath: dir.file("k.key"))[.posixPermissions] as? NSNumber
        #expect(mode?.intValue == 0o600)
        #expect(try Dray.run(["generate-key", "--prefix", dir.file("k"), "--passphrase-file", dir.file("pass")]).status != 0,
                "refuses to overwrite without -y")

        let image = "\(a.host)/signed/app:1"
        let sign = try Dray.run(["sign", "--key", dir.file("k.key"), "--passphrase-file", dir.file("pass"), "--signature-format", "simplesigning", image])
        #expect(sign.status == 0 && sign.stdoutText.contains("4 new signatures"), "\(sign.stdoutText)\(sign.stderr)")
        let again = try Dray.run(["sign", "--key", dir.file("k.key"), "--passphrase-file", dir.file("pass"), "--signature-format", "simplesigning", image])
        #expect(again.stdoutText.contains("0 new signatures"), "signing twice adds nothing: \(again.stdoutText)")

        // The stored signature is cosign's format, and OpenSSL verifies it over the exact payload bytes.
        let sigTag = "sha256-\(tree.top.digest.hex).sig"
        guard case .image(let sigManifest) = try await client.manifest("signed/app", .tag(sigTag)).parsed() else {
            Issue.record("no signature manifest")
            return
        }
        #expect(sigManifest.layers.count == 1 && sigManifest.layers[0].mediaType.rawValue == "application/vnd.dev.cosign.simplesigning.v1+json")
        let layer = sigManifest.layers[0]
        var payload: [UInt8] = []
        let stream = client.blob("signed/app", layer)
        while let c = try await stream.next() { payload += c }
        try Data(payload).write(to: URL(fileURLWithPath: dir.file("payload")))
        try Data(base64Encoded: layer.annotations!["dev.cosignproject.cosign/signature"]!)!.write(to: URL(fileURLWithPath: dir.file("sig.der")))
        let ossl = try Shell.run("openssl", ["dgst", "-sha256", "-verify", dir.file("k.pub"), "-signature", dir.file("sig.der"), dir.file("payload")])
        #expect(ossl.stdoutText.contains("Verified OK"), "\(ossl.stdoutText)\(ossl.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(payload)) as! [String: Any]
        let critical = json["critical"] as! [String: Any]
        #expect((critical["image"] as! [String: String])["docker-manifest-digest"] == tree.top.digest.description)
        #expect((critical["identity"] as! [String: String])["docker-reference"] == image)

        let ok = try Dray.run(["verify", "--key", dir.file("k.pub"), image, "--report", dir.file("v.json"), "--format", "json"])
        #expect(ok.status == 0 && ok.stdoutText.contains("PASS \(image)"), "\(ok.stdoutText)\(ok.stderr)")
        let rows = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir.file("v.json")))) as! [[String: Any]]
        #expect(rows.first?["result"] as? String == "PASS")
        // Another key: bad signature.
        _ = try Dray.run(["generate-key", "--prefix", dir.file("k2"), "--passphrase-file", dir.file("pass")])
        let bad = try Dray.run(["verify", "--key", dir.file("k2.pub"), image])
        #expect(bad.status == 1 && bad.stdoutText.contains("bad signature"), "\(bad.stdoutText)")

        // skopeo copies the image with its sigstore attachment; dray verifies the copy (identity remapped).
        try FileManager.default.createDirectory(atPath: dir.file("registries.d"), withIntermediateDirectories: true)
        try "docker:\n  \(a.host):\n    use-sigstore-attachments: true\n  \(b.host):\n    use-sigstore-attachments: true\n"
            .write(toFile: dir.file("registries.d/dray.yaml"), atomically: false, encoding: .utf8)
        let sk = try Shell.run("skopeo", ["--registries.d", dir.file("registries.d"), "copy", "--all", "--preserve-digests",
                                          "--src-tls-verify=false", "--dest-tls-verify=false",
                                          "docker://\(image)", "docker://\(b.host)/copied/app:1"])
        #expect(sk.status == 0, "\(sk.stderr)")
        let copied = try Dray.run(["verify", "--key", dir.file("k.pub"), "\(b.host)/copied/app:1",
                                   "--identity", "remap:\(b.host)/copied=\(a.host)/signed"])
        #expect(copied.status == 0 && copied.stdoutText.contains("PASS"), "\(copied.stdoutText)\(copied.stderr)")
        let strict = try Dray.run(["verify", "--key", dir.file("k.pub"), "\(b.host)/copied/app:1"])
        #expect(strict.status == 1 && strict.stdoutText.contains("identity mismatch"), "\(strict.stdoutText)")

        // Re-point the tag at another image: its manifest is unsigned.
        try await client.putManifest("signed/app", .tag("1"), other.top)
        let moved = try Dray.run(["verify", "--key", dir.file("k.pub"), image])
        #expect(moved.status == 1 && moved.stdoutText.contains("FAIL \(image)") && moved.stdoutText.contains("unsigned"), "\(moved.stdoutText)")
    }
}

@Suite("Signing as cosign v3: Sigstore bundle referrers", .serialized)
struct BundleSigningCLITests {
    @Test("sign (default both): a bundle referrer and a .sig per manifest; re-run adds nothing; dray and, independently, Python (sigstore-python's sigstore-models, cryptography) verify the bundle")
    func bundleReferrers() async throws {
        let a = try RegistryServer()
        let client = RegistryClient(registry: a.host, options: MirrorCLITests.noAuth)
        let tree = try SyntheticImage.index(layers: 1, layerSize: 5_000, seed: 531)
        try await SyntheticImage.push(tree, to: client, repository: "signed/app", tag: "1")
        let dir = try TemporaryDirectory()
        try SignedMirrorCLITests.keyPair(dir)
        let image = "\(a.host)/signed/app:1"
        let sign = try Dray.run(["sign", "--key", dir.file("k.key"), "--passphrase-file", dir.file("pass"), image])
        // The index and its three platforms, each with a bundle and a .sig.
        #expect(sign.status == 0 && sign.stdoutText.contains("8 new signatures"), "\(sign.stdoutText)\(sign.stderr)")
        let again = try Dray.run(["sign", "--key", dir.file("k.key"), "--passphrase-file", dir.file("pass"), image])
        #expect(again.status == 0 && again.stdoutText.contains("0 new signatures"), "\(again.stdoutText)")

        let subjects = [tree.top.digest] + tree.children.map(\.digest)
        for subject in subjects {
            let listed = try await AttachmentFixtures.fallbackList(client, "signed/app", subject) ?? []
            #expect(listed.count == 1, "one bundle for \(subject): \(listed)")
            #expect(try await client.headManifest("signed/app", .tag("\(subject.algorithm.rawValue)-\(subject.hex).sig")) != nil)
        }
        // The referrer is laid out as cosign v3 writes it.
        guard let referrer = try await AttachmentFixtures.fallbackList(client, "signed/app", tree.top.digest)?.first else { return }
        let raw = try await client.manifest("signed/app", .digest(referrer))
        let m = try JSONSerialization.jsonObject(with: Data(raw.bytes)) as! [String: Any]
        let bundleType = "application/vnd.dev.sigstore.bundle.v0.3+json"
        #expect(m["artifactType"] as? String == bundleType)
        let config = m["config"] as! [String: Any]
        #expect(config["mediaType"] as? String == "application/vnd.oci.empty.v1+json"
                && config["digest"] as? String == "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a")
        let layers = m["layers"] as! [[String: Any]]
        #expect(layers.count == 1 && layers[0]["mediaType"] as? String == bundleType)
        #expect((m["subject"] as? [String: Any])?["digest"] as? String == tree.top.digest.description)
        let notes = m["annotations"] as? [String: String] ?? [:]
        #expect(notes["dev.sigstore.bundle.content"] == "dsse-envelope" && notes["dev.sigstore.bundle.predicateType"] == "https://sigstore.dev/cosign/sign/v1"
                && notes["org.opencontainers.image.created"] != nil, "\(notes)")
        let bundleDigest = try Digest(parsing: layers[0]["digest"] as! String)
        var bytes: [UInt8] = []
        let stream = client.blob("signed/app", Descriptor(mediaType: MediaType(rawValue: bundleType), digest: bundleDigest,
                                                          size: (layers[0]["size"] as! NSNumber).int64Value))
        while let chunk = try await stream.next() { bytes += chunk }
        try Data(bytes).write(to: URL(fileURLWithPath: dir.file("bundle.json")))

        // dray: the key, no log (signed offline); a wrong digest fails.
        let ok = try Dray.run(["verify-bundle", "--bundle", dir.file("bundle.json"), "--key", dir.file("k.pub"), "--insecure-ignore-tlog",
                               tree.top.digest.description])
        #expect(ok.status == 0, "\(ok.stderr)")
        let wrong = try Dray.run(["verify-bundle", "--bundle", dir.file("bundle.json"), "--key", dir.file("k.pub"), "--insecure-ignore-tlog",
                                  tree.children[0].digest.description])
        #expect(wrong.status == 1 && wrong.stderr.contains("no subject with the artifact's digest"), "\(wrong.stderr)")
        let needsLog = try Dray.run(["verify-bundle", "--bundle", dir.file("bundle.json"), "--key", dir.file("k.pub"), tree.top.digest.description])
        #expect(needsLog.status != 0 && needsLog.stderr.contains("--trusted-root is required"), "\(needsLog.stderr)")

        // dray verify reads both formats and reports each signature; either alone is enough.
        let verify = try Dray.run(["verify", "--key", dir.file("k.pub"), image, "--report", dir.file("v.json"), "--output", "json"])
        #expect(verify.status == 0 && verify.stdoutText.contains("PASS \(image)"), "\(verify.stdoutText)\(verify.stderr)")
        let rows = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir.file("v.json")))) as! [[String: Any]]
        #expect(Set(rows.compactMap { $0["format"] as? String }) == ["bundle", "simplesigning"] && rows.allSatisfy { $0["result"] as? String == "PASS" },
                "\(rows)")
        #expect(rows.contains { ($0["signer"] as? String)?.contains("no log entry: signed offline") == true }, "\(rows)")
        let bundleOnly = try Dray.run(["verify", "--key", dir.file("k.pub"), "--signature-format", "bundle", image, "--report", dir.file("v.csv"), "--output", "csv"])
        #expect(bundleOnly.status == 0 && bundleOnly.stdoutText.contains("bundle: key ") && bundleOnly.stdoutText.contains(", referrer sha256:"), "\(bundleOnly.stdoutText)")
        let csv = try String(contentsOfFile: dir.file("v.csv"), encoding: .utf8)
        #expect(csv.hasPrefix("image,digest,format,signer,result,reason\n") && csv.contains(",bundle,key "), "\(csv)")
        try SignedMirrorCLITests.keyPair(dir, "k2")
        let other = try Dray.run(["verify", "--key", dir.file("k2.pub"), image])
        #expect(other.status == 1 && other.stdoutText.contains("FAIL \(image)") && other.stdoutText.contains("bundle: ")
                && other.stdoutText.contains("bad signature"), "\(other.stdoutText)")
        let keyless = try Dray.run(["verify", "--certificate-identity", "x@example.com", "--certificate-oidc-issuer", "https://issuer", image])
        #expect(keyless.status != 0 && keyless.stderr.contains("needs --trusted-root"), "\(keyless.stderr)")

        // Python, independently: sigstore-python's models (sigstore-models) read the bundle; cryptography checks the DSSE signature over the
        // pre-authentication encoding with the cosign public key; the statement names the digest.
        let script = """
            import base64, json, sys
            from sigstore_models.bundle.v1 import Bundle
            from cryptography.hazmat.primitives import hashes, serialization
            from cryptography.hazmat.primitives.asymmetric import ec
            raw = open(sys.argv[1]).read()
            b = Bundle.from_json(raw)
            assert b.media_type == "application/vnd.dev.sigstore.bundle.v0.3+json", b.media_type
            env = b.dsse_envelope
            assert env.payload_type == "application/vnd.in-toto+json"
            pae = b"DSSEv1 %d %s %d " % (len(env.payload_type), env.payload_type.encode(), len(env.payload)) + env.payload
            key = serialization.load_pem_public_key(open(sys.argv[2], "rb").read())
            key.verify(env.signatures[0].sig, pae, ec.ECDSA(hashes.SHA256()))
            st = json.loads(env.payload)
            assert st["_type"] == "https://in-toto.io/Statement/v1" and st["predicateType"] == "https://sigstore.dev/cosign/sign/v1"
            assert any(s["digest"].get("sha256") == sys.argv[3] for s in st["subject"]), st["subject"]
            hint = base64.b64decode(b.verification_material.public_key.hint)
            assert len(hint) == 32
            print("python: bundle verified")
            """
        try script.write(toFile: dir.file("check.py"), atomically: false, encoding: .utf8)
        let py = try Shell.run("python3", [dir.file("check.py"), dir.file("bundle.json"), dir.file("k.pub"), tree.top.digest.hex])
        #expect(py.status == 0 && py.stdoutText.contains("python: bundle verified"), "\(py.stdoutText)\(py.stderr)")
    }
}

extension BundleSigningCLITests {
    @Test("a signed mirror (--signature-format both, the default) verifies with dray in both formats; a re-run adds nothing")
    func signedMirrorBothFormats() async throws {
        let a = try RegistryServer(), b = try RegistryServer()
        let client = RegistryClient(registry: a.host, options: MirrorCLITests.noAuth)
        let tree = try SyntheticImage.index(layers: 1, layerSize: 4_000, seed: 541)
        try await SyntheticImage.push(tree, to: client, repository: "team/app", tag: "1")
        let dir = try TemporaryDirectory()
        try SignedMirrorCLITests.keyPair(dir)
        try "\(a.host)/team/app:1\n".write(toFile: dir.file("list.txt"), atomically: false, encoding: .utf8)
        let mirror = ["mirror", "-f", dir.file("list.txt"), "-d", b.host, "--all", "-o", dir.file("f.txt"),
                      "--sigstore-private-key", dir.file("k.key"), "--sigstore-passphrase-file", dir.file("pass")]
        let first = try Dray.run(mirror + ["--report", dir.file("r1.json")])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(try SignedMirrorCLITests.reportImages(dir.file("r1.json")).first?["signaturesAdded"] as? Int == 8, "index and 3 platforms, 2 formats each")
        let again = try Dray.run(mirror + ["--report", dir.file("r2.json")])
        let added = try SignedMirrorCLITests.reportImages(dir.file("r2.json")).first?["signaturesAdded"] as? Int
        #expect(again.status == 0 && added == 0)
        let image = "\(b.host)/team/app:1"
        let verify = try Dray.run(["verify", "--key", dir.file("k.pub"), image, "--report", dir.file("v.json"), "--output", "json"])
        #expect(verify.status == 0, "\(verify.stdoutText)\(verify.stderr)")
        let rows = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir.file("v.json")))) as! [[String: Any]]
        #expect(rows.filter { $0["result"] as? String == "PASS" }.compactMap { $0["format"] as? String }.sorted() == ["bundle", "simplesigning"], "\(rows)")
        for format in ["bundle", "simplesigning"] {
            let one = try Dray.run(["verify", "--key", dir.file("k.pub"), "--signature-format", format, image])
            #expect(one.status == 0, "\(format): \(one.stdoutText)")
        }
    }
}
