import Engine
import Foundation
import Testing
import TestSupport
import Transports

/// The registry profile file, the host gate on every command, bounded token scopes, `dray registries`, and
/// Hangar v1.9's load flags.
@Suite("Registry profiles: the file, the host gate on every command, dray registries, Hangar's load flags")
struct RegistryProfilesCLITests {
    static let noAuth = MirrorCLITests.noAuth

    @Test("a profile file with bad YAML or an unknown key stops the run with one line naming the file and line; the default file under XDG_CONFIG_HOME is read")
    func badFiles() throws {
        let dir = try TemporaryDirectory()
        try "127.0.0.1:5000/a/b:1\n".write(toFile: dir.file("list.txt"), atomically: false, encoding: .utf8)
        try "registries:\n  \"127.0.0.1:5000\":\n    maxConnection: 3\n".write(toFile: dir.file("bad.yaml"), atomically: false, encoding: .utf8)
        let r = try Dray.run(["mirror", "-f", dir.file("list.txt"), "-d", "127.0.0.1:5001", "--registries-config", dir.file("bad.yaml"),
                              "-o", dir.file("f.txt")])
        #expect(r.status != 0)
        #expect(r.stderr == "dray: error: --registries-config \(dir.file("bad.yaml")):3: 127.0.0.1:5000: unknown key \"maxConnection\" (known: kind, apiHost, tlsVerify, certDir, authFile, credentialHelper, maxConnections, requestsPerSecond, upload, chunkSize, mount, referrers, tagPageSize, blobCheck, rateLimitMin)\n", "\(r.stderr)")
        try FileManager.default.createDirectory(atPath: dir.file("xdg/dray"), withIntermediateDirectories: true)
        try "registries:\n  x.io: [\n".write(toFile: dir.file("xdg/dray/registries.yaml"), atomically: false, encoding: .utf8)
        let x = try Dray.run(["save", "-f", dir.file("list.txt"), "-d", dir.file("out.tar.gz"), "-o", dir.file("f.txt")],
                             extraEnvironment: ["XDG_CONFIG_HOME": dir.file("xdg")])
        #expect(x.status != 0)
        #expect(x.stderr == "dray: error: \(dir.file("xdg/dray/registries.yaml")):3: not valid YAML\n", "\(x.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.file("out.tar.gz")))
    }

    @Test("save and load keep to --max-connections and --rate-limit like mirror: one host-wide gate for every command")
    func gateOnEveryCommand() async throws {
        let a = try RegistryServer(), b = try RegistryServer()
        let src = RegistryClient(registry: a.host, options: Self.noAuth)
        for i in 0..<6 {
            let tree = try SyntheticImage.index(layers: 2, layerSize: 30_000, seed: UInt64(5200 + i))
            try await SyntheticImage.push(tree, to: src, repository: "gate/app\(i)", tag: "1")
        }
        let pa = try FaultProxy(target: a.port), pb = try FaultProxy(target: b.port)
        let dir = try TemporaryDirectory()
        try (0..<6).map { "\(pa.host)/gate/app\($0):1" }.joined(separator: "\n").write(toFile: dir.file("list.txt"), atomically: false, encoding: .utf8)
        let save = try Dray.run(["save", "-f", dir.file("list.txt"), "-d", dir.file("s.tar.gz"), "--cache", dir.file("cache"), "--all",
                                 "-j", "6", "--max-connections", "\(pa.host)=2", "-o", dir.file("f.txt")])
        #expect(save.status == 0, "\(save.stderr.suffix(2000))")
        #expect(pa.maxInFlight <= 2 && pa.requests > 20, "save: \(pa.maxInFlight) in flight of \(pa.requests)")
        let started = ContinuousClock.now
        let load = try Dray.run(["load", "-s", dir.file("cache"), "-d", pb.host, "--all", "-j", "6", "--max-connections", "\(pb.host)=2",
                                 "--rate-limit", "\(pb.host)=200/s", "-o", dir.file("f2.txt"), "--report", dir.file("r.json")])
        #expect(load.status == 0, "\(load.stderr.suffix(2000))")
        #expect(pb.maxInFlight <= 2 && pb.requests > 20, "load: \(pb.maxInFlight) in flight of \(pb.requests)")
        // Paced at 200 requests a second: the requests cannot have taken less than that allows.
        #expect(ContinuousClock.now - started >= .seconds(Double(pb.requests - 1) / 200 * 0.9))
        let stats = (try MirrorCLITests.report(dir.file("r.json"))["registries"] as? [String: Any])?[pb.host] as? [String: Any]
        #expect((stats?["peakConcurrent"] as? Int ?? 99) <= 2, "\(String(describing: stats))")
    }

    @Test("tokens are asked per repository (plus the mount source): no scope list grows with the run")
    func tokenScopesStayBounded() async throws {
        let dir = try TemporaryDirectory()
        let a = try RegistryServer()
        let src = RegistryClient(registry: a.host, options: Self.noAuth)
        for i in 0..<8 {
            let tree = try SyntheticImage.index(platforms: [Platform(os: "linux", architecture: "amd64")], layers: 1, layerSize: 3000,
                                                seed: UInt64(5300 + i), sharedBase: [5])
            try await SyntheticImage.push(tree, to: src, repository: "scope/app\(i)", tag: "1")
        }
        let tokens = try TokenServer(folder: dir.path, users: ["ann": "Scope-Pass-71"])
        let b = try RegistryServer(auth: tokens.registryAuth)
        try (0..<8).map { "\(a.host)/scope/app\($0):1" }.joined(separator: "\n").write(toFile: dir.file("list.txt"), atomically: false, encoding: .utf8)
        let r = try Dray.run(["mirror", "-f", dir.file("list.txt"), "-d", b.host, "--dest-creds", "ann:Scope-Pass-71", "--all",
                              "-j", "4", "-o", dir.file("f.txt")])
        #expect(r.status == 0, "\(r.stderr.suffix(2000))")
        let scopes = tokens.requests.map { $0.query.filter { $0.0 == "scope" }.count }
        #expect(tokens.requests.count >= 8)
        #expect(scopes.allSatisfy { $0 <= 2 }, "scope counts: \(scopes)")
        // Mounts of the shared base happened, each with its source repository in the token.
        #expect(scopes.contains(2))
    }

    @Test("a profile's authFile and apiHost are used: credentials from the profile's auth file, requests to the API host")
    func profileCredentialsAndAPIHost() async throws {
        let reg = try RegistryServer(auth: .basic(username: "pia", password: "Profile-Pass-81"))
        let client = RegistryClient(registry: reg.host, options: RegistryOptions(credentials: CredentialStore(
            explicit: Credential(username: "pia", password: "Profile-Pass-81"), authFiles: [])))
        let tree = try SyntheticImage.single(layers: 1, layerSize: 500, seed: 5600)
        try await SyntheticImage.push(tree, to: client, repository: "prof/app", tag: "7")
        let dir = try TemporaryDirectory()
        let auth = Data("pia:Profile-Pass-81".utf8).base64EncodedString()
        // The reference names a host that does not resolve; the profile sends its requests to the real one.
        let alias = "registry.profile-test.invalid:\(reg.port)"
        try "{\"auths\":{\"\(alias)\":{\"auth\":\"\(auth)\"}}}".write(toFile: dir.file("auth.json"), atomically: false, encoding: .utf8)
        try "registries:\n  \"\(alias)\":\n    apiHost: \"\(reg.host)\"\n    authFile: \(dir.file("auth.json"))\n"
            .write(toFile: dir.file("r.yaml"), atomically: false, encoding: .utf8)
        let r = try Dray.run(["list-tags", "\(alias)/prof/app", "--registries-config", dir.file("r.yaml")])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdoutText == "7\n")
        let without = try Dray.run(["list-tags", "\(alias)/prof/app"])
        #expect(without.status != 0)
    }

    @Test("a host's referrers: tag keeps the fallback tag where the registry serves the API; without it the API alone is used")
    func referrersModePerHost() async throws {
        let a = try RegistryServer(), b = try RegistryServer()
        let api = try ReferrersProxy(target: b.port)
        let src = RegistryClient(registry: a.host, options: Self.noAuth)
        let tree = try SyntheticImage.single(layers: 1, layerSize: 800, seed: 5700)
        try await SyntheticImage.push(tree, to: src, repository: "ref/app", tag: "1")
        let bundle = try AttachmentFixtures.bundle(of: tree.top)
        try await AttachmentFixtures.pushReferrer(bundle, subject: tree.top.digest, to: src, repository: "ref/app")
        let dir = try TemporaryDirectory()
        try "\(a.host)/ref/app \(api.host)/tagged/app 1\n".write(toFile: dir.file("tagged.txt"), atomically: false, encoding: .utf8)
        try "\(a.host)/ref/app \(api.host)/plain/app 1\n".write(toFile: dir.file("plain.txt"), atomically: false, encoding: .utf8)
        try "registries:\n  \"\(api.host)\":\n    referrers: tag\n".write(toFile: dir.file("r.yaml"), atomically: false, encoding: .utf8)
        let tagged = try Dray.run(["mirror", "-f", dir.file("tagged.txt"), "--all", "--registries-config", dir.file("r.yaml"), "-o", dir.file("f.txt")])
        let plain = try Dray.run(["mirror", "-f", dir.file("plain.txt"), "--all", "-o", dir.file("f.txt")])
        #expect(tagged.status == 0 && plain.status == 0, "\(tagged.stderr.suffix(1000)) \(plain.stderr.suffix(1000))")
        let dst = RegistryClient(registry: b.host, options: Self.noAuth)
        #expect(try await AttachmentFixtures.fallbackList(dst, "tagged/app", tree.top.digest) == [bundle.manifest.digest])
        #expect(try await AttachmentFixtures.fallbackList(dst, "plain/app", tree.top.digest) == nil)
        #expect(api.referrers("plain/app", of: tree.top.digest).map(\.digest) == [bundle.manifest.digest])
    }

    @Test("dray registries prints each value with where it came from; --probe finds a Harbor")
    func registriesCommand() async throws {
        let registry = try RegistryServer()
        let harbor = try RegistryImitation(target: registry.port, mode: .harbor(.init()))
        let dir = try TemporaryDirectory()
        try "defaults:\n  maxConnections: 12\nregistries:\n  \"\(harbor.host)\":\n    upload: chunked\n    chunkSize: 4MiB\n"
            .write(toFile: dir.file("r.yaml"), atomically: false, encoding: .utf8)
        let r = try Dray.run(["registries", harbor.host, "quay.io", "--probe", "--registries-config", dir.file("r.yaml"),
                              "--rate-limit", "quay.io=5/s"])
        #expect(r.status == 0, "\(r.stderr)")
        let out = r.stdoutText
        #expect(out.contains("  upload             chunked                \(dir.file("r.yaml")):5"), "\(out)")
        #expect(out.contains("  chunkSize          4194304                \(dir.file("r.yaml")):6"))
        #expect(out.contains("  maxConnections     12                     \(dir.file("r.yaml")):2"))
        #expect(out.contains("  probe: harbor = yes"))
        #expect(out.contains("  kind               quay                   built in (quay)"))
        #expect(out.contains("  tagPageSize        100                    built in (quay)"))
        #expect(out.contains("  requestsPerSecond  5.0                    flag --rate-limit"))
        let json = try Dray.run(["registries", harbor.host, "--output", "json"])
        let parsed = try JSONSerialization.jsonObject(with: Data(json.stdout)) as? [[String: Any]]
        #expect(parsed?.first?["host"] as? String == harbor.host)
    }

    @Test("Hangar v1.9 load flags: -a/--os filter what is loaded, --project renames, --provenance=false drops attestation manifests, --skip-login")
    func hangarLoadFlags() async throws {
        let a = try RegistryServer(), b = try RegistryServer()
        let src = RegistryClient(registry: a.host, options: Self.noAuth)
        let tree = try AttachmentsCLITests.buildKitIndex(seed: 5400)
        try await SyntheticImage.push(tree, to: src, repository: "bk/app", tag: "1")
        let dir = try TemporaryDirectory()
        try "\(a.host)/bk/app:1\n".write(toFile: dir.file("list.txt"), atomically: false, encoding: .utf8)
        let save = try Dray.run(["save", "-f", dir.file("list.txt"), "-d", dir.file("s.tar.gz"), "--cache", dir.file("cache"), "--all",
                                 "-o", dir.file("f.txt")])
        #expect(save.status == 0, "\(save.stderr.suffix(2000))")
        let dst = RegistryClient(registry: b.host, options: Self.noAuth)

        // Hangar's defaults (amd64,arm64 on linux,windows) keep both platforms and their attestations: the same digest.
        let whole = try Dray.run(["load", "-s", dir.file("cache"), "-d", b.host, "--project", "other", "--skip-login", "-o", dir.file("f.txt")])
        #expect(whole.status == 0, "\(whole.stderr.suffix(2000))")
        #expect(try await dst.manifest("other/app", .tag("1")).bytes == tree.top.bytes)

        // amd64 only, without provenance: one entry left.
        let narrow = try Dray.run(["load", "-s", dir.file("cache"), "-d", b.host, "--project", "narrow", "-a", "amd64",
                                   "--provenance=false", "-o", dir.file("f.txt")])
        #expect(narrow.status == 0, "\(narrow.stderr.suffix(2000))")
        guard case .index(let index) = try await dst.manifest("narrow/app", .tag("1")).parsed() else {
            Issue.record("not an index"); return
        }
        #expect(index.manifests.count == 1)
        #expect(index.manifests.first?.platform?.architecture == "amd64")
        #expect(!index.manifests.contains(where: IndexSelection.isAttestation))

        // --os that matches nothing: nothing is loaded, and the run says so.
        let none = try Dray.run(["load", "-s", dir.file("cache"), "-d", b.host, "--project", "none", "--os", "windows",
                                 "-o", dir.file("f3.txt"), "--no-arch-os-fail"])
        #expect(try await dst.headManifest("none/app", .tag("1")) == nil, "\(none.stderr.suffix(1000))")
    }

    @Test("mirror --provenance=false drops BuildKit attestation manifests; the default keeps them")
    func mirrorProvenance() async throws {
        let a = try RegistryServer(), b = try RegistryServer()
        let src = RegistryClient(registry: a.host, options: Self.noAuth)
        let tree = try AttachmentsCLITests.buildKitIndex(seed: 5500)
        try await SyntheticImage.push(tree, to: src, repository: "bk/prov", tag: "1")
        let dir = try TemporaryDirectory()
        try "\(a.host)/bk/prov:1 \(b.host)/keep/prov 1\n\(a.host)/bk/prov:1 \(b.host)/drop/prov 1\n"
            .write(toFile: dir.file("keep.txt"), atomically: false, encoding: .utf8)
        try "\(a.host)/bk/prov \(b.host)/drop/prov 1\n".write(toFile: dir.file("drop.txt"), atomically: false, encoding: .utf8)
        try "\(a.host)/bk/prov \(b.host)/keep/prov 1\n".write(toFile: dir.file("keep.txt"), atomically: false, encoding: .utf8)
        let keep = try Dray.run(["mirror", "-f", dir.file("keep.txt"), "-o", dir.file("f.txt")])
        let drop = try Dray.run(["mirror", "-f", dir.file("drop.txt"), "--provenance=false", "-o", dir.file("f.txt")])
        #expect(keep.status == 0 && drop.status == 0, "\(keep.stderr.suffix(1000)) \(drop.stderr.suffix(1000))")
        let dst = RegistryClient(registry: b.host, options: Self.noAuth)
        #expect(try await dst.manifest("keep/prov", .tag("1")).bytes == tree.top.bytes)
        guard case .index(let index) = try await dst.manifest("drop/prov", .tag("1")).parsed() else { Issue.record("not an index"); return }
        #expect(index.manifests.count == 2 && !index.manifests.contains(where: IndexSelection.isAttestation))
    }
}
