import Engine
import Foundation
import Testing
import TestSupport
@testable import Transports

@Suite("HTTP over libcurl")
struct HTTPClientTests {
    let http = HTTPClient()

    @Test("an in-memory body is rewound and sent again by curl when the reused connection it went out on was closed")
    func inMemoryBodyIsReplayed() async throws {
        let registry = try RegistryServer()
        let tree = try SyntheticImage.single(seed: 31)
        let direct = RegistryClient(registry: registry.host, options: RegistryOptions(credentials: CredentialStore(authFiles: [])))
        try await SyntheticImage.push(tree, to: direct, repository: "replay/app", tag: "a")
        let proxy = try FaultProxy(target: registry.port) { x in
            x.isManifest && x.method == "PUT" && x.onConnection > 1 ? .close : .pass
        }
        let ping = try await http.execute(HTTPRequest(url: URL(string: "http://\(proxy.host)/v2/")!))
        _ = try await ping.collect(limit: 1 << 16)
        var put = HTTPRequest(method: "PUT", url: URL(string: "http://\(proxy.host)/v2/replay/app/manifests/b")!,
                              body: tree.top.bytes)
        put.headers.set("Content-Type", tree.top.mediaType.rawValue)
        // No retry layer here: curl itself must rewind the body and send it on a new connection.
        let response = try await http.execute(put)
        response.discard()
        #expect(response.status == 201)
        #expect(proxy.faultsByKind["close"] == 1, "the PUT went out on the reused connection and met the close")
        #expect(proxy.connections == 2)
        #expect(try await direct.manifest("replay/app", .tag("b")).bytes == tree.top.bytes)
    }

    @Test("redirects keep Authorization on the same origin and drop it for another host")
    func redirectStripsAuthorization() async throws {
        let storage = try MiniHTTPServer(address: "127.0.0.2") { _ in .init(status: 200, body: Array("blob".utf8)) }
        let registry = try MiniHTTPServer { req in
            switch req.path {
            case "/same": return .init(status: 307, headers: [("Location", "/other")])
            case "/other": return .init(status: 302, headers: [("Location", "http://\(storage.host)/data?X-Amz-Signature=abc")])
            default: return .init(status: 404)
            }
        }
        var request = HTTPRequest(url: URL(string: "http://\(registry.host)/same")!, followRedirects: true)
        request.headers.set("Authorization", "Bearer secret-token")
        let response = try await http.execute(request)
        #expect(response.status == 200)
        #expect(try await response.collect(limit: 100) == Array("blob".utf8))
        #expect(registry.requests.map(\.path) == ["/same", "/other"])
        #expect(registry.requests.allSatisfy { $0.headers["authorization"] == "Bearer secret-token" })
        #expect(storage.requests.count == 1)
        #expect(storage.requests[0].headers["authorization"] == nil)
    }

    @Test("redirects from HTTPS to plain HTTP or to other schemes are refused")
    func redirectPolicy() throws {
        let base = HTTPRequest(url: URL(string: "https://reg.example/v2/a/blobs/x")!, followRedirects: true)
        #expect(throws: HTTPRedirectError.self) { try HTTPClient.redirected(base, to: "http://cdn.example/x") }
        #expect(throws: HTTPRedirectError.self) { try HTTPClient.redirected(base, to: "file:///etc/passwd") }
        let ok = try HTTPClient.redirected(base, to: "https://reg.example:443/other")
        #expect(ok.url.absoluteString == "https://reg.example:443/other")
    }

    @Test("a slow reader pauses the transfer: buffered bytes stay bounded, and every byte arrives")
    func responseBackPressure() async throws {
        var rng = SyntheticImage.Random(seed: 1)
        let body = rng.bytes(24 << 20)
        let server = try MiniHTTPServer { _ in .init(status: 200, body: body) }
        var options = HTTPClientOptions()
        options.responseBufferLimit = 256 * 1024
        let client = HTTPClient(options: options)
        let response = try await client.execute(HTTPRequest(url: URL(string: "http://\(server.host)/big")!))
        var hasher = Hasher256()
        var consumed = 0
        if let first = try await response.next() {
            hasher.update(first)
            consumed += first.count
        }
        try await Task.sleep(for: .milliseconds(400))
        // curl delivered at most the buffer limit plus one receive buffer beyond what we consumed.
        let received = response.counters.received
        #expect(received - Int64(consumed) <= 256 * 1024 + 256 * 1024)
        #expect(received < Int64(body.count))
        while let c = try await response.next() {
            hasher.update(c)
            consumed += c.count
        }
        #expect(consumed == body.count)
        #expect(hasher.finalize() == Digest.sha256(of: body))
    }

    @Test("a streaming upload sends exactly its bytes; a failing producer aborts it before completion")
    func streamingUpload() async throws {
        let server = try MiniHTTPServer { req in
            .init(status: 201, headers: [("X-Digest", Digest.sha256(of: req.body).description)])
        }
        var rng = SyntheticImage.Random(seed: 2)
        let payload = rng.bytes(3 << 20 + 17)
        let url = URL(string: "http://\(server.host)/upload")!
        let response = try await http.execute(HTTPRequest(method: "PUT", url: url), bodyLength: Int64(payload.count)) { w in
            for start in stride(from: 0, to: payload.count, by: 100_000) {
                try await w.write(Array(payload[start..<min(start + 100_000, payload.count)]))
            }
        }
        #expect(response.status == 201)
        #expect(response.headers["X-Digest"] == Digest.sha256(of: payload).description)
        #expect(server.requests.last?.headers["expect"] == nil)

        struct Boom: Error {}
        await #expect(throws: Boom.self) {
            _ = try await http.execute(HTTPRequest(method: "PUT", url: url), bodyLength: 1_000_000) { w in
                try await w.write([UInt8](repeating: 1, count: 500_000))
                throw Boom()
            }
        }
        try await Task.sleep(for: .milliseconds(100))
        #expect(server.requests.count == 1, "the aborted upload must never reach the handler complete")
    }

    @Test("an unreachable host fails fast with a clear transport error")
    func unreachable() async throws {
        let port = try freeLoopbackPort()
        // A refused connection must fail with curl's "could not connect" (7), not wait for the connect timeout
        // and fail with "timed out" (28). The code tells the two apart; a wall-clock bound would be flaky on a
        // loaded machine (it was: 31 s once, while the suite started 300 tests on two cores).
        var request = HTTPRequest(url: URL(string: "http://127.0.0.1:\(port)/v2/")!)
        request.connectTimeout = .seconds(60)
        do {
            _ = try await http.execute(request)
            Issue.record("expected a connection failure")
        } catch let e as TransportError {
            #expect(e.code == 7)
            #expect(e.isTemporary)
            #expect("\(e)".contains("127.0.0.1"))
        }
    }

    @Test("many concurrent requests share the loop")
    func concurrency() async throws {
        let server = try MiniHTTPServer { req in .init(status: 200, body: Array(req.path.utf8)) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<64 {
                group.addTask {
                    let r = try await http.execute(HTTPRequest(url: URL(string: "http://\(server.host)/p\(i)")!))
                    #expect(try await r.collect(limit: 100) == Array("/p\(i)".utf8))
                }
            }
            try await group.waitForAll()
        }
    }
}

@Suite("HTTP connection reuse")
struct HTTPConnectionReuseTests {
    @Test("sequential requests to one host reuse one connection")
    func reuse() async throws {
        let server = try MiniHTTPServer { _ in .init(status: 200, body: Array("ok".utf8)) }
        let http = HTTPClient()
        for i in 0..<20 {
            let r = try await http.execute(HTTPRequest(url: URL(string: "http://\(server.host)/r\(i)")!))
            _ = try await r.collect(limit: 10)
        }
        #expect(server.requests.count == 20)
        // Without reuse there would be 20. The loop's connection cache (128 connections) is shared with every test
        // running alongside in this process, which may evict this idle connection once or twice under load.
        #expect(server.connections <= 3, "\(server.connections) connections for 20 sequential requests")
    }

    @Test("a discarded short body is read to its end, keeping the connection; a long one closes it")
    func discardDrainsShortBodies() async throws {
        // An error document whose body comes 50 ms after its head.
        let short = try MiniHTTPServer { _ in
            .init(status: 404, body: Array(repeating: 0x61, count: 40 << 10), bodyDelay: .milliseconds(50))
        }
        let http = HTTPClient()
        for i in 0..<5 {
            let r = try await http.execute(HTTPRequest(url: URL(string: "http://\(short.host)/e\(i)")!))
            #expect(r.status == 404)
            r.discard()
            // The exchange ends once the server's whole answer is in, as a gate slot needs it to.
            await withCheckedContinuation { c in r.whenFinished { c.resume() } }
        }
        #expect(short.connections <= 3, "\(short.connections) connections for 5 discarded short bodies")
        let long = try MiniHTTPServer { _ in
            .init(status: 200, body: Array(repeating: 0x62, count: 8 << 20), bodyDelay: .milliseconds(50))
        }
        for i in 0..<3 {
            let r = try await http.execute(HTTPRequest(url: URL(string: "http://\(long.host)/l\(i)")!))
            r.discard()
            await withCheckedContinuation { c in r.whenFinished { c.resume() } }
        }
        #expect(long.connections == 3, "a discarded 8 MiB body is cut, not read")
    }
}
