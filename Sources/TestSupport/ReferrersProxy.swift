import Engine
import Foundation
import Synchronization

/// A registry that serves the OCI 1.1 referrers API, made of a real distribution registry (which has none) and
/// this spec-following layer in front of it.
///
/// Everything is forwarded byte for byte, except:
/// - a manifest PUT whose JSON names a `subject` is recorded (media type, digest, size, `artifactType` or the
///   config's media type, annotations) and, once the registry has stored it, answered with `OCI-Subject`;
/// - `GET /v2/<name>/referrers/<digest>` is answered from those records: an image index, filtered by the
///   `artifactType` query parameter (then with `OCI-Filters-Applied: artifactType`), in pages of `pageSize`
///   entries linked by `Link: <…>; rel="next"`.
///
/// Switches make it behave as registries were reported to: `lieAboutAPI` sends `OCI-Subject` but answers the
/// referrers endpoint 404 (ECR and Docker Hub did); `refuseIndexSubjects` answers 405 to a manifest whose
/// subject is an index (ECR); `unknownUntilReferred` answers the referrers endpoint of the repositories it names
/// 404 `NAME_UNKNOWN` until a manifest naming a subject has been stored there (a registry that keeps a
/// repository's referrers apart and knows of none before the first).
public final class ReferrersProxy: @unchecked Sendable {
    public struct Behaviour: Sendable {
        public var pageSize = 2
        public var lieAboutAPI = false
        public var refuseIndexSubjects = false
        public var unknownUntilReferred: Set<String> = []
        public init(pageSize: Int = 2, lieAboutAPI: Bool = false, refuseIndexSubjects: Bool = false, unknownUntilReferred: Set<String> = []) {
            self.pageSize = pageSize
            self.lieAboutAPI = lieAboutAPI
            self.refuseIndexSubjects = refuseIndexSubjects
            self.unknownUntilReferred = unknownUntilReferred
        }
    }

    public let target: Int
    public let behaviour: Behaviour
    private let listener: LoopbackListener
    /// repository → subject → referrers, in the order they were pushed.
    private let records = Mutex<[String: [Digest: [Descriptor]]]>([:])
    private let counts = Mutex<[String: Int]>([:])
    private let overrides = Mutex<[String: (type: String, body: [UInt8])]>([:])

    public var port: Int { listener.port }
    /// `127.0.0.1:PORT`.
    public var host: String { "127.0.0.1:\(port)" }

    /// Requests seen, by kind: `referrers` (`referrers-filtered` with `artifactType`; `name-unknown` counts those
    /// answered NAME_UNKNOWN as well), `manifest-put`, `tags`, `other`.
    public var requestCounts: [String: Int] { counts.withLock { $0 } }

    /// The referrers recorded for `subject` in `repository`.
    public func referrers(_ repository: String, of subject: Digest) -> [Descriptor] {
        records.withLock { $0[repository]?[subject] ?? [] }
    }

    /// Lists `entries` as referrers of `subject` in `repository` as if they had been pushed (for lists longer
    /// than a test would push).
    public func record(_ repository: String, subject: Digest, entries: [Descriptor]) {
        records.withLock { $0[repository, default: [:]][subject, default: []] += entries }
    }

    /// Answers GET and HEAD of `path` with `body` (as `type`, with its sha256 as `Docker-Content-Digest`) instead
    /// of forwarding: content a real registry would refuse to store, such as a manifest over 4 MiB.
    public func serve(_ path: String, type: String, body: [UInt8]) {
        overrides.withLock { $0[path] = (type, body) }
    }

    public init(target: Int, behaviour: Behaviour = Behaviour()) throws {
        self.target = target
        self.behaviour = behaviour
        listener = try LoopbackListener(name: "referrers-proxy", backlog: 256)
        listener.start { [self] client in
            let t = Thread { [self] in serve(client) }
            t.name = "referrers-proxy-conn"
            t.start()
        }
    }

    deinit { stop() }

    public func stop() { listener.stop() }

    private func count(_ kind: String) { counts.withLock { $0[kind, default: 0] += 1 } }

    private func serve(_ fd: Int32) {
        let c = Peer(fd: fd, counting: { _ in })
        var upstream: Peer?
        defer {
            c.close()
            upstream?.close()
        }
        while !listener.isStopped {
            guard let headBytes = c.readHead(), let head = Head(parsing: headBytes, isRequest: true) else { return }
            let path = String(head.target.prefix { $0 != "?" })
            let query = Self.query(head.target)
            if let (name, digest) = Self.match(path, "referrers"), head.method == "GET" || head.method == "HEAD" {
                count(query["artifactType"] == nil ? "referrers" : "referrers-filtered")
                guard c.discardBody(head, limit: nil) else { return }
                let unknown = behaviour.unknownUntilReferred.contains(name) && records.withLock { $0[name] == nil }
                if unknown { count("name-unknown") }
                let response = behaviour.lieAboutAPI
                    ? Self.response(404, body: Array(#"{"errors":[{"code":"NOT_FOUND","message":"not found"}]}"#.utf8))
                    : unknown
                    ? Self.response(404, body: Array(#"{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry"}]}"#.utf8))
                    : referrersPage(name, digest, query: query, path: path)
                guard c.write(head.method == "HEAD" ? response.head : response.head + response.body) else { return }
                continue
            }
            if head.method == "GET" || head.method == "HEAD", let o = overrides.withLock({ $0[path] }) {
                guard c.discardBody(head, limit: nil) else { return }
                let r = Self.response(200, headers: ["Content-Type: \(o.type)", "Docker-Content-Digest: \(Digest.sha256(of: o.body))"], body: o.body)
                guard c.write(head.method == "HEAD" ? r.head : r.head + r.body) else { return }
                continue
            }
            if upstream == nil {
                guard let u = Peer.connect(port: target, counting: { _ in }) else { return }
                upstream = u
            }
            let u = upstream!
            var subject: (Digest, Descriptor)?
            if head.method == "PUT", let (name, _) = Self.match(path, "manifests") {
                count("manifest-put")
                guard let length = head.contentLength, let body = c.read(length) else { return }
                if let (s, subjectType, entry) = Self.referrer(body, headBytes: headBytes) {
                    if behaviour.refuseIndexSubjects, MediaType(rawValue: subjectType).isIndex {
                        let r = Self.response(405, body: Array(#"{"errors":[{"code":"UNSUPPORTED","message":"a manifest whose subject is an image index is not supported"}]}"#.utf8))
                        guard c.write(r.head + r.body) else { return }
                        continue
                    }
                    subject = (s, entry)
                }
                guard u.write(headBytes), u.write(body) else { return }
                guard let rh = u.readHead(), let response = Head(parsing: rh, isRequest: false) else { return }
                var responseHead = rh
                if let (s, entry) = subject, response.status == 201 {
                    records.withLock { r in
                        var list = r[name, default: [:]][s, default: []]
                        if !list.contains(where: { $0.digest == entry.digest }) { list.append(entry) }
                        r[name, default: [:]][s] = list
                    }
                    responseHead = Array(responseHead.dropLast(2)) + Array("OCI-Subject: \(s)\r\n\r\n".utf8)
                }
                guard c.write(responseHead), u.copyBody(response, to: c, limit: nil) == .complete else { return }
                if response.closes || head.closes { return }
                continue
            }
            count(path.hasSuffix("/tags/list") ? "tags" : "other")
            guard u.write(headBytes), c.copyBody(head, to: u, limit: nil) == .complete else { return }
            guard let rh = u.readHead(), let response = Head(parsing: rh, isRequest: false) else { return }
            guard c.write(rh) else { return }
            let bodyless = head.method == "HEAD" || response.status == 204 || response.status == 304 || response.contentLength == 0
            if !bodyless, u.copyBody(response, to: c, limit: nil) != .complete { return }
            if response.closes || head.closes { return }
        }
    }

    /// One page of the referrers of `digest` in `name`.
    private func referrersPage(_ name: String, _ digest: String, query: [String: String], path: String) -> (head: [UInt8], body: [UInt8]) {
        guard let d = try? Digest(parsing: digest) else {
            return Self.response(400, body: Array(#"{"errors":[{"code":"DIGEST_INVALID","message":"invalid digest"}]}"#.utf8))
        }
        var all = referrers(name, of: d)
        var headers: [String] = ["Content-Type: \(MediaType.ociIndex.rawValue)"]
        if let type = query["artifactType"] {
            all = all.filter { $0.artifactType == type }
            headers.append("OCI-Filters-Applied: artifactType")
        }
        let page = Int(query["page"] ?? "0") ?? 0
        let size = max(1, behaviour.pageSize)
        let slice = Array(all.dropFirst(page * size).prefix(size))
        if (page + 1) * size < all.count {
            var next = "\(path)?page=\(page + 1)"
            if let type = query["artifactType"] { next += "&artifactType=\(type.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? type)" }
            headers.append("Link: <\(next)>; rel=\"next\"")
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let index = ImageIndex(mediaType: .ociIndex, manifests: slice)
        return Self.response(200, headers: headers, body: Array((try? encoder.encode(index)) ?? Data()))
    }

    /// The subject, its media type and the referrers-list entry of a manifest body, when it names a subject.
    private static func referrer(_ body: [UInt8], headBytes: [UInt8]) -> (Digest, String, Descriptor)? {
        struct Fields: Decodable {
            var mediaType: String?
            var artifactType: String?
            var config: Descriptor?
            var subject: Descriptor?
            var annotations: [String: String]?
        }
        guard let f = try? JSONDecoder().decode(Fields.self, from: Data(body)), let subject = f.subject else { return nil }
        let contentType = String(decoding: headBytes, as: UTF8.self).components(separatedBy: "\r\n")
            .first { $0.lowercased().hasPrefix("content-type:") }
            .map { String($0.dropFirst("content-type:".count)).trimmingCharacters(in: .whitespaces) }
        let type = MediaType(rawValue: contentType ?? f.mediaType ?? MediaType.ociManifest.rawValue)
        var entry = Descriptor(mediaType: type, digest: Digest.sha256(of: body), size: Int64(body.count))
        entry.artifactType = f.artifactType ?? f.config?.mediaType.rawValue
        entry.annotations = f.annotations
        return (subject.digest, subject.mediaType.rawValue, entry)
    }

    private static func match(_ path: String, _ kind: String) -> (String, String)? {
        guard path.hasPrefix("/v2/"), let r = path.range(of: "/\(kind)/", options: .backwards) else { return nil }
        let name = String(path[path.index(path.startIndex, offsetBy: 4)..<r.lowerBound])
        let ref = String(path[r.upperBound...])
        guard !name.isEmpty, !ref.isEmpty, !ref.contains("/") else { return nil }
        return (name, ref)
    }

    private static func query(_ target: String) -> [String: String] {
        guard let q = target.split(separator: "?", maxSplits: 1).dropFirst().first else { return [:] }
        var out: [String: String] = [:]
        for kv in q.split(separator: "&") {
            // As Go's net/url reads a query: '+' is a space, then percent-decoding.
            let parts = kv.split(separator: "=", maxSplits: 1).map { part in
                let spaced = part.replacingOccurrences(of: "+", with: " ")
                return spaced.removingPercentEncoding ?? spaced
            }
            out[parts[0]] = parts.count > 1 ? parts[1] : ""
        }
        return out
    }

    private static func response(_ status: Int, headers: [String] = ["Content-Type: application/json"], body: [UInt8]) -> (head: [UInt8], body: [UInt8]) {
        let lines = ["HTTP/1.1 \(status) X"] + headers + ["Content-Length: \(body.count)", "Docker-Distribution-API-Version: registry/2.0"]
        return (Array((lines.joined(separator: "\r\n") + "\r\n\r\n").utf8), body)
    }
}
