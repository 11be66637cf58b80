import Engine
import Foundation
import Testing
import TestSupport
import Transports

/// Raw HTTP/1.1 over one keep-alive loopback connection, so the tests see exactly what the imitation answers.
private final class Raw {
    struct Response {
        var status: Int
        var headers: [(String, String)]
        var body: [UInt8]
        func header(_ name: String) -> String? {
            headers.first { $0.0.caseInsensitiveCompare(name) == .orderedSame }?.1
        }
        var json: [String: Any]? { try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] }
        /// The first distribution error code of the body.
        var code: String? { ((json?["errors"] as? [[String: Any]])?.first)?["code"] as? String }
        var message: String? { ((json?["errors"] as? [[String: Any]])?.first)?["message"] as? String }
        var tags: [String] { json?["tags"] as? [String] ?? [] }
    }

    static let accept = [MediaType.ociManifest, .ociIndex, .dockerManifest, .dockerManifestList].map(\.rawValue).joined(separator: ", ")
    let host: String
    private let fd: Int32
    private var buffer: [UInt8] = []

    init(_ host: String) throws {
        self.host = host
        let port = Int(host.split(separator: ":").last!)!
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = UInt16(port).bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let ok = withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard ok else { throw TestSupportError("cannot connect to \(host)") }
    }

    deinit { close(fd) }

    /// Sends one request (a body with `Content-Length`, or chunked in 1000-byte chunks) and reads the answer.
    func send(_ method: String, _ target: String, headers: [(String, String)] = [], body: [UInt8]? = nil,
              chunked: Bool = false) throws -> Response {
        // Registries answer with absolute `Location`s; send them in origin form as clients do.
        var target = target
        if let url = URL(string: target), url.scheme != nil { target = url.path + (url.query.map { "?" + $0 } ?? "") }
        var lines = ["\(method) \(target) HTTP/1.1", "Host: \(host)", "Accept: \(Self.accept)"] + headers.map { "\($0.0): \($0.1)" }
        var payload: [UInt8] = []
        if let body {
            if chunked {
                lines.append("Transfer-Encoding: chunked")
                var i = 0
                while i < body.count {
                    let piece = body[i..<min(i + 1000, body.count)]
                    payload += Array("\(String(piece.count, radix: 16))\r\n".utf8) + piece + [13, 10]
                    i += piece.count
                }
                payload += Array("0\r\n\r\n".utf8)
            } else {
                lines.append("Content-Length: \(body.count)")
                payload = body
            }
        }
        let bytes = Array((lines.joined(separator: "\r\n") + "\r\n\r\n").utf8) + payload
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw TestSupportError("send failed") }
            sent += n
        }
        let head = try readHead()
        let text = String(decoding: head, as: UTF8.self).components(separatedBy: "\r\n")
        let status = Int(text[0].split(separator: " ")[1])!
        let fields = text.dropFirst().compactMap { line -> (String, String)? in
            guard let c = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<c]), line[line.index(after: c)...].trimmingCharacters(in: .whitespaces))
        }
        let length = fields.first { $0.0.lowercased() == "content-length" }.flatMap { Int($0.1) } ?? 0
        let body = method == "HEAD" || status == 204 ? [] : try read(length)
        return Response(status: status, headers: fields, body: body)
    }

    private func fill() throws {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = recv(fd, &chunk, chunk.count, 0)
        guard n > 0 else { throw TestSupportError("connection closed") }
        buffer += chunk[0..<n]
    }

    private func readHead() throws -> [UInt8] {
        while true {
            if buffer.count >= 4, let i = (0...(buffer.count - 4)).first(where: { buffer[$0..<($0 + 4)] == [13, 10, 13, 10] }) {
                let head = Array(buffer[0..<i])
                buffer.removeFirst(i + 4)
                return head
            }
            try fill()
        }
    }

    private func read(_ n: Int) throws -> [UInt8] {
        while buffer.count < n { try fill() }
        defer { buffer.removeFirst(n) }
        return Array(buffer[0..<n])
    }
}

@Suite("Registry imitation: other registries' documented behaviours on a real distribution registry")
struct RegistryImitationTests {
    static let options = RegistryOptions(credentials: CredentialStore(authFiles: []))

    /// A one-layer image pushed straight to the registry as `repository:tag`.
    static func push(_ reg: RegistryServer, _ repository: String, tag: String = "1", seed: UInt64 = 1) async throws -> SyntheticImage.Tree {
        let tree = try SyntheticImage.single(layers: 1, layerSize: 2000, seed: seed)
        try await SyntheticImage.push(tree, to: RegistryClient(registry: reg.host, options: options), repository: repository, tag: tag)
        return tree
    }

    /// `count` tags (`t000`, `t001`, …) on one manifest in `repository`, put straight to the registry.
    static func tags(_ reg: RegistryServer, _ repository: String, count: Int) async throws -> [String] {
        let tree = try await push(reg, repository, tag: "base")
        let c = try Raw(reg.host)
        let names = (0..<count).map { String(format: "t%03d", $0) }
        for name in names {
            let r = try c.send("PUT", "/v2/\(repository)/manifests/\(name)",
                               headers: [("Content-Type", tree.top.mediaType.rawValue)], body: tree.top.bytes)
            #expect(r.status == 201)
        }
        return (names + ["base"]).sorted()
    }

    /// POST then PUT of `blob` through `c`; the PUT's answer.
    fileprivate static func upload(_ c: Raw, _ repository: String, _ blob: [UInt8]) throws -> Raw.Response {
        let start = try c.send("POST", "/v2/\(repository)/blobs/uploads/")
        let location = try #require(start.header("Location"))
        return try c.send("PUT", location + "&digest=\(Digest.sha256(of: blob))", body: blob)
    }

    @Test("harbor: ping, projects (HEAD, create 201/401/403/409), a missing project's 404, NOT_FOUND codes, a 401 mount")
    func harbor() async throws {
        let reg = try RegistryServer()
        let tree = try await Self.push(reg, "library/app")
        let layer = tree.blobs.values.first { $0.0.mediaType == .ociLayerGzip }!.0.digest
        let imitation = try RegistryImitation(target: reg.port, mode: .harbor(.init(unreadableProjects: ["secret"], robots: ["robot$ci"])))
        let c = try Raw(imitation.host)

        let ping = try c.send("GET", "/api/v2.0/ping")
        #expect(ping.status == 200 && String(decoding: ping.body, as: UTF8.self) == "Pong")
        #expect(try c.send("HEAD", "/api/v2.0/projects?project_name=team").status == 404)
        let body = Array(#"{"project_name":"team","metadata":{"public":"true"}}"#.utf8)
        let anonymous = try c.send("POST", "/api/v2.0/projects", headers: [("Content-Type", "application/json")], body: body)
        #expect(anonymous.status == 401 && anonymous.code == "UNAUTHORIZED" && anonymous.message == "UnAuthorized")
        let robot = try c.send("POST", "/api/v2.0/projects", headers: [("Authorization", "Basic " + Data("robot$ci:x".utf8).base64EncodedString())], body: body)
        #expect(robot.status == 403 && robot.code == "FORBIDDEN")
        let basic = [("Authorization", "Basic " + Data("admin:pw".utf8).base64EncodedString())]
        let made = try c.send("POST", "/api/v2.0/projects", headers: basic, body: body)
        #expect(made.status == 201 && made.header("Location")?.hasPrefix("/api/v2.0/projects/") == true)
        #expect(try c.send("HEAD", "/api/v2.0/projects?project_name=team").status == 200)
        let again = try c.send("POST", "/api/v2.0/projects", headers: basic, body: body)
        #expect(again.status == 409 && again.code == "CONFLICT" && again.message == "The project named team already exists")
        #expect(imitation.created.map(\.name) == ["team"] && imitation.created.first?.public == true)

        // The registry API: projects first, then Harbor's own NOT_FOUND instead of the distribution codes.
        let ghost = try c.send("POST", "/v2/ghost/app/blobs/uploads/")
        #expect(ghost.status == 404 && ghost.code == "NOT_FOUND" && ghost.message == "project ghost not found")
        let ghostPut = try c.send("PUT", "/v2/ghost/app/manifests/1", headers: [("Content-Type", tree.top.mediaType.rawValue)], body: tree.top.bytes)
        #expect(ghostPut.status == 404 && ghostPut.code == "NOT_FOUND")
        let missing = try c.send("GET", "/v2/library/app/manifests/nope")
        #expect(missing.status == 404 && missing.code == "NOT_FOUND")
        let direct = try Raw(reg.host).send("GET", "/v2/library/app/manifests/nope")
        #expect(direct.status == 404 && direct.code == "MANIFEST_UNKNOWN")
        #expect(try c.send("GET", "/v2/library/app/manifests/1").status == 200)
        #expect(try c.send("GET", "/v2/team/new/blobs/\(layer)").code == "NOT_FOUND")

        let unreadable = try c.send("POST", "/v2/team/app/blobs/uploads/?mount=\(layer)&from=secret/app")
        #expect(unreadable.status == 401 && unreadable.code == "UNAUTHORIZED")
        #expect(unreadable.message == "unauthorized to access repository: secret/app, action: pull")
        #expect(unreadable.header("WWW-Authenticate") == #"Basic realm="harbor""#)
        let readable = try c.send("POST", "/v2/team/app/blobs/uploads/?mount=\(layer)&from=library/app")
        #expect(readable.status == 201)

        // A push into the created project goes through.
        try await SyntheticImage.push(tree, to: RegistryClient(registry: imitation.host, options: Self.options), repository: "team/copy", tag: "1")
        #expect(try c.send("HEAD", "/v2/team/copy/manifests/1").status == 200)
        #expect(imitation.count(.harborPing) == 1 && imitation.count(.projectHead) == 2 && imitation.count(.projectCreate) == 4)
        #expect(imitation.count(.mount) >= 2 && imitation.count(.manifestPut) >= 2)
        #expect(imitation.exchanges.contains { $0.path == "/v2/ghost/app/blobs/uploads/" && $0.status == 404 })
    }

    @Test("outside harbor mode the Harbor API is forwarded and the registry answers 404")
    func pingForwarded() async throws {
        let reg = try RegistryServer()
        let imitation = try RegistryImitation(target: reg.port, mode: .ecrNoMount)
        let r = try Raw(imitation.host).send("GET", "/api/v2.0/ping")
        #expect(r.status == 404)
        #expect(imitation.count(.harborPing) == 1)
    }

    @Test("ecrNoMount: a mount POST becomes an upload session (202) the client can finish")
    func ecrNoMount() async throws {
        let reg = try RegistryServer()
        let tree = try await Self.push(reg, "src/app")
        let (layer, bytes) = tree.blobs.values.max { $0.0.size < $1.0.size }!
        let imitation = try RegistryImitation(target: reg.port, mode: .ecrNoMount)
        let c = try Raw(imitation.host)
        let mount = try c.send("POST", "/v2/dst/app/blobs/uploads/?mount=\(layer.digest)&from=src/app")
        #expect(mount.status == 202)
        let location = try #require(mount.header("Location"))
        #expect(location.contains("/v2/dst/app/blobs/uploads/") && !location.contains("mount="))
        #expect(try Raw(reg.host).send("POST", "/v2/other/app/blobs/uploads/?mount=\(layer.digest)&from=src/app").status == 201)
        #expect(try c.send("PUT", location + "&digest=\(layer.digest)", body: bytes).status == 201)
        #expect(try c.send("HEAD", "/v2/dst/app/blobs/\(layer.digest)").status == 200)
        #expect(imitation.count(.mount) == 1 && imitation.count(.uploadStart) == 0 && imitation.count(.uploadPut) == 1)
    }

    @Test("garMonolithic: PATCH is refused 405 UNSUPPORTED, the session still takes a monolithic PUT (sent chunked, re-framed)")
    func garMonolithic() async throws {
        let reg = try RegistryServer()
        let imitation = try RegistryImitation(target: reg.port, mode: .garMonolithic)
        let c = try Raw(imitation.host)
        var rng = SyntheticImage.Random(seed: 5)
        let blob = rng.bytes(5000)
        let start = try c.send("POST", "/v2/gar/app/blobs/uploads/")
        #expect(start.status == 202)
        let location = try #require(start.header("Location"))
        let patch = try c.send("PATCH", location, headers: [("Content-Range", "0-999"), ("Content-Type", "application/octet-stream")],
                               body: Array(blob.prefix(1000)))
        #expect(patch.status == 405 && patch.code == "UNSUPPORTED" && patch.message == "chunked upload is not supported")
        let put = try c.send("PUT", location + "&digest=\(Digest.sha256(of: blob))", body: blob, chunked: true)
        #expect(put.status == 201)
        #expect(try c.send("GET", "/v2/gar/app/blobs/\(Digest.sha256(of: blob))").body == blob)
        #expect(imitation.count(.patch) == 1 && imitation.count(.uploadPut) == 1 && imitation.count(.streamedRequest) == 1)
        #expect(imitation.count(.getBlob) == 1 && imitation.count(.uploadStart) == 1)
    }

    @Test("chunkMinLength: OCI-Chunk-Min-Length on the POST's 202; a short chunk that is not the last is refused 416")
    func chunkMinLength() async throws {
        let reg = try RegistryServer()
        let imitation = try RegistryImitation(target: reg.port, mode: .chunkMinLength(1000))
        let c = try Raw(imitation.host)
        var rng = SyntheticImage.Random(seed: 6)
        let blob = rng.bytes(2000)
        func session() throws -> String {
            let start = try c.send("POST", "/v2/min/app/blobs/uploads/")
            #expect(start.status == 202 && start.header("OCI-Chunk-Min-Length") == "1000")
            return try #require(start.header("Location"))
        }
        func patch(_ location: String, _ range: Range<Int>) throws -> Raw.Response {
            try c.send("PATCH", location, headers: [("Content-Range", "\(range.lowerBound)-\(range.upperBound - 1)")],
                       body: Array(blob[range]))
        }
        // 1500 then a short last 500, closed by an empty PUT: fine.
        var location = try session()
        var r = try patch(location, 0..<1500)
        #expect(r.status == 202)
        r = try patch(try #require(r.header("Location")), 1500..<2000)
        #expect(r.status == 202)
        r = try c.send("PUT", try #require(r.header("Location")) + "&digest=\(Digest.sha256(of: blob))", body: [])
        #expect(r.status == 201)
        // A short 500 followed by another PATCH: refused.
        location = try session()
        r = try patch(location, 0..<500)
        #expect(r.status == 202)
        let refused = try patch(try #require(r.header("Location")), 500..<2000)
        #expect(refused.status == 416 && refused.code == "BLOB_UPLOAD_INVALID")
        // A short 500 followed by a PUT that still carries bytes: refused too.
        location = try session()
        r = try patch(location, 0..<500)
        r = try c.send("PUT", try #require(r.header("Location")) + "&digest=\(Digest.sha256(of: blob))", body: Array(blob[500...]))
        #expect(r.status == 416 && r.code == "BLOB_UPLOAD_INVALID")
        #expect(imitation.count(.patch) == 5 && imitation.count(.uploadStart) == 3)
    }

    @Test("refuseStreamed: a chunked PATCH or PUT is refused 411 SIZE_INVALID, the same with Content-Length passes")
    func refuseStreamed() async throws {
        let reg = try RegistryServer()
        let tree = try SyntheticImage.single(layers: 1, layerSize: 2000, seed: 7)
        let imitation = try RegistryImitation(target: reg.port, mode: .refuseStreamed)
        let c = try Raw(imitation.host)
        for (d, bytes) in tree.blobs.values {
            let start = try c.send("POST", "/v2/lb/app/blobs/uploads/")
            let location = try #require(start.header("Location"))
            let streamed = try c.send("PATCH", location, body: bytes, chunked: true)
            #expect(streamed.status == 411 && streamed.code == "SIZE_INVALID" && streamed.message == "Content-Length required")
            let streamedPut = try c.send("PUT", location + "&digest=\(d.digest)", body: bytes, chunked: true)
            #expect(streamedPut.status == 411)
            let patched = try c.send("PATCH", location, body: bytes)
            #expect(patched.status == 202)
            #expect(try c.send("PUT", try #require(patched.header("Location")) + "&digest=\(d.digest)", body: []).status == 201)
        }
        let headers = [("Content-Type", tree.top.mediaType.rawValue)]
        #expect(try c.send("PUT", "/v2/lb/app/manifests/1", headers: headers, body: tree.top.bytes, chunked: true).status == 411)
        #expect(try c.send("PUT", "/v2/lb/app/manifests/1", headers: headers, body: tree.top.bytes).status == 201)
        #expect(imitation.count(.streamedRequest) == 5)
        #expect(imitation.exchanges.filter { $0.streamed }.allSatisfy { $0.status == 411 })
    }

    @Test("nexusBadLink: pages capped, Link missing or pointing elsewhere, ?last= on the original URL reaches every tag",
          arguments: [RegistryImitation.NexusLink.missing, .otherHost, .otherPath])
    func nexus(link: RegistryImitation.NexusLink) async throws {
        let reg = try RegistryServer()
        let all = try await Self.tags(reg, "nexus/app", count: 250)
        let imitation = try RegistryImitation(target: reg.port, mode: .nexusBadLink(link, pageCap: 100))
        let c = try Raw(imitation.host)
        let first = try c.send("GET", "/v2/nexus/app/tags/list?n=500")
        #expect(first.status == 200 && first.tags == Array(all.prefix(100)))
        let last = first.tags.last!
        switch link {
        case .missing:
            #expect(first.header("Link") == nil)
        case .otherHost:
            #expect(first.header("Link") == "<http://127.0.0.1:1/repository/docker-hosted/v2/nexus/app/tags/list?last=\(last)&n=100>; rel=\"next\"")
        case .otherPath:
            #expect(first.header("Link") == "</repository/docker-hosted/v2/nexus/app/tags/list?last=\(last)&n=100>; rel=\"next\"")
            #expect(try c.send("GET", "/repository/docker-hosted/v2/nexus/app/tags/list?last=\(last)&n=100").status == 404)
        }
        var seen = first.tags
        while true {
            let page = try c.send("GET", "/v2/nexus/app/tags/list?last=\(seen.last!)&n=100")
            #expect(page.status == 200 && page.tags.count <= 100)
            if page.tags.isEmpty { break }
            seen += page.tags
        }
        #expect(seen == all)
        #expect(try c.send("GET", "/v2/nexus/app/tags/list").tags.count == 100)
        #expect(try c.send("GET", "/v2/nexus/none/tags/list").status == 404)
        #expect(imitation.count(.tagsPage) >= 5)
    }

    @Test("quayPageLimit: n above the limit is clamped (not refused), pages linked absolutely to the next")
    func quay() async throws {
        let reg = try RegistryServer()
        let all = try await Self.tags(reg, "quay/app", count: 250)
        let imitation = try RegistryImitation(target: reg.port, mode: .quayPageLimit(100))
        let c = try Raw(imitation.host)
        var page = try c.send("GET", "/v2/quay/app/tags/list?n=1000")
        #expect(page.status == 200 && page.tags.count == 100)
        #expect(page.header("Link") == "<http://\(imitation.host)/v2/quay/app/tags/list?n=100&last=\(all[99])>; rel=\"next\"")
        var seen = page.tags
        while let link = page.header("Link") {
            let url = try #require(URL(string: String(link.dropFirst().prefix { $0 != ">" })))
            page = try c.send("GET", url.path + "?" + url.query!)
            seen += page.tags
        }
        #expect(seen == all)
        let small = try c.send("GET", "/v2/quay/app/tags/list?n=10")
        #expect(small.tags == Array(all.prefix(10)) && small.header("Link")?.contains("n=10&last=\(all[9])") == true)
        #expect(imitation.count(.tagsPage) == 4)
    }

    @Test("hub401Missing: bearer challenge, tokens, 401 insufficient_scope for a repository that does not exist")
    func hub401() async throws {
        let reg = try RegistryServer()
        _ = try await Self.push(reg, "lib/present")
        let imitation = try RegistryImitation(target: reg.port, mode: .hub401Missing)
        let c = try Raw(imitation.host)
        let realm = #"Bearer realm="http://\#(imitation.host)/token",service="imitation""#
        let base = try c.send("GET", "/v2/")
        #expect(base.status == 401 && base.header("WWW-Authenticate") == realm)
        let anonymous = try c.send("GET", "/v2/lib/present/manifests/1")
        #expect(anonymous.status == 401 && anonymous.header("WWW-Authenticate") == realm + #",scope="repository:lib/present:pull""#)
        func token(_ scope: String) throws -> [(String, String)] {
            let r = try c.send("GET", "/token?service=imitation&scope=\(scope)")
            #expect(r.status == 200 && r.json?["expires_in"] as? Int == 300)
            #expect(r.json?["token"] as? String == r.json?["access_token"] as? String)
            return [("Authorization", "Bearer " + (r.json?["token"] as? String ?? ""))]
        }
        let pull = try token("repository:lib/present:pull")
        #expect(try c.send("GET", "/v2/", headers: pull).status == 200)
        #expect(try c.send("GET", "/v2/lib/present/manifests/1", headers: pull).status == 200)
        let tag = try c.send("GET", "/v2/lib/present/manifests/nope", headers: pull)
        #expect(tag.status == 404 && tag.code == "MANIFEST_UNKNOWN")

        let absentPull = try token("repository:lib/absent:pull")
        let absent = try c.send("GET", "/v2/lib/absent/manifests/1", headers: absentPull)
        #expect(absent.status == 401 && absent.code == "UNAUTHORIZED" && absent.message == "authentication required")
        #expect(absent.header("WWW-Authenticate") == realm + #",scope="repository:lib/absent:pull",error="insufficient_scope""#)
        let detail = try #require((absent.json?["errors"] as? [[String: Any]])?.first?["detail"] as? [[String: String]])
        #expect(detail == [["Type": "repository", "Class": "", "Name": "lib/absent", "Action": "pull"]])
        #expect(try c.send("HEAD", "/v2/lib/absent/manifests/1", headers: absentPull).status == 401)
        #expect(try Raw(reg.host).send("GET", "/v2/lib/absent/manifests/1").status == 404)

        // A push to a missing repository goes through, and so does its owner's blob check.
        let push = try token("repository:lib/new:pull,push")
        #expect(try c.send("HEAD", "/v2/lib/new/blobs/\(Digest.sha256(of: [1]))", headers: push).status == 404)
        #expect(try c.send("POST", "/v2/lib/new/blobs/uploads/", headers: push).status == 202)
        #expect(imitation.count(.token) == 3)
    }

    @Test("hubRateLimit: RateLimit headers on manifest GET and HEAD, GETs counted in a sliding window (3 s), then 429")
    func hubRateLimit() async throws {
        let reg = try RegistryServer()
        _ = try await Self.push(reg, "rl/app")
        let imitation = try RegistryImitation(target: reg.port, mode: .hubRateLimit(limit: 3, window: 3))
        let c = try Raw(imitation.host)
        let head = try c.send("HEAD", "/v2/rl/app/manifests/1")
        #expect(head.status == 200 && head.header("RateLimit-Limit") == "3;w=3" && head.header("RateLimit-Remaining") == "3;w=3")
        #expect(head.header("docker-ratelimit-source") == "127.0.0.1")
        for left in [2, 1, 0] {
            let get = try c.send("GET", "/v2/rl/app/manifests/1")
            #expect(get.status == 200 && get.header("RateLimit-Remaining") == "\(left);w=3")
        }
        let refused = try c.send("GET", "/v2/rl/app/manifests/1")
        #expect(refused.status == 429 && refused.code == "TOOMANYREQUESTS" && refused.message == "You have reached your pull rate limit.")
        #expect(refused.header("RateLimit-Remaining") == "0;w=3" && refused.header("RateLimit-Limit") == "3;w=3")
        #expect(try c.send("HEAD", "/v2/rl/app/manifests/1").status == 200)
        #expect(try c.send("GET", "/v2/rl/app/tags/list").header("RateLimit-Limit") == nil)
        #expect(imitation.count(.tooManyRequests) == 1)
        try await Task.sleep(for: .milliseconds(3100))
        #expect(try c.send("GET", "/v2/rl/app/manifests/1").status == 200)
        #expect(imitation.count(.manifestGet) == 5 && imitation.count(.manifestHead) == 2)
    }

    @Test("s3Eventual: a just-uploaded blob is BLOB_UNKNOWN and a manifest naming it MANIFEST_BLOB_UNKNOWN, for a while")
    func s3Eventual() async throws {
        let reg = try RegistryServer()
        let tree = try SyntheticImage.single(layers: 1, layerSize: 2000, seed: 8)
        let imitation = try RegistryImitation(target: reg.port, mode: .s3Eventual(.seconds(8)))
        let c = try Raw(imitation.host)
        let started = ContinuousClock.now
        for (_, bytes) in tree.blobs.values { #expect(try Self.upload(c, "s3/app", bytes).status == 201) }
        let uploaded = ContinuousClock.now
        let layer = tree.blobs.values.first { $0.0.mediaType == .ociLayerGzip }!.0.digest
        #expect(try c.send("HEAD", "/v2/s3/app/blobs/\(layer)").status == 404)
        let get = try c.send("GET", "/v2/s3/app/blobs/\(layer)")
        #expect(get.status == 404 && get.code == "BLOB_UNKNOWN")
        #expect(try c.send("HEAD", "/v2/s3/other/blobs/\(layer)").status == 404)
        let put = try c.send("PUT", "/v2/s3/app/manifests/1", headers: [("Content-Type", tree.top.mediaType.rawValue)], body: tree.top.bytes)
        #expect(put.status == 400 && put.code == "MANIFEST_BLOB_UNKNOWN")
        // The delay is long so that these checks run within it even on a loaded machine.
        #expect(ContinuousClock.now - started < .seconds(8), "the checks ran after the delay")
        #expect(try Raw(reg.host).send("HEAD", "/v2/s3/app/blobs/\(layer)").status == 200)
        try await Task.sleep(until: uploaded + .milliseconds(8100))
        #expect(try c.send("HEAD", "/v2/s3/app/blobs/\(layer)").status == 200)
        #expect(try c.send("PUT", "/v2/s3/app/manifests/1", headers: [("Content-Type", tree.top.mediaType.rawValue)], body: tree.top.bytes).status == 201)
    }

    @Test("artifactoryHeadLies: blob HEAD is always 200 with Content-Length 1234; GET tells the truth")
    func artifactory() async throws {
        let reg = try RegistryServer()
        let imitation = try RegistryImitation(target: reg.port, mode: .artifactoryHeadLies)
        let c = try Raw(imitation.host)
        let digest = Digest.sha256(of: Array("never pushed".utf8))
        let head = try c.send("HEAD", "/v2/af/app/blobs/\(digest)")
        #expect(head.status == 200 && head.header("Content-Length") == "1234" && head.header("Docker-Content-Digest") == "\(digest)")
        let get = try c.send("GET", "/v2/af/app/blobs/\(digest)")
        #expect(get.status == 404 && get.code == "BLOB_UNKNOWN")
        #expect(imitation.count(.headBlob) == 1 && imitation.count(.getBlob) == 1)
    }

    @Test("many clients at once: 20 connections × 10 requests each, all answered, all counted")
    func concurrent() async throws {
        let reg = try RegistryServer()
        let tree = try await Self.push(reg, "library/many")
        let imitation = try RegistryImitation(target: reg.port, mode: .harbor(.init()))
        let statuses = try await withThrowingTaskGroup(of: [Int].self) { group in
            for _ in 0..<20 {
                group.addTask {
                    let c = try Raw(imitation.host)
                    return try (0..<10).map { i in
                        try c.send(i % 2 == 0 ? "GET" : "HEAD", "/v2/library/many/manifests/\(tree.top.digest)").status
                    }
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        #expect(statuses.count == 200 && statuses.allSatisfy { $0 == 200 })
        #expect(imitation.count(.manifestGet) == 100 && imitation.count(.manifestHead) == 100)
    }
}
