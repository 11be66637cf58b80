import Engine
import FoundationEssentials

/// What became of a Harbor project dray needed.
public enum HarborProjectOutcome: Sendable, Equatable {
    case existed
    case created
}

/// Harbor's project API refused what dray asked of it.
public struct HarborProjectError: Error, Sendable, CustomStringConvertible {
    public let registry: String
    public let project: String
    public let status: Int
    public let detail: String

    public var description: String {
        switch status {
        case 401:
            "\(registry): Harbor project \"\(project)\" does not exist, and creating it needs credentials (HTTP 401 from POST /api/v2.0/projects); give them, or create the project in Harbor"
        case 403:
            "\(registry): Harbor project \"\(project)\" does not exist, and these credentials may not create it (HTTP 403 from POST /api/v2.0/projects; a robot account cannot); create it in Harbor or use an account that can"
        default:
            "\(registry): Harbor project \"\(project)\" could not be made ready (HTTP \(status)\(detail.isEmpty ? "" : ": \(detail)"))"
        }
    }
}

extension RegistryClient {
    /// Whether the registry is a Harbor: `GET /api/v2.0/ping` answers 200, as Hangar checks. Asked once per host
    /// (well-known hosts of other kinds are never asked) and remembered with what is learned.
    public func isHarbor() async throws -> Bool {
        if let known = learned.harbor { return known }
        if let kind = options.profile.kind, kind != .harbor, kind != .distribution { return false }
        let base = try await baseURL()
        let url = base.appendingPathComponent("api/v2.0/ping")
        let response = try await gated(options.gate, host: registry) { [request = request("GET", url)] in
            try await http.execute(request)
        }
        let body = (try? await response.collect(limit: 4096)) ?? []
        let harbor = response.status == 200 && String(decoding: body, as: UTF8.self).lowercased().contains("pong")
        learned.learnHarbor(harbor)
        return harbor
    }

    /// Makes sure Harbor project `name` exists, creating it when it does not (`HEAD /api/v2.0/projects?project_name=`
    /// then `POST /api/v2.0/projects`, private unless `public`), with the registry's credentials for that project.
    public func ensureHarborProject(_ name: String, public isPublic: Bool) async throws -> HarborProjectOutcome {
        let base = try await baseURL()
        var c = URLComponents(url: base.appendingPathComponent("api/v2.0/projects"), resolvingAgainstBaseURL: false)!
        let credential = try options.credentials.credential(registry: registry, repository: name)
        func api(_ method: String, _ url: URL, body: [UInt8]? = nil) async throws -> HTTPResponse {
            var headers = HTTPHeaders()
            if let credential { headers.set("Authorization", credential.basicAuthorization) }
            if body != nil { headers.set("Content-Type", "application/json") }
            let req = request(method, url, headers: headers, body: body)
            return try await gated(options.gate, host: registry) { try await http.execute(req) }
        }
        c.queryItems = [URLQueryItem(name: "project_name", value: name)]
        let head = try await api("HEAD", c.url!)
        head.discard()
        switch head.status {
        case 200: return .existed
        case 404: break
        default: throw HarborProjectError(registry: registry, project: name, status: head.status, detail: "HEAD /api/v2.0/projects")
        }
        struct Create: Encodable {
            var project_name: String
            var metadata: [String: String]
        }
        let body = try JSONEncoder().encode(Create(project_name: name, metadata: ["public": isPublic ? "true" : "false"]))
        let post = try await api("POST", base.appendingPathComponent("api/v2.0/projects"), body: Array(body))
        let text = String(decoding: (try? await post.collect(limit: 16 << 10)) ?? [], as: UTF8.self)
        switch post.status {
        case 201: return .created
        // Another run made it in the meantime.
        case 409: return .existed
        default: throw HarborProjectError(registry: registry, project: name, status: post.status, detail: String(text.prefix(200)))
        }
    }
}
