import Engine
import Foundation
import Testing
import TestSupport
import Transports

/// Verify before mirroring: `--verify-key` (and the keyless flags) let through only images whose source signatures
/// verify, in either format, and the report says which signature let each in.
@Suite("The verify-before-mirroring gate", .serialized)
struct GateCLITests {
    @Test("of six images, three unsigned and one signed by another key, exactly the two signed with the key go through (mirror and load); reasons in the failed list and report")
    func onlySignedImages() async throws {
        let a = try RegistryServer(), b = try RegistryServer(), c = try RegistryServer()
        let client = RegistryClient(registry: a.host, options: MirrorCLITests.noAuth)
        let dir = try TemporaryDirectory()
        try SignedMirrorCLITests.keyPair(dir, "k")
        try SignedMirrorCLITests.keyPair(dir, "other")
        var lines: [String] = []
        for i in 0..<6 {
            let tree = i == 0 ? try SyntheticImage.index(layers: 1, layerSize: 3_000, seed: 560)
                : try SyntheticImage.single(layers: 1, layerSize: 3_000, seed: 560 + UInt64(i))
            try await SyntheticImage.push(tree, to: client, repository: "team/app\(i)", tag: "1")
            lines.append("\(a.host)/team/app\(i):1")
        }
        // app0 (an index): both formats; app1: a bundle only; app2: another key; app3-5: unsigned.
        func sign(_ image: String, key: String, format: String) throws {
            let r = try Dray.run(["sign", "--key", dir.file("\(key).key"), "--passphrase-file", dir.file("pass"), "--signature-format", format, image])
            #expect(r.status == 0, "\(r.stdoutText)\(r.stderr)")
        }
        try sign(lines[0], key: "k", format: "both")
        try sign(lines[1], key: "k", format: "bundle")
        try sign(lines[2], key: "other", format: "both")
        try lines.joined(separator: "\n").write(toFile: dir.file("list.txt"), atomically: false, encoding: .utf8)

        let mirror = try Dray.run(["mirror", "-f", dir.file("list.txt"), "-d", b.host, "--all", "-o", dir.file("failed.txt"),
                                   "--verify-key", dir.file("k.pub"), "--report", dir.file("r.json")])
        #expect(mirror.status == 1, "\(mirror.stderr)")
        let dst = RegistryClient(registry: b.host, options: MirrorCLITests.noAuth)
        for i in 0..<6 {
            let there = try await dst.headManifest("team/app\(i)", .tag("1")) != nil
            #expect(there == (i < 2), "app\(i) \(there ? "was" : "was not") copied")
        }
        let failedLines = try String(contentsOfFile: dir.file("failed.txt"), encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(Set(failedLines) == Set(lines[2...]), "\(failedLines)")
        let images = try SignedMirrorCLITests.reportImages(dir.file("r.json"))
        func row(_ i: Int) -> [String: Any]? { images.first { ($0["source"] as? String) == lines[i] } }
        #expect((row(0)?["admittedBy"] as? String)?.hasPrefix("bundle, key ") == true, "\(row(0) ?? [:])")
        #expect((row(1)?["admittedBy"] as? String)?.contains("bundle, key") == true, "\(row(1) ?? [:])")
        #expect((row(2)?["error"] as? String)?.contains("not admitted") == true && (row(2)?["error"] as? String)?.contains("bad signature") == true,
                "\(row(2) ?? [:])")
        #expect((row(3)?["error"] as? String)?.contains("unsigned") == true, "\(row(3) ?? [:])")

        // save's gate: the archive holds only the signed images.
        let gated = try Dray.run(["save", "-f", dir.file("list.txt"), "-d", dir.file("gated.tar.zst"), "--compress", "zstd", "--all",
                                  "--cache", dir.file("gcache"), "-o", dir.file("gated-failed.txt"), "--verify-key", dir.file("k.pub")])
        #expect(gated.status == 1, "\(gated.stderr)")
        let ls = try Dray.run(["archive", "ls", dir.file("gated.tar.zst")])
        #expect(ls.stdoutText.contains("2 images") && ls.stdoutText.contains("team/app0:1") && ls.stdoutText.contains("team/app1:1")
                && !ls.stdoutText.contains("team/app2:1"), "\(ls.stdoutText)")

        // sync's gate: the cache gets only the signed images.
        let synced = try Dray.run(["sync", "-f", dir.file("list.txt"), "-d", dir.file("scache"), "--all", "-o", dir.file("sync-failed.txt"),
                                   "--verify-key", dir.file("k.pub")])
        #expect(synced.status == 1, "\(synced.stderr)")
        let inCache = try OCILayout(path: dir.file("scache"), create: false).names().filter { !LayoutNaming.isAttachment($0) }
        #expect(Set(inCache) == Set(lines[0..<2]), "\(inCache)")

        // The same gate on load: the archive carries the signatures; only the signed images are loaded.
        let save = try Dray.run(["save", "-f", dir.file("list.txt"), "-d", dir.file("all.tar.zst"), "--compress", "zstd", "--all",
                                 "--cache", dir.file("cache"), "-o", dir.file("save-failed.txt")])
        #expect(save.status == 0, "\(save.stderr)")
        let load = try Dray.run(["load", "--all", "-s", dir.file("all.tar.zst"), "-d", c.host, "--verify-key", dir.file("k.pub"), "-o", dir.file("load-failed.txt")])
        #expect(load.status == 1, "\(load.stderr)")
        let loaded = RegistryClient(registry: c.host, options: MirrorCLITests.noAuth)
        for i in 0..<6 {
            let there = try await loaded.headManifest("team/app\(i)", .tag("1")) != nil
            #expect(there == (i < 2), "load: app\(i) \(there ? "was" : "was not") loaded: \(load.stderr)")
        }
    }

    @Test("a filtered index: --verify-policy any takes the original index's signature, all-platforms needs each kept platform's; flags are checked")
    func filteredIndexPolicy() async throws {
        let a = try RegistryServer(), b = try RegistryServer()
        let client = RegistryClient(registry: a.host, options: MirrorCLITests.noAuth)
        let tree = try SyntheticImage.index(layers: 1, layerSize: 3_000, seed: 570)
        try await SyntheticImage.push(tree, to: client, repository: "team/app", tag: "1")
        let dir = try TemporaryDirectory()
        try SignedMirrorCLITests.keyPair(dir, "k")
        let image = "\(a.host)/team/app:1"
        // The index and its amd64 manifest are signed; arm64 is not.
        let sign = try Dray.run(["sign", "--key", dir.file("k.key"), "--passphrase-file", dir.file("pass"), "--arch", "amd64", image])
        #expect(sign.status == 0, "\(sign.stderr)")
        try "\(image)\n".write(toFile: dir.file("list.txt"), atomically: false, encoding: .utf8)
        func mirror(_ arch: String, _ policy: String, project: String) throws -> (Shell.Result, [String: Any]?) {
            let r = try Dray.run(["mirror", "-f", dir.file("list.txt"), "-d", b.host, "--arch", arch, "--os", "linux", "--destination-project", project,
                                  "-o", dir.file("f.txt"), "--verify-key", dir.file("k.pub"), "--verify-policy", policy, "--report", dir.file("r.json")])
            return (r, try SignedMirrorCLITests.reportImages(dir.file("r.json")).first)
        }
        let (anyArm, anyRow) = try mirror("arm64", "any", project: "any")
        #expect(anyArm.status == 0 && (anyRow?["admittedBy"] as? String)?.contains("the original index") == true, "\(anyArm.stderr)")
        let (allArm, allRow) = try mirror("arm64", "all-platforms", project: "allarm")
        #expect(allArm.status == 1 && (allRow?["error"] as? String)?.contains("platform manifest") == true, "\(allArm.stderr)")
        let (allAmd, amdRow) = try mirror("amd64", "all-platforms", project: "allamd")
        #expect(allAmd.status == 0 && (amdRow?["admittedBy"] as? String)?.contains("kept platform") == false
                && (amdRow?["admittedBy"] as? String)?.contains("on each of 1 manifest") == true, "\(amdRow ?? [:])")

        let noRoot = try Dray.run(["mirror", "-f", dir.file("list.txt"), "-d", b.host, "--verify-certificate-identity", "x@example.com",
                                   "--verify-certificate-oidc-issuer", "https://issuer"])
        #expect(noRoot.status != 0 && noRoot.stderr.contains("--verify-certificate-identity needs --trusted-root"), "\(noRoot.stderr)")
        let badPolicy = try Dray.run(["mirror", "-f", dir.file("list.txt"), "-d", b.host, "--verify-key", dir.file("k.pub"), "--verify-policy", "most"])
        #expect(badPolicy.status != 0 && badPolicy.stderr.contains("--verify-policy: \"most\" is not any or all-platforms"), "\(badPolicy.stderr)")
    }
}

extension GateCLITests {
    @Test("save --include-trust carries the key into the archive; load --verify-included-trust lets in only what it signed, from the archive and from its decompressed folder; bad trust files are refused")
    func includedTrust() async throws {
        let a = try RegistryServer(), b = try RegistryServer(), c = try RegistryServer()
        let client = RegistryClient(registry: a.host, options: MirrorCLITests.noAuth)
        let dir = try TemporaryDirectory()
        try SignedMirrorCLITests.keyPair(dir, "k")
        var lines: [String] = []
        for i in 0..<3 {
            let tree = try SyntheticImage.single(layers: 1, layerSize: 2_000, seed: 580 + UInt64(i))
            try await SyntheticImage.push(tree, to: client, repository: "team/app\(i)", tag: "1")
            lines.append("\(a.host)/team/app\(i):1")
        }
        let sign = try Dray.run(["sign", "--key", dir.file("k.key"), "--passphrase-file", dir.file("pass"), lines[0]])
        #expect(sign.status == 0, "\(sign.stderr)")
        try lines.joined(separator: "\n").write(toFile: dir.file("list.txt"), atomically: false, encoding: .utf8)
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("SigningTests/Fixtures/sigstore-conformance/trusted_root.public-good.json").path
        let save = try Dray.run(["save", "-f", dir.file("list.txt"), "-d", dir.file("t.tar.gz"), "--cache", dir.file("cache"),
                                 "--include-trust", dir.file("k.pub"), root, "-o", dir.file("sf.txt")])
        #expect(save.status == 0, "\(save.stderr)")
        let load = try Dray.run(["load", "--all", "-s", dir.file("t.tar.gz"), "-d", b.host, "--verify-included-trust", "-o", dir.file("lf.txt")])
        #expect(load.status == 1, "\(load.stderr)")
        let dst = RegistryClient(registry: b.host, options: MirrorCLITests.noAuth)
        for i in 0..<3 {
            let there = try await dst.headManifest("team/app\(i)", .tag("1")) != nil
            #expect(there == (i == 0), "app\(i): \(load.stderr)")
        }
        // verify takes the same carried key for the loaded image.
        let verify = try Dray.run(["verify", "--trust-from", dir.file("t.tar.gz"), "\(b.host)/team/app0:1"])
        #expect(verify.status == 0 && verify.stdoutText.contains("archive:k.pub"), "\(verify.stdoutText)\(verify.stderr)")
        let noTrust = try Dray.run(["verify", "--trust-from", dir.file("list.txt"), "\(b.host)/team/app0:1"])
        #expect(noTrust.status != 0 && noTrust.stderr.contains("--trust-from"), "\(noTrust.stderr)")

        // The folder decompress makes carries the trust too.
        #expect(try Dray.run(["decompress", "-f", dir.file("t.tar.gz"), "-d", dir.file("unpacked")]).status == 0)
        #expect(FileManager.default.fileExists(atPath: dir.file("unpacked/dray-trust/k.pub")))
        let fromFolder = try Dray.run(["load", "--all", "-s", dir.file("unpacked"), "-d", c.host, "--verify-included-trust", "-o", dir.file("lf2.txt")])
        #expect(fromFolder.status == 1, "\(fromFolder.stderr)")
        let folderDst = RegistryClient(registry: c.host, options: MirrorCLITests.noAuth)
        let signedThere = try await folderDst.headManifest("team/app0", .tag("1")) != nil
        let unsignedThere = try await folderDst.headManifest("team/app1", .tag("1")) != nil
        #expect(signedThere && !unsignedThere, "\(fromFolder.stderr)")

        // An archive without trust, and trust files that are not keys or roots.
        let plain = try Dray.run(["save", "-f", dir.file("list.txt"), "-d", dir.file("p.tar.gz"), "--cache", dir.file("cache"), "-o", dir.file("sf.txt")])
        #expect(plain.status == 0)
        let none = try Dray.run(["load", "--all", "-s", dir.file("p.tar.gz"), "-d", c.host, "--verify-included-trust", "-o", dir.file("lf3.txt")])
        #expect(none.status != 0 && none.stderr.contains("carries no keys or trusted root"), "\(none.stderr)")
        // A trusted root alone names no signer: the flag refuses to load unchecked.
        let rootOnly = try Dray.run(["save", "-f", dir.file("list.txt"), "-d", dir.file("r.tar.gz"), "--cache", dir.file("cache"),
                                     "--include-trust", root, "-o", dir.file("sf.txt")])
        #expect(rootOnly.status == 0, "\(rootOnly.stderr)")
        let unchecked = try Dray.run(["load", "--all", "-s", dir.file("r.tar.gz"), "-d", c.host, "--verify-included-trust", "-o", dir.file("lf4.txt")])
        #expect(unchecked.status != 0 && unchecked.stderr.contains("carries a trusted root but no key"), "\(unchecked.stderr)")
        // An Ed25519 key is a bundle key, not a usage error (cosign .sig keys are P-256).
        #expect(try Shell.run("sh", ["-c", "openssl genpkey -algorithm ed25519 | openssl pkey -pubout -out \(dir.file("ed.pub"))"]).status == 0)
        let ed = try Dray.run(["load", "--all", "-s", dir.file("t.tar.gz"), "-d", c.host, "--verify-key", dir.file("ed.pub"), "--destination-project", "ed",
                                "-o", dir.file("lf5.txt")])
        #expect(ed.status == 1 && ed.stderr.contains("not admitted") && !ed.stderr.contains("ECDSA P-256"), "\(ed.stderr)")
        let bad = try Dray.run(["save", "-f", dir.file("list.txt"), "-d", dir.file("x.tar.gz"), "--include-trust", dir.file("list.txt")])
        #expect(bad.status != 0 && bad.stderr.contains("--include-trust") && bad.stderr.contains("list.txt is neither a PEM public key nor a trusted root"),
                "\(bad.stderr)")
    }
}

extension GateCLITests {
    @Test("keyless cosign v2 .sig signatures (a synthetic Fulcio, CT log and Rekor): verify checks them against the trusted root and identity, and the gate lets in only the image so signed")
    func keylessLegacySignatures() async throws {
        let a = try RegistryServer(), b = try RegistryServer()
        let client = RegistryClient(registry: a.host, options: MirrorCLITests.noAuth)
        let identity = "https://github.com/org/repo/.github/workflows/release.yml@refs/heads/main"
        let issuer = "https://token.actions.githubusercontent.com"
        let sigstore = SyntheticSigstore()
        var lines: [String] = []
        for i in 0..<2 {
            let tree = try SyntheticImage.single(layers: 1, layerSize: 2_000, seed: 590 + UInt64(i))
            try await SyntheticImage.push(tree, to: client, repository: "team/app\(i)", tag: "1")
            lines.append("\(a.host)/team/app\(i):1")
            guard i == 0 else { continue }
            // app0: a keyless .sig as cosign v2 writes it.
            let payload = Array(#"{"critical":{"identity":{"docker-reference":"\#(a.host)/team/app0"},"image":{"docker-manifest-digest":"\#(tree.top.digest)"},"type":"cosign container image signature"},"optional":null}"#.utf8)
            let layer = Descriptor(mediaType: SignatureAttachment.layerType, digest: .sha256(of: payload), size: Int64(payload.count),
                                   annotations: sigstore.keylessLayerAnnotations(payload: payload, identity: identity, issuer: issuer))
            let (manifest, config) = try SignatureAttachment.build(layers: [layer])
            let built = SyntheticImage.Built(manifest: manifest, blobs: [
                (layer, payload), (Descriptor(mediaType: .ociConfig, digest: .sha256(of: config), size: Int64(config.count)), config),
            ])
            try await AttachmentFixtures.pushLegacy(built, kind: "sig", subject: tree.top.digest, to: client, repository: "team/app0")
        }
        let dir = try TemporaryDirectory()
        try Data(sigstore.trustedRootJSON()).write(to: URL(fileURLWithPath: dir.file("root.json")))
        let keyless = ["--trusted-root", dir.file("root.json"), "--certificate-identity", identity, "--certificate-oidc-issuer", issuer]

        let verify = try Dray.run(["verify"] + keyless + lines + ["--report", dir.file("v.json"), "--output", "json"])
        #expect(verify.status == 1 && verify.stdoutText.contains("PASS \(lines[0])") && verify.stdoutText.contains("FAIL \(lines[1])"),
                "\(verify.stdoutText)\(verify.stderr)")
        #expect(verify.stdoutText.contains("keyless") && verify.stdoutText.contains(identity), "\(verify.stdoutText)")
        let wrong = try Dray.run(["verify", "--trusted-root", dir.file("root.json"), "--certificate-identity-regexp", "^https://github.com/other/",
                                  "--certificate-oidc-issuer", issuer, lines[0]])
        #expect(wrong.status == 1, "\(wrong.stdoutText)")

        try lines.joined(separator: "\n").write(toFile: dir.file("list.txt"), atomically: false, encoding: .utf8)
        let mirror = try Dray.run(["mirror", "-f", dir.file("list.txt"), "-d", b.host, "-o", dir.file("f.txt"), "--report", dir.file("r.json"),
                                   "--trusted-root", dir.file("root.json"), "--verify-certificate-identity-regexp", "^https://github.com/org/",
                                   "--verify-certificate-oidc-issuer", issuer])
        #expect(mirror.status == 1, "\(mirror.stderr)")
        let dst = RegistryClient(registry: b.host, options: MirrorCLITests.noAuth)
        let signedThere = try await dst.headManifest("team/app0", .tag("1")) != nil
        let unsignedThere = try await dst.headManifest("team/app1", .tag("1")) != nil
        #expect(signedThere && !unsignedThere, "\(mirror.stderr)")
        let row = try SignedMirrorCLITests.reportImages(dir.file("r.json")).first { ($0["source"] as? String) == lines[0] }
        #expect((row?["admittedBy"] as? String)?.contains("keyless") == true, "\(row ?? [:])")
    }
}
