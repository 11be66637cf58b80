import Engine
import Foundation
import Testing
import TestSupport
import Transports

@Suite("dray copy / inspect / version", .serialized)
struct CopyInspectCLITests {
    static let noAuth = RegistryOptions(credentials: CredentialStore(authFiles: []))

    @Test("copy of a 3-platform index leaves byte-identical manifests; dray and skopeo inspect --raw agree")
    func copyIndex() async throws {
        let a = try RegistryServer(), b = try RegistryServer()
        let tree = try SyntheticImage.index(format: .oci, layers: 2, layerSize: 100_000, seed: 77)
        try await SyntheticImage.push(tree, to: RegistryClient(registry: a.host, options: Self.noAuth),
                                      repository: "demo/app", tag: "1.0")

        let copy = try Dray.run(["copy", "docker://\(a.host)/demo/app:1.0", "\(b.host)/mirror/app:1.0"])
        #expect(copy.status == 0, "\(copy.stderr)")
        #expect(copy.stdoutText.contains("Copied \(a.host)/demo/app:1.0 → \(b.host)/mirror/app:1.0 \(tree.top.digest)"))
        #expect(copy.stdoutText.contains("3 platforms"), "\(copy.stdoutText)")

        let rawA = try Dray.run(["inspect", "--raw", "\(a.host)/demo/app:1.0"])
        let rawB = try Dray.run(["inspect", "--raw", "\(b.host)/mirror/app:1.0"])
        #expect(rawA.status == 0 && rawB.status == 0)
        #expect(rawA.stdout == tree.top.bytes)
        #expect(rawB.stdout == rawA.stdout)
        if Shell.has("skopeo") {
            let sk = try Shell.run("skopeo", ["inspect", "--raw", "--tls-verify=false", "docker://\(b.host)/mirror/app:1.0"])
            #expect(sk.status == 0, "\(sk.stderr)")
            #expect(sk.stdout == rawB.stdout)
            for child in tree.children {
                let c = try Shell.run("skopeo", ["inspect", "--raw", "--tls-verify=false",
                                                 "docker://\(b.host)/mirror/app@\(child.digest)"])
                #expect(c.stdout == child.bytes)
            }
        } else {
            Issue.record("skopeo is not installed; the interop half of this test did not run")
        }

        let summary = try Dray.run(["inspect", "\(b.host)/mirror/app:1.0"])
        #expect(summary.status == 0)
        #expect(summary.stdoutText.contains("Digest:     \(tree.top.digest)"))
        for p in ["linux/amd64", "linux/arm64/v8", "linux/arm/v7"] { #expect(summary.stdoutText.contains(p)) }

        let config = try Dray.run(["inspect", "--config", "--arch", "arm64", "\(b.host)/mirror/app:1.0"])
        #expect(config.status == 0)
        let json = try JSONSerialization.jsonObject(with: Data(config.stdout)) as? [String: Any]
        #expect(json?["architecture"] as? String == "arm64")

        let one = try Dray.run(["inspect", "--arch", "arm", "\(b.host)/mirror/app:1.0"])
        #expect(one.stdoutText.contains("OS/Arch:    linux/arm/v7"))
        #expect(one.stdoutText.contains("Layers:     2"))
    }

    @Test("--arch/--os copy a filtered index; --tls-verify accepts Hangar's bare and skopeo's =BOOL forms")
    func filteredCopy() async throws {
        let a = try RegistryServer(), b = try RegistryServer()
        let tree = try SyntheticImage.index(format: .docker, seed: 78)
        try await SyntheticImage.push(tree, to: RegistryClient(registry: a.host, options: Self.noAuth),
                                      repository: "demo/app", tag: "2")
        let r = try Dray.run(["copy", "-a", "amd64", "--os", "linux", "--tls-verify", "false", "\(a.host)/demo/app:2",
                              "\(b.host)/demo/app:2"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdoutText.contains("filtered index"))
        let out = try Dray.run(["inspect", "--tls-verify=false", "\(b.host)/demo/app:2"])
        #expect(out.stdoutText.contains("linux/amd64"))
        #expect(!out.stdoutText.contains("linux/arm"))
        let bad = try Dray.run(["copy", "--all", "-a", "amd64", "\(a.host)/demo/app:2", "\(b.host)/demo/app:3"])
        #expect(bad.status != 0)
    }

    @Test("bad input: one-line errors, non-zero exits, no secrets", arguments: [
        (["copy", "Bad Ref", "x/y"], "invalid image reference \"Bad Ref\""),
        (["copy", "ftp://host/a", "x/y"], "known transports are docker://"),
        (["copy", "nginx@sha256:123", "x/y"], "invalid digest"),
        (["inspect", "reg.example/Team/app"], "repository name must be lowercase"),
        (["copy", "--src-creds", "nocolon", "a/b", "c/d"], "--src-creds: credentials must be given as USERNAME:PASSWORD"),
    ])
    func badInput(_ c: ([String], String)) throws {
        let r = try Dray.run(c.0)
        #expect(r.status != 0)
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(r.stderr)")
        #expect(r.stderr.contains(c.1), "\(r.stderr)")
    }

    @Test("401 names the registry and repository, and --debug logs requests without credentials")
    func authErrorsAndDebug() async throws {
        let reg = try RegistryServer(auth: .basic(username: "dave", password: "Pa55-secret"))
        let other = try RegistryServer()
        let noCreds = try Dray.run(["inspect", "\(reg.host)/private/app:1"])
        #expect(noCreds.status != 0)
        #expect(noCreds.stderr.contains("authentication required for \(reg.host)/private/app"), "\(noCreds.stderr)")

        let tree = try SyntheticImage.single(seed: 80)
        let client = RegistryClient(registry: reg.host, options: RegistryOptions(
            credentials: CredentialStore(explicit: Credential(username: "dave", password: "Pa55-secret"), authFiles: [])))
        try await SyntheticImage.push(tree, to: client, repository: "private/app", tag: "1")

        let dir = try TemporaryDirectory()
        try "dave:Pa55-secret\n".write(toFile: dir.file("creds"), atomically: false, encoding: .utf8)
        let r = try Dray.run(["copy", "--debug", "--src-creds-file", dir.file("creds"), "\(reg.host)/private/app:1",
                              "\(other.host)/public/app:1"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("GET http://\(reg.host)/v2/private/app/manifests/1 → 200"))
        #expect(r.stderr.contains("PUT http://\(other.host)/v2/public/app/manifests/1 → 201"))
        let basic = Data("dave:Pa55-secret".utf8).base64EncodedString()
        for secret in ["Pa55-secret", basic] {
            #expect(!r.stderr.contains(secret))
            #expect(!r.stdoutText.contains(secret))
        }

        let wrong = try Dray.run(["inspect", "--creds", "dave:Wrong-secret", "\(reg.host)/private/app:1"])
        #expect(wrong.status != 0)
        #expect(!wrong.stderr.contains("Wrong-secret"))
    }

    @Test("an unreachable registry fails within the connect timeout")
    func unreachable() throws {
        let port = try freeLoopbackPort()
        let started = Date()
        let r = try Dray.run(["inspect", "127.0.0.1:\(port)/a/b:1"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("127.0.0.1:\(port)"))
        #expect(r.stderr.split(separator: "\n").count == 1)
        #expect(Date().timeIntervalSince(started) < 10)
    }

    @Test("credentials from $REGISTRY_AUTH_FILE, ~/.docker/config.json and a docker-credential helper")
    func credentialSources() async throws {
        let reg = try RegistryServer(auth: .basic(username: "erin", password: "helper-pw"))
        let tree = try SyntheticImage.single(seed: 90)
        try await SyntheticImage.push(tree, to: RegistryClient(registry: reg.host, options: RegistryOptions(
            credentials: CredentialStore(explicit: Credential(username: "erin", password: "helper-pw"), authFiles: []))),
                                      repository: "cred/app", tag: "1")
        let dir = try TemporaryDirectory()
        let b64 = Data("erin:helper-pw".utf8).base64EncodedString()

        // $REGISTRY_AUTH_FILE (containers auth.json)
        try #"{"auths":{"\#(reg.host)/cred":{"auth":"\#(b64)"}}}"#.write(toFile: dir.file("auth.json"), atomically: false, encoding: .utf8)
        let viaEnv = try Dray.run(["inspect", "\(reg.host)/cred/app:1"], extraEnvironment: ["REGISTRY_AUTH_FILE": dir.file("auth.json")])
        #expect(viaEnv.status == 0, "\(viaEnv.stderr)")

        // ~/.docker/config.json naming a credential helper found on PATH.
        try FileManager.default.createDirectory(atPath: dir.file("home/.docker"), withIntermediateDirectories: true)
        try #"{"auths":{},"credHelpers":{"\#(reg.host)":"draytest"}}"#.write(toFile: dir.file("home/.docker/config.json"), atomically: false, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: dir.file("bin"), withIntermediateDirectories: true)
        let helper = dir.file("bin/docker-credential-draytest")
        try """
            #!/bin/sh
            read server
            [ "$1" = get ] && [ "$server" = "\(reg.host)" ] || exit 1
            echo '{"ServerURL":"\(reg.host)","Username":"erin","Secret":"helper-pw"}'
            """.write(toFile: helper, atomically: false, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: helper)
        let path = dir.file("bin") + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        let viaHelper = try Dray.run(["inspect", "--raw", "\(reg.host)/cred/app:1"], home: dir.file("home"),
                                     extraEnvironment: ["PATH": path])
        #expect(viaHelper.status == 0, "\(viaHelper.stderr)")
        #expect(viaHelper.stdout == tree.top.bytes)

        // Without any source the registry says no.
        let none = try Dray.run(["inspect", "\(reg.host)/cred/app:1"])
        #expect(none.status != 0)
    }

    @Test("http_proxy from the environment is honoured")
    func proxyEnvironment() throws {
        let proxy = try MiniHTTPServer { _ in .init(status: 404) }
        let target = "127.0.0.2:\(try freeLoopbackPort())"
        let r = try Dray.run(["inspect", "\(target)/a/b:1"],
                             extraEnvironment: ["http_proxy": "http://\(proxy.host)", "no_proxy": "", "NO_PROXY": ""])
        #expect(r.status != 0)
        #expect(proxy.requests.first?.target == "http://\(target)/v2/")
    }

    @Test("version names dray, libcurl and OpenSSL")
    func version() throws {
        let r = try Dray.run(["version"])
        #expect(r.status == 0)
        #expect(r.stdoutText.hasPrefix("dray \(DrayVersion.string)\n"))
        #expect(r.stdoutText.contains("libcurl"))
        #expect(r.stdoutText.contains("OpenSSL"))
    }
}
