import Engine
import FoundationEssentials

/// Stores and removes credentials in a docker `config.json` (or a containers `auth.json`): what `dray login` and
/// `dray logout` change. Every other key of the file is kept as it was; the file is replaced atomically and is
/// readable by its owner only (0600).
///
/// A registry the file hands to a credential helper (`credHelpers`, else `credsStore`) is stored through that
/// helper (`docker-credential-NAME store` / `erase`), as Docker does, because a lookup would ask the helper first.
public struct AuthFile: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    /// Where `dray login` writes by default: `$REGISTRY_AUTH_FILE` when set, else `$DOCKER_CONFIG/config.json`,
    /// else `~/.docker/config.json`.
    public static func defaultPath(environment env: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let f = env["REGISTRY_AUTH_FILE"], !f.isEmpty { return f }
        return UserPaths.dockerConfig(env)
    }

    /// Where a registry's credentials went.
    public enum Place: Sendable, Equatable {
        case file
        case helper(String)
    }

    /// Stores `credential` for `registry`.
    @discardableResult
    public func store(_ credential: Credential, for registry: String) throws(AuthFileError) -> Place {
        var json = try read()
        if let helper = Self.helper(in: json, for: registry) {
            let request: JSONValue = ["ServerURL": .string(CredentialStore.serverAddress(registry)),
                                      "Username": .string(credential.username), "Secret": .string(credential.password)]
            try Self.runHelper(helper, action: "store", input: request.serializedText())
            return .helper(helper)
        }
        var auths = json["auths"]?.object ?? [:]
        // One entry per registry: drop the other spellings of its key so a stale one cannot win a lookup.
        for k in CredentialStore.registryKeys(registry) { auths[k] = nil }
        auths[CredentialStore.serverAddress(registry)] = ["auth": .string(Data("\(credential.username):\(credential.password)".utf8).base64EncodedString())]
        json["auths"] = .object(auths)
        try write(json)
        return .file
    }

    /// Removes `registry`'s credentials; false when there were none.
    public func remove(_ registry: String) throws(AuthFileError) -> Bool {
        guard FileManager.default.fileExists(atPath: path) else { return false }
        var json = try read()
        var auths = json["auths"]?.object ?? [:]
        let keys = CredentialStore.registryKeys(registry).filter { auths[$0] != nil }
        var removed = !keys.isEmpty
        if removed {
            for k in keys { auths[k] = nil }
            json["auths"] = .object(auths)
            try write(json)
        }
        if let helper = Self.helper(in: json, for: registry) {
            try Self.runHelper(helper, action: "erase", input: CredentialStore.serverAddress(registry))
            removed = true
        }
        return removed
    }

    /// Removes every registry's credentials from `auths`; returns the keys removed.
    public func removeAll() throws(AuthFileError) -> [String] {
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        var json = try read()
        let keys = (json["auths"]?.object ?? [:]).keys.sorted()
        guard !keys.isEmpty else { return [] }
        json["auths"] = .object([:])
        try write(json)
        return keys
    }

    /// The helper the file names for `registry`.
    static func helper(in json: [String: JSONValue], for registry: String) -> String? {
        let helpers = json["credHelpers"]?.object ?? [:]
        if let h = CredentialStore.registryKeys(registry).lazy.compactMap({ helpers[$0]?.string }).first, !h.isEmpty { return h }
        if let store = json["credsStore"]?.string, !store.isEmpty { return store }
        return nil
    }

    private func read() throws(AuthFileError) -> [String: JSONValue] {
        guard FileManager.default.fileExists(atPath: path) else { return [:] }
        let text: String
        do { text = try TextFile.read(path, limit: 16 << 20) } catch { throw .unreadable(path, "\(error)") }
        if text.trimmingWhitespace().isEmpty { return [:] }
        guard case .object(let object)? = try? JSONValue(parsing: text) else {
            throw .unreadable(path, "not a JSON object; fix or remove it first")
        }
        if let auths = object["auths"], auths.object == nil { throw .unreadable(path, "\"auths\" is not an object") }
        return object
    }

    private func write(_ json: [String: JSONValue]) throws(AuthFileError) {
        let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
        do {
            if !FileManager.default.fileExists(atPath: dir) {
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true,
                                                        attributes: [.posixPermissions: 0o700])
            }
            try AtomicFile.write(JSONValue.object(json).serialized(.pretty) + [0x0a], to: path, mode: 0o600)
        } catch {
            throw .unwritable(path, "\(error)")
        }
    }

    /// Runs `docker-credential-NAME ACTION` with `input` on stdin.
    static func runHelper(_ name: String, action: String, input: String) throws(AuthFileError) {
        let answer: CredentialHelper.Outcome
        do { answer = try CredentialHelper.run(name, action, input: input) } catch { throw .helper(name, error.why) }
        guard answer.status == 0 else {
            let said = String(decoding: answer.output, as: UTF8.self) + "\n" + answer.errors
            let first = said.split(separator: "\n").first.map(String.init) ?? ""
            throw .helper(name, "\(action) failed (status \(answer.status))\(first.isEmpty ? "" : ": \(first.prefix(200))")")
        }
    }
}

/// An auth file dray could not change.
public enum AuthFileError: Error, Sendable, CustomStringConvertible {
    case unreadable(String, String)
    case unwritable(String, String)
    case helper(String, String)

    public var description: String {
        switch self {
        case .unreadable(let path, let why): "\(path): \(why)"
        case .unwritable(let path, let why): "\(path): cannot write: \(why)"
        case .helper(let name, let why): "credential helper docker-credential-\(name): \(why)"
        }
    }
}
