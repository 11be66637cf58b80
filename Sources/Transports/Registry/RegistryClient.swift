import Engine
import FoundationEssentials
import Logging
import Synchronization

/// A client for one registry's distribution API.
///
/// It finds the registry's scheme (HTTPS, or plain HTTP where allowed) with a ping of `/v2/`, learns its
/// authentication challenge, and attaches credentials or bearer tokens to every request. Tokens are cached per
/// scope and refreshed before they expire or when the registry answers 401.
public final class RegistryClient: Sendable {
    /// The registry as named in references (`docker.io`, `host:port`).
    public let registry: String
    /// The host that serves the API.
    public let apiHost: String
    public let options: RegistryOptions
    let http: HTTPClient
    let tls: TLSOptions
    let auth: RegistryAuthenticator
    /// What the run learned about this host (shared with the host's other clients).
    public var learned: LearnedFeatures { options.learned }
    /// Whether the registry serves the referrers API: nil until asked once, then what its answer showed.
    let learnedReferrersAPI = Mutex<Bool?>(nil)
    /// While the first referrers request is out, the others wait for what it shows (asked once per registry).
    let referrersProbe = Mutex<(probing: Bool, waiting: [CheckedContinuation<Void, Never>])>((false, []))
    var logger: Logger { http.logger }

    /// A client for `registry`; the host's profile from `options.profiles` is applied to `options`.
    public init(registry: String, options: RegistryOptions = RegistryOptions(), http: HTTPClient = HTTPClient()) {
        let options = options.applying(profileOf: registry)
        self.registry = registry
        self.apiHost = options.profile.apiHost ?? (registry == Reference.dockerHub ? "registry-1.docker.io" : registry)
        self.options = options
        self.http = http
        self.tls = CertificateFolder.tlsOptions(host: apiHost, certDir: options.certDir, verify: options.tlsVerify)
        self.auth = RegistryAuthenticator(registry: registry, credentials: options.credentials, http: http,
                                          tls: tls, allowPlainCredentials: !options.tlsVerify, gate: options.gate)
    }

    // MARK: Base URL

    /// The API's base URL (`https://host/` or `http://host/`), found by pinging `/v2/` once.
    public func baseURL() async throws -> URL {
        try await auth.baseURL { [self] in try await ping() }
    }

    private func ping() async throws -> (URL, [AuthChallenge]) {
        let loopback = isLoopbackHost(apiHost)
        guard !options.tlsVerify || loopback else { return try await ping(scheme: "https") }
        if loopback {
            // Loopback registries are usually plain HTTP (as Docker assumes): asking that first saves a TLS
            // handshake and OpenSSL's loading of the CA store. An HTTPS server answers 400 or drops the request.
            do {
                return try await ping(scheme: "http", connectTimeout: .seconds(3))
            } catch let e as RegistryError where e.status == 400 {
                logger.debug("\(apiHost): speaks HTTPS")
            } catch is TransportError {
                logger.debug("\(apiHost): plain HTTP failed; trying HTTPS")
            }
            return try await ping(scheme: "https")
        }
        do {
            return try await ping(scheme: "https")
        } catch let httpsError as TransportError {
            // A certificate the user did not allow us to skip is an answer, not a reason to try plain HTTP.
            if options.tlsVerify && [58, 60, 77].contains(httpsError.code) { throw httpsError }
            logger.debug("\(apiHost): HTTPS failed (\(httpsError.message)); trying plain HTTP")
            do {
                return try await ping(scheme: "http")
            } catch let e as RegistryError where e.status == 400 {
                // An HTTPS server answering a plain request: the HTTPS failure is the real story.
                throw httpsError
            } catch is TransportError {
                throw httpsError
            }
        }
    }

    private func ping(scheme: String, connectTimeout: Duration? = nil) async throws -> (URL, [AuthChallenge]) {
        guard let base = URL(string: "\(scheme)://\(apiHost)/") else {
            throw RegistryProtocolError("invalid registry host \"\(apiHost)\"")
        }
        let url = base.appendingPathComponent("v2/")
        var request = HTTPRequest(method: "GET", url: url, tls: tls)
        request.connectTimeout = connectTimeout
        let response = try await gated(options.gate, host: registry) { try await http.execute(request) }
        response.discard()
        switch response.status {
        case 200..<300:
            return (base, [])
        case 401:
            return (base, AuthChallenge.parse(response.headers.values("WWW-Authenticate").joined(separator: ", ")))
        default:
            if response.status == 404 {
                throw RegistryProtocolError("\(apiHost) is not a registry: GET /v2/ answered 404")
            }
            throw RegistryError(status: response.status, target: registry, request: "GET \(HTTPRedaction.url(url))")
        }
    }

    // MARK: Sending

    /// The URL of an API path (e.g. `v2/library/nginx/manifests/latest`) with optional query items.
    /// `text` percent-encoded for a query: every UTF-8 byte but ASCII letters, digits and `-._~:/@` (so `+`
    /// and spaces, which a Go registry reads alike, stay apart).
    static func queryEncoded(_ text: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for b in text.utf8 {
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: ":"), UInt8(ascii: "/"), UInt8(ascii: "@"):
                out.append(b)
            default:
                out += [UInt8(ascii: "%"), hex[Int(b >> 4)], hex[Int(b & 0x0f)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    func url(_ path: String, query: [URLQueryItem] = []) async throws -> URL {
        let base = try await baseURL()
        var c = URLComponents(url: base, resolvingAgainstBaseURL: false)!
        c.percentEncodedPath = "/" + path
        // Strictly encoded: a Go registry reads a '+' in a query as a space (artifactType=application/spdx+json).
        if !query.isEmpty {
            c.percentEncodedQuery = query.map { q in
                let name = Self.queryEncoded(q.name)
                guard let v = q.value else { return name }
                return "\(name)=\(Self.queryEncoded(v))"
            }.joined(separator: "&")
        }
        guard let u = c.url else { throw RegistryProtocolError("cannot build a URL for \(path)") }
        return u
    }

    /// Sends a request with authorization for `scope`, retrying once with fresh credentials after a 401.
    ///
    /// `send` performs the exchange; it is called again for the retry, so it must be repeatable (streaming
    /// uploads pass `retryUnauthorized: false` and refresh authorization beforehand).
    func authorized(
        _ request: HTTPRequest, scope: AuthScope, retryUnauthorized: Bool = true, gated: Admission = .request,
        send: (HTTPRequest) async throws -> HTTPResponse
    ) async throws -> HTTPResponse {
        var request = request
        request.bulk = request.bulk || gated != .request
        var retried = false
        // Credentials go only to the registry's own host (an upload Location may name another).
        let base = try await baseURL()
        let ownHost = request.url.host?.lowercased() == base.host?.lowercased()
            && !(base.scheme == "https" && request.url.scheme != "https")
        while true {
            if ownHost, let header = try await auth.authorization(for: scope) {
                request.headers.set("Authorization", header)
            } else {
                request.headers.remove("Authorization")
            }
            let current = request
            let response = try await Transports.gated(options.gate, host: registry, admission: gated) {
                try await send(current)
            }
            if response.status == 401, retryUnauthorized, !retried {
                let challenges = AuthChallenge.parse(response.headers.values("WWW-Authenticate").joined(separator: ", "))
                response.discard()
                await auth.unauthorized(scope: scope, challenges: challenges)
                retried = true
                continue
            }
            return response
        }
    }

    /// Sends an in-memory request with authorization.
    /// Each request holds a gate slot from sending until its response body ends (see `RequestGate.exchange`).
    func send(_ request: HTTPRequest, scope: AuthScope, gated: Admission = .request) async throws -> HTTPResponse {
        try await authorized(request, scope: scope, gated: gated) { try await http.execute($0) }
    }

    /// Reads an error response into a typed error. A read refused with 401 although a fresh token was sent is
    /// "not found": Docker Hub answers so for a repository that does not exist (the message says so).
    func error(from response: HTTPResponse, target: String, method: String) async -> RegistryError {
        let body = (try? await response.collect(limit: 64 * 1024)) ?? []
        let e = RegistryError.from(status: response.status, headers: response.headers, body: body, target: target,
                                   request: "\(method) \(HTTPRedaction.url(response.url))")
        guard await readRefusedWithToken(response, method: method) else { return e }
        // The registry's own words ("authentication required") would send the user after credentials.
        return RegistryError(status: 404, codes: [.nameUnknown], messages: [Self.missingBehind401],
                             target: e.target, request: e.request)
    }

    /// What a 401 to a read with a valid token means.
    static let missingBehind401 = "the registry answered 401 to a valid token, as Docker Hub does for a repository that does not exist (or that these credentials cannot read)"

    /// Whether `response` is a 401 to a GET or HEAD that carried a bearer token the registry had just issued.
    func readRefusedWithToken(_ response: HTTPResponse, method: String) async -> Bool {
        guard response.status == 401, method == "GET" || method == "HEAD" else { return false }
        return await auth.bearer
    }

    /// A request with this registry's TLS settings.
    func request(_ method: String, _ url: URL, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8]? = nil,
                 followRedirects: Bool = false) -> HTTPRequest {
        HTTPRequest(method: method, url: url, headers: headers, body: body, tls: tls, followRedirects: followRedirects)
    }
}

/// The access a request needs: `repository:NAME:ACTIONS` entries.
public struct AuthScope: Hashable, Sendable, CustomStringConvertible {
    public var entries: [String]

    public init(entries: [String]) { self.entries = entries.sorted() }

    /// Pull access to one repository.
    public static func pull(_ repository: String) -> AuthScope { AuthScope(entries: ["repository:\(repository):pull"]) }
    /// Push and pull access to one repository, plus pull on others (mount sources).
    public static func push(_ repository: String, mountingFrom others: [String] = []) -> AuthScope {
        AuthScope(entries: ["repository:\(repository):pull,push"] + others.filter { $0 != repository }
            .map { "repository:\($0):pull" })
    }
    /// The repository the first entry names, for credential lookup.
    var repository: String {
        let parts = entries.first?.split(separator: ":") ?? []
        return parts.count >= 2 ? String(parts[1]) : ""
    }

    public var description: String { entries.joined(separator: " ") }
}
