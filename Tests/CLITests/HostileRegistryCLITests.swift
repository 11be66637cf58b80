import Engine
import Foundation
import Synchronization
import Testing
import TestSupport
import Transports

/// A registry stub that serves one synthetic image and lets a test replace any answer: the hostile half of a
/// copy whose other half is a real registry.
final class StubRegistry: Sendable {
    let server: MiniHTTPServer
    let tree: SyntheticImage.Tree
    static let repository = "hostile/app"

    /// `override` answers first; nil falls through to the honest answer.
    init(tree: SyntheticImage.Tree, address: String = "127.0.0.1",
         override: @escaping @Sendable (MiniHTTPServer.Request) -> MiniHTTPServer.Response? = { _ in nil }) throws {
        self.tree = tree
        server = try MiniHTTPServer(address: address) { req in
            if let r = override(req) { return r }
            return Self.honest(req, tree: tree)
        }
    }

    var host: String { server.host }
    var reference: String { "\(host)/\(Self.repository):1" }

    static func honest(_ req: MiniHTTPServer.Request, tree: SyntheticImage.Tree) -> MiniHTTPServer.Response {
        let path = req.path
        if path == "/v2/" { return .init(status: 200) }
        let manifests = "/v2/\(repository)/manifests/", blobs = "/v2/\(repository)/blobs/"
        if path.hasPrefix(manifests) {
            let id = String(path.dropFirst(manifests.count))
            let all = [tree.top] + tree.children
            guard let m = id == "1" ? tree.top : all.first(where: { $0.digest.description == id }) else {
                return .init(status: 404)
            }
            return .init(status: 200, headers: [("Content-Type", m.mediaType.rawValue),
                                                ("Docker-Content-Digest", m.digest.description)], body: m.bytes)
        }
        if path.hasPrefix(blobs), let d = try? Digest(parsing: String(path.dropFirst(blobs.count))),
           let (_, bytes) = tree.blobs[d]
        {
            return .init(status: 200, headers: [("Content-Type", "application/octet-stream")], body: bytes)
        }
        return .init(status: 404)
    }
}

/// Registries that answer with lies, oversized or malformed bodies, or point dray somewhere it should not go.
/// Each copy must fail with a clear one-line reason, exit non-zero, and leave nothing at the destination.
@Suite("Hostile registries: bad manifests and blobs, redirects, Locations, token realms")
struct HostileRegistryCLITests {
    static let noAuth = RegistryOptions(credentials: CredentialStore(authFiles: []))
    static let tree: SyntheticImage.Tree = try! SyntheticImage.single(layers: 2, layerSize: 60_000, seed: 707)

    /// Copies from `stub` into a fresh registry and expects a failure whose message contains `expected`; checks
    /// that the destination holds no manifest and none of the image's blobs.
    func expectRefused(_ stub: StubRegistry, _ expected: [String], refusedBlobs: [Digest] = [], extra: [String] = [],
                       sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let destination = try RegistryServer()
        let r = try Dray.run(["copy", "--retries", "0", "docker://\(stub.reference)", "\(destination.host)/copy/app:1"] + extra)
        #expect(r.status != 0, "the copy succeeded", sourceLocation: sourceLocation)
        for e in expected {
            #expect(r.stderr.contains(e), "stderr lacks \"\(e)\":\n\(r.stderr.suffix(1500))",
                    sourceLocation: sourceLocation)
        }
        let errors = r.stderr.split(separator: "\n").filter { $0.contains("error:") }
        #expect(errors.count == 1, "\(r.stderr.suffix(1500))", sourceLocation: sourceLocation)
        let client = RegistryClient(registry: destination.host, options: Self.noAuth)
        #expect(try await client.headManifest("copy/app", .tag("1")) == nil, sourceLocation: sourceLocation)
        #expect(((try? await client.tags("copy/app")) ?? []).isEmpty, sourceLocation: sourceLocation)
        for d in refusedBlobs {
            #expect(try await client.headBlob("copy/app", d) == nil, sourceLocation: sourceLocation)
        }
    }

    @Test("a manifest over 4 MiB is refused without reading past the limit")
    func hugeManifest() async throws {
        let huge = Array("{\"schemaVersion\":2,\"annotations\":{\"x\":\"".utf8) + [UInt8](repeating: 0x61, count: 5 << 20)
            + Array("\"}}".utf8)
        let stub = try StubRegistry(tree: Self.tree) { req in
            req.path.hasSuffix("/manifests/1")
                ? .init(status: 200, headers: [("Content-Type", MediaType.ociManifest.rawValue)], body: huge) : nil
        }
        try await expectRefused(stub, ["exceeds the 4194304-byte limit"])
    }

    @Test("a manifest that is not JSON is refused")
    func invalidManifest() async throws {
        let stub = try StubRegistry(tree: Self.tree) { req in
            req.path.hasSuffix("/manifests/1")
                ? .init(status: 200, headers: [("Content-Type", MediaType.ociManifest.rawValue)],
                        body: Array("{\"schemaVersion\": 2, \"layers\": [".utf8)) : nil
        }
        try await expectRefused(stub, ["not valid JSON"])
    }

    @Test("a blob longer than its descriptor, shorter, or with other bytes is refused",
          arguments: ["longer", "shorter", "different"])
    func lyingBlob(kind: String) async throws {
        let (layer, bytes) = Self.tree.blobs.values.max { $0.0.size < $1.0.size }!
        var served = bytes
        switch kind {
        case "longer": served += [1, 2, 3]
        case "shorter": served.removeLast(100)
        default: served[served.count / 2] ^= 0xff
        }
        let body = served
        let stub = try StubRegistry(tree: Self.tree) { req in
            req.path.hasSuffix("/blobs/\(layer.digest)") ? .init(status: 200, body: body) : nil
        }
        try await expectRefused(stub, [String(layer.digest.hex.prefix(12))], refusedBlobs: [layer.digest])
        if kind == "different" {
            // Same length, other bytes: by default the destination registry's own digest check refuses them; with
            // --blob-check always, dray's hash does before the last byte is sent.
            try await expectRefused(stub, ["DIGEST_INVALID"], refusedBlobs: [layer.digest])
            try await expectRefused(stub, ["digest mismatch", layer.digest.description], refusedBlobs: [layer.digest],
                                    extra: ["--blob-check", "always"])
        }
    }

    @Test("an index that names itself as its child fails on the digest; nesting deeper than 4 levels is refused")
    func selfReferencingIndex() async throws {
        // The tag's index lists one child, and the stub answers that child's digest with the index itself.
        let child = Self.tree.top.descriptor(platform: Platform(os: "linux", architecture: "amd64"))
        let index = try RawManifest(bytes: Array(try JSONEncoder().encode(
            ImageIndex(mediaType: .ociIndex, manifests: [child]))), mediaType: .ociIndex)
        let loop = try StubRegistry(tree: Self.tree) { req in
            req.path.contains("/manifests/")
                ? .init(status: 200, headers: [("Content-Type", MediaType.ociIndex.rawValue)], body: index.bytes) : nil
        }
        try await expectRefused(loop, ["digest"])
        #expect(loop.server.requests.filter { $0.path.contains("/manifests/") }.count < 20)

        // A chain of six distinct indexes, each naming the next: honest digests, too deep.
        var chain: [RawManifest] = []
        var next = child
        for i in 0..<6 {
            let m = try RawManifest(bytes: Array(try JSONEncoder().encode(ImageIndex(
                mediaType: .ociIndex, manifests: [next], annotations: ["level": "\(i)"]))), mediaType: .ociIndex)
            chain.append(m)
            next = m.descriptor(platform: Platform(os: "linux", architecture: "amd64"))
        }
        let levels = chain
        let deep = try StubRegistry(tree: Self.tree) { req in
            guard req.path.contains("/manifests/") else { return nil }
            let id = String(req.path.split(separator: "/").last!)
            guard let m = id == "1" ? levels.last : levels.first(where: { $0.digest.description == id }) else { return nil }
            return .init(status: 200, headers: [("Content-Type", m.mediaType.rawValue)], body: m.bytes)
        }
        try await expectRefused(deep, ["deeper than 4 levels"])
    }

    @Test("blob redirects to another scheme, to a link-local or to a private address are refused",
          arguments: ["ftp://127.0.0.1/blob", "http://169.254.169.254/latest/meta-data/", "http://10.11.12.13/blob",
                      "http://[fe80::1]/blob"])
    func badRedirect(location: String) async throws {
        let (layer, _) = Self.tree.blobs.values.max { $0.0.size < $1.0.size }!
        let stub = try StubRegistry(tree: Self.tree) { req in
            req.path.hasSuffix("/blobs/\(layer.digest)") ? .init(status: 307, headers: [("Location", location)]) : nil
        }
        try await expectRefused(stub, ["refusing redirect"], refusedBlobs: [layer.digest])
    }

    @Test("an upload Location on another host gets no credentials; one on a link-local address is refused")
    func uploadLocation() async throws {
        let password = "upload-secret-\(UInt32.random(in: 0...UInt32.max))"
        let expected = "Basic " + Data("alice:\(password)".utf8).base64EncodedString()
        // Upload storage on another loopback host: accepts whatever comes.
        let storage = try MiniHTTPServer(address: "127.0.0.3") { req in
            req.method == "PUT" ? .init(status: 201) : .init(status: 202, headers: [("Location", "/upload/1")])
        }
        let target = Mutex<String>("http://\(storage.host)/upload/1")
        let destination = try MiniHTTPServer { req in
            guard req.headers["authorization"] == expected else {
                return .init(status: 401, headers: [("WWW-Authenticate", "Basic realm=\"stub\"")])
            }
            if req.method == "HEAD" { return .init(status: 404) }
            if req.method == "POST" { return .init(status: 202, headers: [("Location", target.withLock { $0 })]) }
            if req.method == "PUT" && req.path.contains("/manifests/") { return .init(status: 201) }
            return req.path == "/v2/" ? .init(status: 200) : .init(status: 404)
        }
        let source = try StubRegistry(tree: Self.tree)
        let r = try Dray.run(["copy", "--dest-creds", "alice:\(password)", "docker://\(source.reference)",
                              "\(destination.host)/copy/app:1"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(storage.requests.contains { $0.method == "PUT" })
        #expect(storage.requests.allSatisfy { $0.headers["authorization"] == nil })
        #expect(destination.requests.contains { $0.headers["authorization"] == expected })

        target.withLock { $0 = "http://169.254.169.254/upload/1" }
        let refused = try Dray.run(["copy", "--retries", "0", "--dest-creds", "alice:\(password)",
                                    "docker://\(source.reference)", "\(destination.host)/copy/app:2"])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("refusing upload Location http://169.254.169.254/upload/1"), "\(refused.stderr)")
        #expect(!refused.stderr.contains(password) && !r.stderr.contains(password))
    }

    @Test("a token realm on another host over plain HTTP never gets the credentials; a link-local realm is refused")
    func plainRealm() async throws {
        let realm = Mutex<String>("http://198.51.100.7/token")
        let destination = try MiniHTTPServer { req in
            .init(status: 401, headers: [("WWW-Authenticate", "Bearer realm=\"\(realm.withLock { $0 })\",service=\"stub\"")])
        }
        let source = try StubRegistry(tree: Self.tree)
        for tlsVerify in ["true", "false"] {
            let r = try Dray.run(["copy", "--retries", "0", "--dest-tls-verify=\(tlsVerify)", "--dest-creds", "bob:hunter2-pw",
                                  "docker://\(source.reference)", "\(destination.host)/copy/app:1"])
            #expect(r.status != 0)
            #expect(r.stderr.contains("refusing to send credentials"), "\(r.stderr)")
            #expect(r.stderr.contains("198.51.100.7"))
            #expect(!r.stderr.contains("hunter2"))
        }
        realm.withLock { $0 = "http://169.254.169.254/token" }
        let r = try Dray.run(["copy", "--retries", "0", "docker://\(source.reference)", "\(destination.host)/copy/app:1"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("refusing token realm"), "\(r.stderr)")
    }
}
