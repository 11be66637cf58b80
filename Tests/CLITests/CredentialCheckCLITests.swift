import Engine
import Foundation
import Testing
import TestSupport
import Transports

/// mirror's check of the destinations before a run: one line per way of being refused, and nothing copied.
@Suite("dray mirror's destination check", .serialized)
struct CredentialCheckCLITests {
    /// Three images on a fresh registry, and a list naming them.
    static func source(_ dir: TemporaryDirectory) async throws -> RegistryServer {
        let a = try RegistryServer()
        let client = RegistryClient(registry: a.host, options: MirrorCLITests.noAuth)
        var lines: [String] = []
        for i in 0..<3 {
            try await SyntheticImage.push(try SyntheticImage.single(seed: UInt64(9400 + i)), to: client, repository: "cc/app\(i)", tag: "1")
            lines.append("\(a.host)/cc/app\(i):1")
        }
        try lines.joined(separator: "\n").write(toFile: dir.file("list.txt"), atomically: false, encoding: .utf8)
        return a
    }

    @Test("a wrong password stops the run once, before copying; missing credentials say so differently")
    func basic() async throws {
        let dir = try TemporaryDirectory()
        let a = try await Self.source(dir)
        defer { withExtendedLifetime(a) {} }
        let b = try RegistryServer(auth: .basic(username: "cc", password: "Right-Pass-61"))
        let wrong = try Dray.run(["mirror", "-f", dir.file("list.txt"), "-d", b.host, "--dest-creds", "cc:Wrong-Pass-62",
                                  "-o", dir.file("f.txt")])
        #expect(wrong.status == 1)
        #expect(wrong.stderr == "dray: error: destination registry \(b.host) refused the password of cc (HTTP 401): check --dest-creds, the auth file or the image-syncer auth entry\n",
                "\(wrong.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.file("f.txt")), "nothing ran, so nothing failed")

        let missing = try Dray.run(["mirror", "-f", dir.file("list.txt"), "-d", b.host, "-o", dir.file("f.txt")])
        #expect(missing.status == 1)
        #expect(missing.stderr == "dray: error: destination registry \(b.host) asks for credentials and none were found: give --dest-creds or --dest-creds-file, or run dray login \(b.host)\n",
                "\(missing.stderr)")

        let dst = RegistryClient(registry: b.host, options: RegistryOptions(
            credentials: CredentialStore(explicit: Credential(username: "cc", password: "Right-Pass-61"), authFiles: [])))
        #expect(try await dst.headManifest("cc/app0", .tag("1")) == nil)
        let ok = try Dray.run(["mirror", "-f", dir.file("list.txt"), "-d", b.host, "--dest-creds", "cc:Right-Pass-61",
                               "-o", dir.file("f.txt")])
        #expect(ok.status == 0, "\(ok.stderr.suffix(1500))")
    }

    @Test("a token service that refuses the password gets its own line")
    func token() async throws {
        let dir = try TemporaryDirectory()
        let a = try await Self.source(dir)
        defer { withExtendedLifetime(a) {} }
        let tokens = try TokenServer(folder: dir.path, users: ["tom": "Token-Pass-63"])
        let b = try RegistryServer(auth: tokens.registryAuth)
        let r = try Dray.run(["mirror", "-f", dir.file("list.txt"), "-d", b.host, "--dest-creds", "tom:Wrong-Pass-64",
                              "-o", dir.file("f.txt")])
        #expect(r.status == 1)
        #expect(r.stderr.hasPrefix("dray: error: the token service of destination registry \(b.host) refused a token to tom (HTTP "), "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1 && !r.stderr.contains("[IMG:"))
    }

    @Test("a certificate that does not verify points at --cert-dir and --tls-verify=false, not --skip-login")
    func tls() async throws {
        let dir = try TemporaryDirectory()
        let a = try await Self.source(dir)
        defer { withExtendedLifetime(a) {} }
        let ca = try TestCA(in: dir.path)
        let b = try RegistryServer(tlsCertificate: try ca.serverCertificate())
        let r = try Dray.run(["mirror", "-f", dir.file("list.txt"), "-d", b.host, "-o", dir.file("f.txt")])
        #expect(r.status == 1)
        #expect(r.stderr.hasPrefix("dray: error: destination registry \(b.host): TLS failed ("), "\(r.stderr)")
        #expect(r.stderr.contains("trust its CA with --cert-dir (DIR/\(b.host)/ca.crt), or pass --tls-verify=false"))
        #expect(!r.stderr.contains("--skip-login"))
    }
}
