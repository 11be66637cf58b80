import Engine
import FoundationEssentials

/// A username and secret for a registry. Never printed: its description is redacted.
public struct Credential: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    public let username: String
    public let password: String
    /// An OAuth2 refresh token (`identitytoken` in auth files, as `docker login` stores for registries such as
    /// Azure Container Registry): token services are asked with it instead of the password.
    public let identityToken: String?

    /// A credential; its password, identity token and `Basic` value are remembered by `Secrets`, so no output
    /// of this process can carry them.
    public init(username: String, password: String, identityToken: String? = nil) {
        self.username = username
        self.password = password
        self.identityToken = identityToken.flatMap { $0.isEmpty ? nil : $0 }
        Secrets.remember(password)
        Secrets.remember(Data("\(username):\(password)".utf8).base64EncodedString())
        if let identityToken { Secrets.remember(identityToken) }
    }

    /// Parses `USER:PASS` (the password may contain ':').
    public init(parsing s: String) throws(CredentialError) {
        guard let colon = s.firstIndex(of: ":"), colon != s.startIndex else { throw .malformed }
        self.init(username: String(s[..<colon]), password: String(s[s.index(after: colon)...]))
    }

    /// `Basic base64(user:pass)`.
    public var basicAuthorization: String {
        "Basic " + Data("\(username):\(password)".utf8).base64EncodedString()
    }

    public var description: String { "Credential(\(username), [redacted])" }
    public var debugDescription: String { description }
}

/// Why credentials could not be read.
public enum CredentialError: Error, Sendable, CustomStringConvertible {
    case malformed
    case file(String, String)
    case helper(String, String)

    public var description: String {
        switch self {
        case .malformed: "credentials must be given as USERNAME:PASSWORD"
        case .file(let path, let why): "\(path): \(why)"
        case .helper(let name, let why): "credential helper docker-credential-\(name): \(why)"
        }
    }
}

/// Finds credentials for a registry, first match wins: explicit credentials (`--src-creds`/`--dest-creds`),
/// `$REGISTRY_AUTH_FILE`, `${XDG_RUNTIME_DIR}/containers/auth.json`, `~/.docker/config.json`.
///
/// Within an auth file: `credHelpers[registry]`, then `auths` (most specific `registry/namespace` key first, as
/// containers/image does, then the registry, its `https://` form, and Docker Hub's legacy keys), then `credsStore`.
public struct CredentialStore: Sendable {
    /// Credentials given on the command line, used for every repository of the registry they are attached to.
    public var explicit: Credential?
    /// Credentials by `registry` or `registry/namespace` (image-syncer's auth map); the longest matching key wins.
    public var scoped: [String: Credential]
    /// Auth files to search, in order.
    public var authFiles: [String]
    /// Ask `docker-credential-*` helpers.
    public var useHelpers: Bool
    /// A helper asked before the auth files (a registry profile's `credentialHelper`).
    public var helper: String?

    public init(explicit: Credential? = nil, scoped: [String: Credential] = [:], authFiles: [String]? = nil,
                useHelpers: Bool = true) {
        self.explicit = explicit
        self.scoped = scoped
        self.authFiles = authFiles ?? Self.defaultAuthFiles()
        self.useHelpers = useHelpers
    }

    /// The standard search path.
    public static func defaultAuthFiles(environment env: [String: String] = ProcessInfo.processInfo.environment)
        -> [String]
    {
        var files: [String] = []
        if let f = env["REGISTRY_AUTH_FILE"], !f.isEmpty { files.append(f) }
        if let x = env["XDG_RUNTIME_DIR"], !x.isEmpty { files.append("\(x)/containers/auth.json") }
        files.append(UserPaths.dockerConfig(env))
        return files
    }

    /// Credentials for `registry` (as in references: `docker.io`, `host:port`) and `repository`.
    public func credential(registry: String, repository: String) throws -> Credential? {
        if let explicit { return explicit }
        let name = "\(registry)/\(repository)"
        if let key = scoped.keys.filter({ $0 == registry || name.hasPrefix($0 + "/") }).max(by: { $0.count < $1.count }) {
            return scoped[key]
        }
        if let helper { return try Self.runHelper(helper, server: Self.serverAddress(registry)) }
        for path in authFiles {
            guard FileManager.default.fileExists(atPath: path) else { continue }
            if let c = try lookup(file: path, registry: registry, repository: repository) { return c }
        }
        return nil
    }

    private struct AuthFile: Decodable {
        struct Entry: Decodable {
            var auth: String?
            var username: String?
            var password: String?
            var identitytoken: String?
        }
        var auths: [String: Entry]?
        var credHelpers: [String: String]?
        var credsStore: String?
    }

    private func lookup(file path: String, registry: String, repository: String) throws -> Credential? {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw CredentialError.file(path, "cannot read: \(error)")
        }
        let parsed: AuthFile
        do { parsed = try JSONDecoder().decode(AuthFile.self, from: data) } catch {
            throw CredentialError.file(path, "not a valid auth file (expected JSON with \"auths\")")
        }
        let aliases = Self.registryKeys(registry)
        if useHelpers, let helper = aliases.lazy.compactMap({ parsed.credHelpers?[$0] }).first {
            return try Self.runHelper(helper, server: Self.serverAddress(registry))
        }
        if let auths = parsed.auths {
            // Most specific namespace first: host/a/b/c, host/a/b, host/a, then the registry keys.
            var keys: [String] = []
            var parts = repository.split(separator: "/").map(String.init)
            while !parts.isEmpty {
                keys.append("\(registry)/\(parts.joined(separator: "/"))")
                parts.removeLast()
            }
            keys += aliases
            for key in keys {
                guard let entry = auths[key] else { continue }
                if let c = try Self.decode(entry, key: key, file: path) { return c }
            }
        }
        if useHelpers, let store = parsed.credsStore, !store.isEmpty {
            return try Self.runHelper(store, server: Self.serverAddress(registry))
        }
        return nil
    }

    private static func decode(_ entry: AuthFile.Entry, key: String, file: String) throws -> Credential? {
        if let token = entry.identitytoken, !token.isEmpty {
            // The user name is the auth's (often a placeholder); the token stands in for the password.
            var user = entry.username ?? ""
            if let auth = entry.auth, let raw = Data(base64Encoded: auth), let s = String(data: raw, encoding: .utf8),
               let colon = s.firstIndex(of: ":") { user = String(s[..<colon]) }
            return Credential(username: user, password: entry.password ?? "", identityToken: token)
        }
        if let auth = entry.auth, !auth.isEmpty {
            guard let raw = Data(base64Encoded: auth), let s = String(data: raw, encoding: .utf8),
                  let c = try? Credential(parsing: s)
            else { throw CredentialError.file(file, "the \"auth\" of \"\(key)\" is not base64 of USER:PASSWORD") }
            return c
        }
        if let u = entry.username, let p = entry.password { return Credential(username: u, password: p) }
        return nil
    }

    /// The keys an auth file may use for a registry.
    static func registryKeys(_ registry: String) -> [String] {
        var keys = [registry, "https://\(registry)", "http://\(registry)", "https://\(registry)/v2/",
                    "https://\(registry)/v1/"]
        if registry == "docker.io" {
            keys += ["https://index.docker.io/v1/", "index.docker.io", "registry-1.docker.io",
                     "https://registry-1.docker.io"]
        }
        return keys
    }

    /// The server address Docker files a registry's credentials under, in `auths` and with helpers (Docker Hub's
    /// is its legacy index URL).
    static func serverAddress(_ registry: String) -> String {
        registry == "docker.io" ? "https://index.docker.io/v1/" : registry
    }

    /// Runs `docker-credential-NAME get` with the server on stdin.
    static func runHelper(_ name: String, server: String) throws -> Credential? {
        let answer: CredentialHelper.Outcome
        do { answer = try CredentialHelper.run(name, "get", input: server) } catch { throw CredentialError.helper(name, error.why) }
        let out = answer.output
        if answer.status != 0 {
            // Helpers say "credentials not found" with a non-zero exit: no credentials, not an error.
            if String(decoding: out, as: UTF8.self).lowercased().contains("not found") { return nil }
            throw CredentialError.helper(name, "exited with status \(answer.status)")
        }
        struct Reply: Decodable {
            var Username: String
            var Secret: String
        }
        guard let reply = try? JSONDecoder().decode(Reply.self, from: out) else {
            throw CredentialError.helper(name, "printed something that is not {\"Username\",\"Secret\"} JSON")
        }
        return Credential(username: reply.Username, password: reply.Secret)
    }
}
