import Foundation

extension RegistryImitation {
    /// Projects created through `POST /api/v2.0/projects` so far, with whether they were made public.
    public var created: [(name: String, public: Bool)] { state.withLock { $0.harborCreated } }

    /// Harbor: its project API, projects as the first component of repository names, its own `NOT_FOUND` code,
    /// and mounts refused 401 from projects the client cannot read or that do not exist.
    func harbor(_ h: Harbor, _ r: Request, _ upstream: Upstream) -> ImitationMessage? {
        switch (r.method, r.path) {
        case ("GET", "/api/v2.0/ping"):
            return .made(200, [("Content-Type", "text/plain; charset=utf-8")], body: Array("Pong".utf8))
        case ("HEAD", "/api/v2.0/projects"):
            let name = r.parameter("project_name") ?? ""
            return .made(projectExists(name) ? 200 : 404, [("Content-Type", "application/json")], forHEAD: true)
        case ("POST", "/api/v2.0/projects"):
            return harborCreate(h, r)
        default:
            break
        }
        if let repository = r.repository {
            let project = Self.project(of: repository)
            guard projectExists(project) else {
                return .error(404, "NOT_FOUND", "project \(project) not found", forHEAD: r.isHEAD)
            }
            if r.kind == .mount, let from = r.parameter("from") {
                let source = Self.project(of: from)
                if h.unreadableProjects.contains(source) {
                    return .error(401, "UNAUTHORIZED", "unauthorized to access repository: \(from), action: pull",
                                  headers: [("WWW-Authenticate", #"Basic realm="harbor""#)])
                }
                // goharbor/harbor #17097: a mount from a repository in a missing project is a 401, not a 202.
                if !projectExists(source) {
                    return .error(401, "UNAUTHORIZED", "project \(source) not found",
                                  headers: [("WWW-Authenticate", #"Basic realm="harbor""#)])
                }
            }
        }
        guard let answer = upstream.forward(r) else { return nil }
        if answer.head.status == 404, let renamed = Self.harborCodes(answer.body) { return answer.replacingBody(renamed) }
        return answer
    }

    /// `POST /api/v2.0/projects`: 401 without basic credentials, 403 for a robot, 409 for an existing project,
    /// else 201 with the new project's `Location`.
    private func harborCreate(_ h: Harbor, _ r: Request) -> ImitationMessage {
        guard let user = Self.basicUser(r.message.field("Authorization")) else {
            return .error(401, "UNAUTHORIZED", "UnAuthorized")
        }
        if h.robots.contains(user) { return .error(403, "FORBIDDEN", "forbidden") }
        guard let object = try? JSONSerialization.jsonObject(with: Data(r.message.body)) as? [String: Any],
              let name = object["project_name"] as? String, !name.isEmpty
        else { return .error(400, "BAD_REQUEST", "project_name is required") }
        let metadata = object["metadata"] as? [String: Any]
        let isPublic = (metadata?["public"] as? String)?.lowercased() == "true" || metadata?["public"] as? Bool == true
        let id: Int? = state.withLock { s in
            guard !s.harborProjects.contains(name) else { return nil }
            s.harborProjects.insert(name)
            s.harborCreated.append((name, isPublic))
            defer { s.harborNextID += 1 }
            return s.harborNextID
        }
        guard let id else { return .error(409, "CONFLICT", "The project named \(name) already exists") }
        return .made(201, [("Location", "/api/v2.0/projects/\(id)")])
    }

    private func projectExists(_ name: String) -> Bool { state.withLock { $0.harborProjects.contains(name) } }

    /// The project a repository belongs to: its first path component.
    static func project(of repository: String) -> String { String(repository.prefix { $0 != "/" }) }

    /// The user name of `Basic` credentials, or nil when there are none.
    static func basicUser(_ header: String?) -> String? {
        guard let header, header.lowercased().hasPrefix("basic "),
              let data = Data(base64Encoded: String(header.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
              let text = String(data: data, encoding: .utf8), let colon = text.firstIndex(of: ":")
        else { return nil }
        return String(text[..<colon])
    }

    /// A distribution error body with `MANIFEST_UNKNOWN`, `BLOB_UNKNOWN` and `NAME_UNKNOWN` renamed `NOT_FOUND`
    /// (Harbor answers every missing artifact, blob or repository with that code); nil when there is none.
    static func harborCodes(_ body: [UInt8]) -> [UInt8]? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
              let errors = object["errors"] as? [[String: Any]]
        else { return nil }
        let unknown: Set<String> = ["MANIFEST_UNKNOWN", "BLOB_UNKNOWN", "NAME_UNKNOWN"]
        guard errors.contains(where: { unknown.contains($0["code"] as? String ?? "") }) else { return nil }
        let renamed = errors.map { e -> [String: Any] in
            var e = e
            if unknown.contains(e["code"] as? String ?? "") { e["code"] = "NOT_FOUND" }
            return e
        }
        return ImitationMessage.json(["errors": renamed])
    }
}
