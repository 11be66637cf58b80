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
        let sign = try Dray.run(["sign", "--key", dir.file("k.key"), "--passphrase-file", dir.file("pass"), image])
        #expect(sign.status == 0 && sign.stdoutText.contains("4 new signatures"), "\(sign.stdoutText)\(sign.stderr)")
        let again = try Dray.run(["sign", "--key", dir.file("k.key"), "--passphrase-file", dir.file("pass"), image])
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
