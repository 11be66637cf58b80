import Foundation
import Synchronization

/// A real CNCF distribution registry made to behave like another registry implementation: a spec-following
/// HTTP/1.1 layer in front of it that reproduces one documented or reported behaviour (a `Mode`) of Harbor, ECR,
/// Google Artifact Registry, Nexus, Quay, Docker Hub, S3-backed registries or Artifactory.
///
/// Everything the mode does not change is forwarded byte for byte, the request head included, so the registry
/// builds `Location` URLs with the imitation's host. Request bodies (with `Content-Length` or chunked) are read
/// whole first; a chunked one is re-sent with `Content-Length`. Each client connection gets a thread and its own
/// upstream connection, with keep-alive on both. What clients did is observable through `counts`, `count(_:)`
/// and `exchanges`.
public final class RegistryImitation: @unchecked Sendable {
    /// What a request was, for counting.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// `POST …/blobs/uploads/?mount=…`.
        case mount
        /// `POST …/blobs/uploads/` without `mount`.
        case uploadStart
        /// `PATCH` of an upload session.
        case patch
        /// `PUT` of an upload session (the closing one).
        case uploadPut
        /// A request whose body came with `Transfer-Encoding: chunked` (counted besides its own kind).
        case streamedRequest
        /// `GET …/tags/list`.
        case tagsPage
        case headBlob, getBlob
        case manifestGet, manifestHead, manifestPut
        /// A 429 the imitation sent (counted besides the request's own kind).
        case tooManyRequests
        /// `GET /token` (the imitation's own token endpoint in `hub401Missing`).
        case token
        /// `GET /api/v2.0/ping`.
        case harborPing
        /// `HEAD /api/v2.0/projects?project_name=…`.
        case projectHead
        /// `POST /api/v2.0/projects`.
        case projectCreate
        /// Anything else.
        case other
    }

    /// One request and the status it was answered with.
    public struct Exchange: Sendable, CustomStringConvertible {
        public var method: String
        public var path: String
        /// The query string without `?` (empty when none).
        public var query: String
        public var status: Int
        public var kind: Kind
        /// Whether the request body came chunked.
        public var streamed: Bool
        public var description: String { "\(method) \(path)\(query.isEmpty ? "" : "?" + query) → \(status)" }
    }

    public let target: Int
    public let mode: Mode
    let listener: LoopbackListener
    let state = Mutex(State())

    /// Everything the imitation keeps between requests.
    struct State {
        var counts: [Kind: Int] = [:]
        var exchanges: [Exchange] = []
        var harborProjects: Set<String> = []
        var harborCreated: [(name: String, public: Bool)] = []
        var harborNextID = 2
        /// Upload sessions (by path) whose last PATCH was shorter than the minimum chunk length.
        var shortPatch: Set<String> = []
        /// Blobs whose upload completed, and until when they are not yet visible.
        var hiddenUntil: [String: ContinuousClock.Instant] = [:]
        /// Manifest GETs inside the rate-limit window.
        var pulls: [ContinuousClock.Instant] = []
        /// Bearer tokens issued, with the access each grants (`repository name → actions`).
        var tokens: [String: [String: Set<String>]] = [:]
        /// Repositories seen to exist upstream.
        var existing: Set<String> = []
    }

    public var port: Int { listener.port }
    /// `127.0.0.1:PORT`.
    public var host: String { "127.0.0.1:\(port)" }

    /// Requests by kind so far.
    public var counts: [Kind: Int] { state.withLock { $0.counts } }
    /// How many requests of `kind` there were so far.
    public func count(_ kind: Kind) -> Int { state.withLock { $0.counts[kind, default: 0] } }
    /// Every request so far, in the order they were answered.
    public var exchanges: [Exchange] { state.withLock { $0.exchanges } }

    /// Starts an imitation of `mode` in front of the registry on `127.0.0.1:target`.
    public init(target: Int, mode: Mode) throws {
        self.target = target
        self.mode = mode
        if case .harbor(let h) = mode { state.withLock { $0.harborProjects = h.projects } }
        listener = try LoopbackListener(name: "registry-imitation", backlog: 256)
        listener.start { [self] client in
            let t = Thread { [self] in serve(client) }
            t.name = "registry-imitation-conn"
            t.start()
        }
    }

    deinit { stop() }

    /// Stops accepting connections.
    public func stop() { listener.stop() }

    // MARK: One connection

    private func serve(_ fd: Int32) {
        let client = ImitationWire(fd: fd)
        let upstream = Upstream(port: target)
        defer {
            client.close()
            upstream.close()
        }
        while !listener.isStopped {
            guard let request = client.readRequest() else { return }
            let r = Request(request)
            let answer = handle(r, upstream) ?? .error(502, "UNAVAILABLE", "the registry behind the imitation did not answer")
            record(r, answer.head.status)
            guard client.write(answer.headBytes + answer.wireBody) else { return }
            if request.head.closes || answer.head.closes { return }
        }
    }

    /// The answer to one request under the mode; nil when the registry could not be reached.
    private func handle(_ r: Request, _ upstream: Upstream) -> ImitationMessage? {
        switch mode {
        case .harbor(let h): harbor(h, r, upstream)
        case .ecrNoMount: ecrNoMount(r, upstream)
        case .garMonolithic: garMonolithic(r, upstream)
        case .chunkMinLength(let min): chunkMinLength(min, r, upstream)
        case .refuseStreamed: refuseStreamed(r, upstream)
        case .nexusBadLink(let link, let cap): nexusTags(link, pageCap: cap, r, upstream)
        case .quayPageLimit(let limit): quayTags(limit, r, upstream)
        case .hub401Missing: hub401Missing(r, upstream)
        case .hubRateLimit(let limit, let window): hubRateLimit(limit: limit, window: window, r, upstream)
        case .s3Eventual(let delay): s3Eventual(delay, r, upstream)
        case .artifactoryHeadLies: artifactoryHeadLies(r, upstream)
        }
    }

    private func record(_ r: Request, _ status: Int) {
        state.withLock { s in
            s.counts[r.kind, default: 0] += 1
            if r.message.streamed { s.counts[.streamedRequest, default: 0] += 1 }
            if status == 429 { s.counts[.tooManyRequests, default: 0] += 1 }
            s.exchanges.append(Exchange(method: r.method, path: r.path, query: r.query, status: status, kind: r.kind,
                                        streamed: r.message.streamed))
        }
    }
}

extension RegistryImitation {
    /// A request as the modes see it: method, path, query and what the path names.
    struct Request {
        var message: ImitationMessage
        var method: String { message.head.method }
        var target: String { message.head.target }
        var path: String
        /// The raw query string, without `?`.
        var query: String
        /// Query parameters, decoded as Go's net/url does ('+' is a space); every value of a repeated name.
        var parameters: [(String, String)]
        /// The repository named by a `/v2/<name>/…` path, and the part after it (`blobs/…`, `manifests/…`,
        /// `tags/list`, `blobs/uploads/…`, `referrers/…`).
        var repository: String?
        var rest: String = ""
        var kind: Kind = .other

        init(_ message: ImitationMessage) {
            self.message = message
            // An absolute-form target (`http://host/path`) names the same path as its origin form.
            var t = message.head.target
            if let scheme = t.range(of: "://"), t.prefix(upTo: scheme.lowerBound).allSatisfy(\.isLetter) {
                let afterAuthority = t[scheme.upperBound...].drop { $0 != "/" && $0 != "?" }
                t = afterAuthority.hasPrefix("/") ? String(afterAuthority) : "/" + afterAuthority
            }
            path = String(t.prefix { $0 != "?" })
            query = t.firstIndex(of: "?").map { String(t[t.index(after: $0)...]) } ?? ""
            parameters = query.split(separator: "&").map { kv in
                let parts = kv.split(separator: "=", maxSplits: 1).map { part in
                    let spaced = part.replacingOccurrences(of: "+", with: " ")
                    return spaced.removingPercentEncoding ?? spaced
                }
                return (parts[0], parts.count > 1 ? parts[1] : "")
            }
            if path.hasPrefix("/v2/") { (repository, rest) = Self.split(String(path.dropFirst(4))) }
            kind = Self.kind(method: message.head.method, path: path, rest: rest, repository: repository,
                             mount: parameters.contains { $0.0 == "mount" })
        }

        /// The repository and the rest of a path after `/v2/`, as distribution's routes match them: the name is
        /// everything before `/tags/list`, `/blobs/uploads/[<id>]`, `/blobs/<digest>`, `/manifests/<reference>`
        /// or `/referrers/<digest>`.
        static func split(_ inner: String) -> (String?, String) {
            if inner.hasSuffix("/tags/list") { return (String(inner.dropLast("/tags/list".count)), "tags/list") }
            for marker in ["/blobs/uploads/", "/blobs/", "/manifests/", "/referrers/"] {
                guard let r = inner.range(of: marker, options: .backwards), r.lowerBound > inner.startIndex else { continue }
                let after = inner[r.upperBound...]
                guard !after.contains("/"), marker == "/blobs/uploads/" || !after.isEmpty else { continue }
                return (String(inner[..<r.lowerBound]), String(marker.dropFirst()) + after)
            }
            return (nil, "")
        }

        /// The last value of a query parameter.
        func parameter(_ name: String) -> String? { parameters.last { $0.0 == name }?.1 }

        var isHEAD: Bool { method == "HEAD" }
        /// A blob path `blobs/<digest>` (not an upload session).
        var blobDigest: String? {
            guard rest.hasPrefix("blobs/"), !rest.hasPrefix("blobs/uploads") else { return nil }
            return String(rest.dropFirst("blobs/".count))
        }
        var isUpload: Bool { rest.hasPrefix("blobs/uploads") }
        var isManifest: Bool { rest.hasPrefix("manifests/") }
        var isTagsList: Bool { rest == "tags/list" }

        static func kind(method: String, path: String, rest: String, repository: String?, mount: Bool) -> Kind {
            switch (method, path) {
            case ("GET", "/token"): return .token
            case (_, "/api/v2.0/ping"): return .harborPing
            case ("HEAD", "/api/v2.0/projects"): return .projectHead
            case ("POST", "/api/v2.0/projects"): return .projectCreate
            default: break
            }
            guard repository != nil else { return .other }
            if rest.hasPrefix("blobs/uploads") {
                switch method {
                case "POST": return mount ? .mount : .uploadStart
                case "PATCH": return .patch
                case "PUT": return .uploadPut
                default: return .other
                }
            }
            if rest.hasPrefix("blobs/") { return method == "HEAD" ? .headBlob : method == "GET" ? .getBlob : .other }
            if rest.hasPrefix("manifests/") {
                return ["GET": .manifestGet, "HEAD": .manifestHead, "PUT": .manifestPut][method] ?? .other
            }
            if rest == "tags/list", method == "GET" { return .tagsPage }
            return .other
        }
    }

    /// The connection to the registry behind the imitation, opened on first use and again after it closes.
    final class Upstream {
        let port: Int
        private var wire: ImitationWire?

        init(port: Int) { self.port = port }

        func close() {
            wire?.close()
            wire = nil
        }

        /// Sends `bytes` (a whole request with `method`) and reads the answer; a connection the registry closed
        /// while idle is replaced once.
        func exchange(_ bytes: [UInt8], method: String) -> ImitationMessage? {
            for attempt in 0..<2 {
                if wire == nil { wire = ImitationWire.connect(port: port) }
                guard let w = wire else { return nil }
                if w.write(bytes), let response = w.readResponse(method: method) {
                    if response.head.closes { close() }
                    return response
                }
                close()
                if attempt == 1 { return nil }
            }
            return nil
        }

        /// Forwards a request (re-framed when its body came chunked; `target` replaces the request target).
        func forward(_ r: Request, target: String? = nil) -> ImitationMessage? {
            exchange(r.message.forwardable(target: target), method: r.method)
        }

        /// A GET of `target` made by the imitation itself (with `host` as its Host).
        func get(_ target: String, host: String) -> ImitationMessage? {
            exchange(Array("GET \(target) HTTP/1.1\r\nHost: \(host)\r\nUser-Agent: registry-imitation\r\n\r\n".utf8), method: "GET")
        }
    }
}
