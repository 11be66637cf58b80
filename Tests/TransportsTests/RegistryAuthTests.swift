import Engine
import Foundation
import Testing
import TestSupport
@testable import Transports

@Suite("Registry authentication and TLS", .serialized)
struct RegistryAuthTests {
    static let noFiles = CredentialStore(authFiles: [])

    @Test("htpasswd basic auth: copy with credentials, clear errors without or with wrong ones")
    func basicAuth() async throws {
        let reg = try RegistryServer(auth: .basic(username: "alice", password: "s3cret-pw"))
        let good = RegistryClient(registry: reg.host, options: RegistryOptions(
            credentials: CredentialStore(explicit: Credential(username: "alice", password: "s3cret-pw"), authFiles: [])))
        let tree = try SyntheticImage.single(seed: 41)
        try await SyntheticImage.push(tree, to: good, repository: "auth/app", tag: "1")
        try await RegistryAssertionsAuth.holds(tree, good, "auth/app", "1")

        let anonymous = RegistryClient(registry: reg.host, options: RegistryOptions(credentials: Self.noFiles))
        do {
            _ = try await anonymous.manifest("auth/app", .tag("1"))
            Issue.record("anonymous pull should fail")
        } catch let e as RegistryError {
            #expect(e.status == 401)
            #expect("\(e)".contains("authentication required for \(reg.host)/auth/app"))
        }
        let wrong = RegistryClient(registry: reg.host, options: RegistryOptions(
            credentials: CredentialStore(explicit: Credential(username: "alice", password: "nope-pw"), authFiles: [])))
        do {
            _ = try await wrong.manifest("auth/app", .tag("1"))
            Issue.record("wrong password should fail")
        } catch let e as RegistryError {
            #expect(e.status == 401)
            #expect(!"\(e)".contains("nope-pw"))
        }
    }

    @Test("credentials come from a docker config.json auth file")
    func authFile() async throws {
        let reg = try RegistryServer(auth: .basic(username: "bob", password: "file-pw"))
        let dir = try TemporaryDirectory()
        let auth = Data("bob:file-pw".utf8).base64EncodedString()
        try #"{"auths":{"\#(reg.host)":{"auth":"\#(auth)"}}}"#.write(toFile: dir.file("config.json"), atomically: false, encoding: .utf8)
        let client = RegistryClient(registry: reg.host, options: RegistryOptions(
            credentials: CredentialStore(authFiles: [dir.file("missing.json"), dir.file("config.json")])))
        let tree = try SyntheticImage.single(seed: 42)
        try await SyntheticImage.push(tree, to: client, repository: "file/app", tag: "1")
        #expect(try await client.headManifest("file/app", .tag("1"))?.digest == tree.top.digest)
    }

    @Test("TLS: verified with the CA from --cert-dir, refused without it, allowed with tls-verify=false")
    func tls() async throws {
        let dir = try TemporaryDirectory()
        let ca = try TestCA(in: dir.path)
        let reg = try RegistryServer(tlsCertificate: try ca.serverCertificate())
        let certDir = dir.file("certs.d")
        try FileManager.default.createDirectory(atPath: "\(certDir)/\(reg.host)", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: ca.caCertificate, toPath: "\(certDir)/\(reg.host)/ca.crt")

        let trusted = RegistryClient(registry: reg.host, options: RegistryOptions(certDir: certDir, credentials: Self.noFiles))
        let tree = try SyntheticImage.single(seed: 43)
        try await SyntheticImage.push(tree, to: trusted, repository: "tls/app", tag: "1")
        #expect(try await trusted.baseURL().scheme == "https")
        try await RegistryAssertionsAuth.holds(tree, trusted, "tls/app", "1")

        let untrusted = RegistryClient(registry: reg.host, options: RegistryOptions(certDir: dir.file("none"), credentials: Self.noFiles))
        do {
            _ = try await untrusted.manifest("tls/app", .tag("1"))
            Issue.record("an unknown CA must not be trusted")
        } catch let e as TransportError {
            #expect(e.code == 60)  // peer certificate cannot be authenticated
        }

        let insecure = RegistryClient(registry: reg.host, options: RegistryOptions(tlsVerify: false, certDir: dir.file("none"), credentials: Self.noFiles))
        #expect(try await insecure.manifest("tls/app", .tag("1")).digest == tree.top.digest)
        #expect(try await insecure.baseURL().scheme == "https")
    }

    @Test("plain HTTP is used for loopback registries without turning TLS verification off")
    func loopbackPlainHTTP() async throws {
        let reg = try RegistryServer()
        let client = RegistryClient(registry: reg.host, options: RegistryOptions(credentials: Self.noFiles))
        #expect(try await client.baseURL().scheme == "http")
    }

    @Test("anonymous bearer tokens: fetched without credentials when the registry allows it")
    func anonymousTokens() async throws {
        let dir = try TemporaryDirectory()
        let tokens = try TokenServer(folder: dir.path)
        let reg = try RegistryServer(auth: tokens.registryAuth)
        let client = RegistryClient(registry: reg.host, options: RegistryOptions(credentials: Self.noFiles))
        let tree = try SyntheticImage.single(seed: 45)
        try await SyntheticImage.push(tree, to: client, repository: "anon/app", tag: "1")
        #expect(try await client.manifest("anon/app", .tag("1")).bytes == tree.top.bytes)
        #expect(!tokens.requests.isEmpty)
        #expect(tokens.requests.allSatisfy { $0.headers["authorization"] == nil })
        let scopes = tokens.requests.flatMap { $0.query.filter { $0.0 == "scope" }.map(\.1) }
        #expect(scopes.contains("repository:anon/app:pull,push"))
        #expect(scopes.contains("repository:anon/app:pull"))
        #expect(tokens.requests.allSatisfy { $0.query.contains { $0 == ("service", tokens.service) } })
    }

    @Test("bearer tokens: fetched with credentials, cached per scope, refreshed after a 401")
    func bearerTokens() async throws {
        let dir = try TemporaryDirectory()
        // The endpoint always claims 300 s; the push gets tokens that really last that long.
        let tokens = try TokenServer(folder: dir.path, users: ["carol": "tok-pw"], tokenLifetime: 300, advertisedLifetime: 300)
        let reg = try RegistryServer(auth: tokens.registryAuth)
        let client = RegistryClient(registry: reg.host, options: RegistryOptions(
            credentials: CredentialStore(explicit: Credential(username: "carol", password: "tok-pw"), authFiles: [])))
        let tree = try SyntheticImage.index(seed: 44)
        try await SyntheticImage.push(tree, to: client, repository: "tok/app", tag: "1")
        // From now on tokens really live 10 s (the registry allows 60 s of leeway past `exp`, so exp is set 50 s
        // back) while the endpoint still claims 300 s: only the registry's 401 can reveal the expiry. The pull
        // scope is new, so the next read fetches such a token. (4 s was too short on a loaded machine: the token
        // expired before the cached read below.)
        tokens.tokenLifetime = -50
        let reader = RegistryClient(registry: reg.host, options: RegistryOptions(
            credentials: CredentialStore(explicit: Credential(username: "carol", password: "tok-pw"), authFiles: [])))
        try await RegistryAssertionsAuth.holds(tree, reader, "tok/app", "1")
        let before = tokens.requests.count
        #expect(before >= 2)
        #expect(tokens.requests.allSatisfy { $0.headers["authorization"]?.hasPrefix("Basic ") == true })

        // Cached: more reads with the same scope need no new token.
        _ = try await reader.manifest("tok/app", .tag("1"))
        #expect(tokens.requests.count == before)

        // After the real expiry the registry answers 401 and the client fetches a new token by itself.
        try await Task.sleep(for: .seconds(11))
        #expect(try await reader.manifest("tok/app", .tag("1")).digest == tree.top.digest)
        #expect(tokens.requests.count > before)

        // Wrong credentials: the token endpoint refuses, with no secret in the error.
        let wrong = RegistryClient(registry: reg.host, options: RegistryOptions(
            credentials: CredentialStore(explicit: Credential(username: "carol", password: "bad-tok-pw"), authFiles: [])))
        do {
            _ = try await wrong.manifest("tok/app", .tag("1"))
            Issue.record("bad credentials must fail")
        } catch let e as RegistryError {
            #expect(e.status == 401)
            #expect(!"\(e)".contains("bad-tok-pw"))
        }
    }
}

enum RegistryAssertionsAuth {
    static func holds(_ tree: SyntheticImage.Tree, _ client: RegistryClient, _ repo: String, _ tag: String) async throws {
        #expect(try await client.manifest(repo, .tag(tag)).bytes == tree.top.bytes)
        for (d, _) in tree.blobs.values { #expect(try await client.headBlob(repo, d.digest) == d.size) }
    }
}
