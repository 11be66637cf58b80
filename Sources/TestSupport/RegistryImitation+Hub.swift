import Foundation

extension RegistryImitation {
    /// Docker Hub's auth: a 401 bearer challenge without a token, tokens from `/token`, and 401
    /// `insufficient_scope` for reading a repository that does not exist.
    func hub401Missing(_ r: Request, _ upstream: Upstream) -> ImitationMessage? {
        if r.method == "GET", r.path == "/token" { return issueToken(r) }
        guard r.path == "/v2" || r.path.hasPrefix("/v2/") else { return upstream.forward(r) }
        let writes = r.method != "GET" && r.method != "HEAD"
        let actions = writes ? "pull,push" : "pull"
        guard let access = bearerAccess(r) else {
            return challenge(r.repository, actions: actions, error: nil, forHEAD: r.isHEAD)
        }
        guard let name = r.repository, !writes, !(access[name]?.contains("push") ?? false) else { return upstream.forward(r) }
        guard repositoryExists(name, r, upstream) else {
            return challenge(name, actions: "pull", error: "insufficient_scope", forHEAD: r.isHEAD)
        }
        return upstream.forward(r)
    }

    /// `GET /token?service=…&scope=…`: a token granting whatever the scopes ask (Hub grants anonymous pulls).
    private func issueToken(_ r: Request) -> ImitationMessage {
        var access: [String: Set<String>] = [:]
        for (key, value) in r.parameters where key == "scope" {
            for scope in value.split(separator: " ") {
                let parts = scope.split(separator: ":")
                guard parts.count >= 3, parts[0] == "repository" else { continue }
                let name = parts[1..<(parts.count - 1)].joined(separator: ":")
                access[name, default: []].formUnion(parts[parts.count - 1].split(separator: ",").map(String.init))
            }
        }
        let token = "imitation." + UUID().uuidString.lowercased()
        state.withLock { $0.tokens[token] = access }
        let issued = ISO8601DateFormatter().string(from: Date())
        return .made(200, [("Content-Type", "application/json")], body: ImitationMessage.json(
            ["token": token, "access_token": token, "expires_in": 300, "issued_at": issued]))
    }

    /// The access the request's bearer token grants, or nil when it has none the imitation issued.
    private func bearerAccess(_ r: Request) -> [String: Set<String>]? {
        guard let header = r.message.field("Authorization"), header.lowercased().hasPrefix("bearer ") else { return nil }
        let token = header.dropFirst("bearer ".count).trimmingCharacters(in: .whitespaces)
        return state.withLock { $0.tokens[token] }
    }

    /// A 401 with Hub's bearer challenge (scope for `name`, and `error` when given) and its error body.
    private func challenge(_ name: String?, actions: String, error: String?, forHEAD: Bool) -> ImitationMessage {
        var value = #"Bearer realm="http://\#(host)/token",service="imitation""#
        if let name { value += #",scope="repository:\#(name):\#(actions)""# }
        if let error { value += #",error="\#(error)""# }
        let detail: Any = name.map { [["Type": "repository", "Class": "", "Name": $0, "Action": "pull"]] } ?? NSNull()
        return .error(401, "UNAUTHORIZED", "authentication required", detail: detail,
                      headers: [("WWW-Authenticate", value)], forHEAD: forHEAD)
    }

    /// Whether the registry knows `name` (its tags list answers 200); a repository once seen is remembered.
    private func repositoryExists(_ name: String, _ r: Request, _ upstream: Upstream) -> Bool {
        if state.withLock({ $0.existing.contains(name) }) { return true }
        let answer = upstream.get("/v2/\(name)/tags/list", host: r.message.field("Host") ?? host)
        guard answer?.head.status != 404 else { return false }
        if answer?.head.status == 200 { state.withLock { _ = $0.existing.insert(name) } }
        return true
    }

    /// Docker Hub's pull rate limit: manifest GETs counted in a sliding window, the headers on manifest GET and
    /// HEAD answers, 429 over the limit.
    func hubRateLimit(limit: Int, window: Int, _ r: Request, _ upstream: Upstream) -> ImitationMessage? {
        guard r.isManifest, r.method == "GET" || r.method == "HEAD" else { return upstream.forward(r) }
        let now = ContinuousClock.now
        let remaining: Int? = state.withLock { s in
            s.pulls.removeAll { now - $0 >= .seconds(window) }
            if r.method == "GET" {
                guard s.pulls.count < limit else { return nil }
                s.pulls.append(now)
            }
            return max(0, limit - s.pulls.count)
        }
        let headers = [("RateLimit-Limit", "\(limit);w=\(window)"), ("RateLimit-Remaining", "\(remaining ?? 0);w=\(window)"),
                       ("docker-ratelimit-source", "127.0.0.1")]
        guard remaining != nil else {
            return .error(429, "TOOMANYREQUESTS", "You have reached your pull rate limit.", headers: headers)
        }
        return upstream.forward(r)?.adding(headers)
    }
}
