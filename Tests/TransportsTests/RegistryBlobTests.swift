import Engine
import Foundation
import Synchronization
import Testing
import TestSupport
@testable import Transports

@Suite("Registry blob transfers")
struct RegistryBlobTests {
    @Test("a blob download broken mid-stream resumes with a Range request")
    func resumeWithRange() async throws {
        var rng = SyntheticImage.Random(seed: 9)
        let blob = rng.bytes(1_000_000)
        let digest = Digest.sha256(of: blob)
        let server = try MiniHTTPServer { req in
            if req.path == "/v2/" { return .init(status: 200) }
            guard req.path == "/v2/repo/blobs/\(digest)" else { return .init(status: 404) }
            if let range = req.headers["range"], range.hasPrefix("bytes="),
               let start = Int(range.dropFirst(6).prefix { $0 != "-" })
            {
                return .init(status: 206, headers: [("Content-Range", "bytes \(start)-\(blob.count - 1)/\(blob.count)")],
                             body: Array(blob[start...]))
            }
            // Promise everything, send 40%, hang up.
            return .init(status: 200, headers: [("Content-Length", "\(blob.count)")], body: Array(blob.prefix(400_000)),
                         closeConnection: true)
        }
        let client = RegistryClient(registry: server.host, options: RegistryOptions(credentials: CredentialStore(authFiles: [])))
        let d = Descriptor(mediaType: .ociLayerGzip, digest: digest, size: Int64(blob.count))
        let stream = VerifyingStream(client.blob("repo", d), expecting: d)
        var got: [UInt8] = []
        while let c = try await stream.next() { got += c }
        #expect(got == blob)
        let blobRequests = server.requests.filter { $0.path.contains("/blobs/") }
        #expect(blobRequests.count == 2)
        #expect(blobRequests[0].headers["range"] == nil)
        #expect(blobRequests[1].headers["range"] == "bytes=400000-")
    }

    @Test("registry to registry, a download broken mid-stream resumes inside the upload's splice; a source that ignores Range has its repeat dropped",
          arguments: [true, false])
    func spliceResumes(honoursRange: Bool) async throws {
        var rng = SyntheticImage.Random(seed: 10)
        let blob = rng.bytes(3_000_000)
        let digest = Digest.sha256(of: blob)
        let server = try MiniHTTPServer { req in
            if req.path == "/v2/" { return .init(status: 200) }
            guard req.path == "/v2/src/blobs/\(digest)" else { return .init(status: 404) }
            if let range = req.headers["range"], range.hasPrefix("bytes="),
               let start = Int(range.dropFirst(6).prefix { $0 != "-" })
            {
                if !honoursRange { return .init(status: 200, body: blob) }
                return .init(status: 206, headers: [("Content-Range", "bytes \(start)-\(blob.count - 1)/\(blob.count)")],
                             body: Array(blob[start...]))
            }
            // Promise everything, send 70%, hang up.
            return .init(status: 200, headers: [("Content-Length", "\(blob.count)")], body: Array(blob.prefix(2_100_000)),
                         closeConnection: true)
        }
        let reg = try RegistryServer()
        let options = RegistryOptions(credentials: CredentialStore(authFiles: []))
        let source = RegistryImageSource(client: RegistryClient(registry: server.host, options: options), repository: "src")
        let destination = RegistryImageDestination(client: RegistryClient(registry: reg.host, options: options),
                                                   repository: "dst/app")
        let d = Descriptor(mediaType: .ociLayerGzip, digest: digest, size: Int64(blob.count))
        let outcome = try await BlobTransfer.ensure(d, from: source, to: destination, check: .auto)
        #expect(outcome == .copied(bytes: d.size))
        let blobRequests = server.requests.filter { $0.path.contains("/blobs/") }
        #expect(blobRequests.count == 2)
        #expect(blobRequests.last?.headers["range"]?.hasPrefix("bytes=") == true)
        // The registry checked the digest on the PUT; read it back to be sure of every byte.
        let back = VerifyingStream(try await destination.blob(d), expecting: d)
        var got: [UInt8] = []
        while let c = try await back.next() { got += c }
        #expect(got == blob)
    }

    @Test("registry to registry over TLS (HTTP/2), a 24 MB layer crosses the splice with pauses on both sides")
    func spliceOverTLS() async throws {
        let dir = try TemporaryDirectory()
        let ca = try TestCA(in: dir.path)
        let a = try RegistryServer(tlsCertificate: try ca.serverCertificate())
        let b = try RegistryServer(tlsCertificate: try ca.serverCertificate())
        for reg in [a, b] {
            try FileManager.default.createDirectory(atPath: "\(dir.path)/certs.d/\(reg.host)", withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: ca.caCertificate, toPath: "\(dir.path)/certs.d/\(reg.host)/ca.crt")
        }
        let options = RegistryOptions(certDir: "\(dir.path)/certs.d", credentials: CredentialStore(authFiles: []))
        var rng = SyntheticImage.Random(seed: 11)
        let blob = rng.bytes(24 << 20)
        let d = Descriptor(mediaType: .ociLayerGzip, digest: .sha256(of: blob), size: Int64(blob.count))
        let src = RegistryClient(registry: a.host, options: options)
        try await src.uploadBlob("tls/src", d) { MemoryBlobStream(blob) }
        // 24 MB is many times the 256 KiB ring: the download pauses when it is full, the upload when it is empty.
        let source = RegistryImageSource(client: src, repository: "tls/src")
        let destination = RegistryImageDestination(client: RegistryClient(registry: b.host, options: options), repository: "tls/dst")
        #expect(try await BlobTransfer.ensure(d, from: source, to: destination, check: .auto) == .copied(bytes: d.size))
        let back = VerifyingStream(try await destination.blob(d), expecting: d)
        var count = 0
        while let c = try await back.next() { count += c.count }
        #expect(count == blob.count)
        // Once the transfers are over, the splice (and with it both transfers and the ring) is freed. Other tests
        // may be splicing at the same moment, so wait for the count to fall to zero.
        let deadline = ContinuousClock.now + .seconds(20)
        while CurlSplice.live.load(ordering: .relaxed) > 0, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(CurlSplice.live.load(ordering: .relaxed) == 0, "a splice outlived its transfers")
    }

    @Test("a ring buffer keeps bytes in order across wrap-around and growth")
    func byteRing() {
        let ring = ByteRing(capacity: 10)
        var model: [UInt8] = []
        var rng = SyntheticImage.Random(seed: 3)
        var next: UInt8 = 0
        for step in 0..<2_000 {
            let want = Int(rng.bytes(1)[0] % 13)
            if step % 3 != 2 {
                let n = min(want, ring.free)
                let chunk = (0..<n).map { _ in next &+= 1; return next }
                chunk.withUnsafeBytes { ring.write($0) }
                model += chunk
            } else {
                var out = [UInt8](repeating: 0, count: want)
                let n = out.withUnsafeMutableBytes { ring.read(into: $0) }
                #expect(Array(out.prefix(n)) == Array(model.prefix(n)))
                model.removeFirst(n)
            }
            #expect(ring.count == model.count)
            if step == 1_000 {
                ring.reserve(25)
                #expect(ring.free >= 25)
            }
        }
        var rest = [UInt8](repeating: 0, count: ring.count)
        _ = rest.withUnsafeMutableBytes { ring.read(into: $0) }
        #expect(rest == model)
    }

    @Test("a registry that refuses monolithic PUTs gets chunked PATCHes, and dray remembers that")
    func chunkedFallback() async throws {
        let received = Mutex([UInt8]())
        let server = try MiniHTTPServer { req in
            switch (req.method, req.path) {
            case ("GET", "/v2/"): return .init(status: 200)
            case ("POST", "/v2/r/blobs/uploads/"): return .init(status: 202, headers: [("Location", "/upload/s")])
            case ("PATCH", "/upload/s"):
                received.withLock { $0 += req.body }
                return .init(status: 202, headers: [("Location", "/upload/s")])
            case ("PUT", "/upload/s") where !req.body.isEmpty: return .init(status: 405)
            case ("PUT", "/upload/s"): return .init(status: 201)
            case ("DELETE", _): return .init(status: 204)
            default: return .init(status: 404)
            }
        }
        let client = RegistryClient(registry: server.host, options: RegistryOptions(credentials: CredentialStore(authFiles: [])))
        var rng = SyntheticImage.Random(seed: 4)
        let blob = rng.bytes(40_000)
        let d = Descriptor(mediaType: .ociLayerGzip, digest: .sha256(of: blob), size: Int64(blob.count))
        try await client.uploadBlob("r", d) { MemoryBlobStream(blob) }
        #expect(received.withLock { $0 } == blob)
        let firstPuts = server.requests.filter { $0.method == "PUT" && !$0.body.isEmpty }.count
        #expect(firstPuts == 1)

        received.withLock { $0 = [] }
        try await client.uploadBlob("r", d) { MemoryBlobStream(blob) }
        #expect(received.withLock { $0 } == blob)
        #expect(server.requests.filter { $0.method == "PUT" && !$0.body.isEmpty }.count == firstPuts,
                "the second upload must not try a monolithic PUT again")
        #expect(server.requests.last?.target.contains("digest=\(d.digest)") == true)
    }

    @Test("a failed upload deletes its session on the registry")
    func abandonedUploadIsDeleted() async throws {
        let reg = try RegistryServer()
        let client = RegistryClient(registry: reg.host, options: RegistryOptions(credentials: CredentialStore(authFiles: [])))
        let session = try await client.startUpload("up/app")
        let status = try await HTTPClient().execute(HTTPRequest(url: session))
        #expect(status.status == 204, "a live session answers its status")
        status.discard()

        struct SourceBroke: Error {}
        final class Failing: BlobStream {
            let sent = Mutex(false)
            func next() async throws -> [UInt8]? {
                if sent.withLock({ s in defer { s = true }; return s }) { throw SourceBroke() }
                return [UInt8](repeating: 1, count: 10_000)
            }
            func cancel() {}
        }
        let d = Descriptor(mediaType: .ociLayerGzip, digest: .sha256(of: [1]), size: 50_000)
        await #expect(throws: SourceBroke.self) {
            try await client.uploadBlob("up/app", d, session: session) { Failing() }
        }
        let after = try await HTTPClient().execute(HTTPRequest(url: session))
        #expect(after.status == 404)
        after.discard()
    }

    @Test("client certificates from the cert folder satisfy a registry that demands them")
    func clientCertificates() async throws {
        let dir = try TemporaryDirectory()
        let ca = try TestCA(in: dir.path)
        let reg = try RegistryServer(tlsCertificate: try ca.serverCertificate(), clientCAs: [ca.caCertificate])
        let folder = "\(dir.path)/certs.d/\(reg.host)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: ca.caCertificate, toPath: "\(folder)/ca.crt")

        let withoutClientCert = RegistryClient(registry: reg.host, options: RegistryOptions(
            certDir: "\(dir.path)/certs.d", credentials: CredentialStore(authFiles: [])))
        await #expect(throws: TransportError.self) { _ = try await withoutClientCert.baseURL() }

        let pair = try ca.clientCertificate()
        try FileManager.default.copyItem(atPath: pair.cert, toPath: "\(folder)/client.cert")
        try FileManager.default.copyItem(atPath: pair.key, toPath: "\(folder)/client.key")
        let client = RegistryClient(registry: reg.host, options: RegistryOptions(
            certDir: "\(dir.path)/certs.d", credentials: CredentialStore(authFiles: [])))
        let tree = try SyntheticImage.single(seed: 51)
        try await SyntheticImage.push(tree, to: client, repository: "mtls/app", tag: "1")
        #expect(try await client.manifest("mtls/app", .tag("1")).digest == tree.top.digest)
    }
}
