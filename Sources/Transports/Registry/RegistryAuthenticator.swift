import Engine
import FoundationEssentials
import Logging

/// Holds one registry's authentication state: its base URL, its challenge, credentials per repository and bearer
/// tokens per scope. Concurrent callers share one ping and one token request per scope.
actor RegistryAuthenticator {
    struct Token {
        var value: String
        var refreshAfter: ContinuousClock.Instant
    }

    let registry: String
    let credentials: CredentialStore
    let http: HTTPClient
    let tls: TLSOptions
    /// Send credentials to a non-loopback token realm over plain HTTP (only when the user turned TLS off).
    let allowPlainCredentials: Bool
    /// Token requests count against the realm host's limits (often the registry itself).
    let gate: (any RequestGate)?

    private var base: Task<URL, any Error>?
    private var challenge: AuthChallenge?
    private var tokens: [AuthScope: Token] = [:]
    private var pending: [AuthScope: Task<Token, any Error>] = [:]
    private var credentialCache: [String: Credential?] = [:]

    init(registry: String, credentials: CredentialStore, http: HTTPClient, tls: TLSOptions,
         allowPlainCredentials: Bool, gate: (any RequestGate)?) {
        self.gate = gate
        self.registry = registry
        self.credentials = credentials
        self.http = http
        self.tls = tls
        self.allowPlainCredentials = allowPlainCredentials
    }

    /// The base URL, pinging once; a failed ping is retried by the next caller.
    func baseURL(ping: @escaping @Sendable () async throws -> (URL, [AuthChallenge])) async throws -> URL {
        if let base { 
            do { return try await base.value } catch { self.base = nil; throw error }
        }
        let task = Task { () throws -> URL in
            let (url, challenges) = try await ping()
            self.adopt(challenges)
            return url
        }
        base = task
        do { return try await task.value } catch {
            base = nil
            throw error
        }
    }

    /// Whether the registry asked for credentials when pinged.
    var challenged: Bool { challenge != nil }
    /// Whether the registry hands out bearer tokens.
    var bearer: Bool { challenge?.scheme == "bearer" }

    private func adopt(_ challenges: [AuthChallenge]) {
        challenge = challenges.first { $0.scheme == "bearer" } ?? challenges.first { $0.scheme == "basic" }
    }

    /// The `Authorization` value for a scope, or nil when the registry asked for none.
    func authorization(for scope: AuthScope) async throws -> String? {
        guard let challenge else { return nil }
        switch challenge.scheme {
        case "basic":
            return try credential(for: scope.repository)?.basicAuthorization
        case "bearer":
            if let t = tokens[scope], ContinuousClock.now < t.refreshAfter { return "Bearer \(t.value)" }
            if let p = pending[scope] { return "Bearer \(try await p.value.value)" }
            let credential = try credential(for: scope.repository)
            let task = Task { [http, tls, registry, allowPlainCredentials, gate] in
                try await Self.fetchToken(challenge: challenge, scope: scope, credential: credential, http: http,
                                          tls: tls, registry: registry, allowPlainCredentials: allowPlainCredentials,
                                          gate: gate)
            }
            pending[scope] = task
            defer { pending[scope] = nil }
            let token = try await task.value
            tokens[scope] = token
            return "Bearer \(token.value)"
        default:
            throw RegistryProtocolError("\(registry) asks for unsupported authentication \"\(challenge.scheme)\"")
        }
    }

    /// Records a 401: forgets the scope's token and adopts the new challenge.
    func unauthorized(scope: AuthScope, challenges: [AuthChallenge]) {
        tokens[scope] = nil
        if !challenges.isEmpty { adopt(challenges) }
    }

    private func credential(for repository: String) throws -> Credential? {
        if let cached = credentialCache[repository] { return cached }
        let c = try credentials.credential(registry: registry, repository: repository)
        credentialCache[repository] = c
        return c
    }

    /// Asks the token realm for a token covering `scope`.
    static func fetchToken(challenge: AuthChallenge, scope: AuthScope, credential: Credential?, http: HTTPClient,
                           tls: TLSOptions, registry: String, allowPlainCredentials: Bool,
                           gate: (any RequestGate)? = nil) async throws -> Token {
        guard let realm = challenge.parameters["realm"], var c = URLComponents(string: realm),
              let scheme = c.scheme?.lowercased(), scheme == "https" || scheme == "http", c.host != nil
        else { throw RegistryProtocolError("\(registry) sent a bearer challenge without a usable realm") }
        // With an identity token, the OAuth2 refresh-token grant: a POST whose form carries service and scope.
        let refreshToken = credential?.identityToken
        if refreshToken == nil {
            var items = c.queryItems ?? []
            if let service = challenge.parameters["service"] { items.append(URLQueryItem(name: "service", value: service)) }
            for entry in scope.entries { items.append(URLQueryItem(name: "scope", value: entry)) }
            c.queryItems = items
        }
        guard let url = c.url else { throw RegistryProtocolError("invalid token realm from \(registry)") }

        if let origin = URL(string: "http://\(registry)/"), let why = AddressPolicy.refusal(to: url, from: origin) {
            throw RegistryProtocolError("refusing token realm \(HTTPRedaction.url(url)) of \(registry): \(why)")
        }
        let realmHost = c.port.map { "\(c.host!):\($0)" } ?? c.host!
        var headers = HTTPHeaders()
        if let credential {
            // Credentials travel only over TLS or to this machine; with TLS verification off, also in plain HTTP
            // to the registry's own host, which the user chose to reach that way.
            let ownHost = c.host!.lowercased() == origin(of: registry)
            guard scheme == "https" || isLoopbackHost(realmHost) || (allowPlainCredentials && ownHost) else {
                throw RegistryProtocolError(
                    "refusing to send credentials for \(registry) to token realm \(c.host!) over plain HTTP")
            }
            if refreshToken == nil { headers.set("Authorization", credential.basicAuthorization) }
        }
        var request = HTTPRequest(method: "GET", url: url, headers: headers, tls: tls)
        if let refreshToken {
            var form = URLComponents()
            form.queryItems = [
                URLQueryItem(name: "grant_type", value: "refresh_token"),
                URLQueryItem(name: "refresh_token", value: refreshToken),
                URLQueryItem(name: "client_id", value: "dray"),
            ] + (challenge.parameters["service"].map { [URLQueryItem(name: "service", value: $0)] } ?? [])
              + (scope.entries.isEmpty ? [] : [URLQueryItem(name: "scope", value: scope.entries.joined(separator: " "))])
            // Form encoding: URLComponents leaves "+" alone, which a form decoder reads as a space.
            let body = (form.percentEncodedQuery ?? "").replacing("+", with: "%2B")
            request.method = "POST"
            request.headers.set("Content-Type", "application/x-www-form-urlencoded")
            request.body = Array(body.utf8)
        }
        let started = ContinuousClock.now
        let response = try await gated(gate, host: realmHost) { [request] in try await http.execute(request) }
        let body = try await response.collect(limit: 1 << 20)
        guard response.status == 200 else {
            var e = RegistryError.from(status: response.status, headers: response.headers, body: body,
                                       target: "\(registry)/\(scope.repository)",
                                       request: "GET \(HTTPRedaction.url(url))")
            if e.status == 400 || e.status == 403 {
                e = RegistryError(status: credential == nil ? 401 : 403, codes: e.codes, messages: e.messages,
                                  target: e.target, request: e.request)
            }
            throw e
        }
        struct Reply: Decodable {
            var token: String?
            var access_token: String?
            var expires_in: Int?
        }
        guard let reply = try? JSONDecoder().decode(Reply.self, from: Data(body)),
              let value = reply.token ?? reply.access_token, !value.isEmpty
        else { throw RegistryProtocolError("the token endpoint for \(registry) answered without a token") }
        Secrets.remember(value)
        // Tokens live at least 60 s by the spec; refresh at 90% of the lifetime (and never later than 10 s early).
        let lifetime = max(reply.expires_in ?? 60, 1)
        let margin = min(max(lifetime / 10, 1), 10)
        return Token(value: value, refreshAfter: started + .seconds(lifetime - margin))
    }
}

/// The host part of a registry name (`host:port`, `[v6]:port`), lower-cased.
private func origin(of registry: String) -> String {
    URL(string: "http://\(registry)/")?.host?.lowercased() ?? registry.lowercased()
}
