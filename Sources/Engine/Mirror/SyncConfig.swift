import FoundationEssentials

/// image-syncer's inputs: an auth map and image rules, from JSON or YAML (`--auth`, `--images`, or `--config` with
/// both as `auth:` and `images:`).
public struct SyncConfig: Sendable {
    /// Credentials for a registry or a `registry/namespace` (the longest matching key wins).
    public struct AuthEntry: Sendable, Hashable {
        public var key: String
        public var username: String?
        public var password: String?
        /// The registry speaks plain HTTP or uses an untrusted certificate.
        public var insecure: Bool
    }

    /// Which tags a rule takes from its source repository.
    public enum TagSelector: Sendable, Hashable {
        /// Every tag (tags/list).
        case all
        case tags([String])
        /// Tags matching a regular expression (`repo:/regex/`).
        case regex(String)
        case digest(Digest)
    }

    /// One `SOURCE: DESTINATION(S)` rule.
    public struct Rule: Sendable, Hashable {
        public var file: String
        public var line: Int
        /// The rule's key as written.
        public var key: String
        /// Source repository (its tag/digest is in `selector`).
        public var source: Reference
        public var selector: TagSelector
        /// Destinations as written; "" means the default registry and namespace.
        public var destinations: [String]
    }

    public var auth: [AuthEntry] = []
    public var rules: [Rule] = []

    public init(auth: [AuthEntry] = [], rules: [Rule] = []) {
        self.auth = auth
        self.rules = rules
    }

    /// The auth entry for a repository: `registry/namespace…` keys before `registry`, longest first.
    public func authEntry(registry: String, repository: String) -> AuthEntry? {
        let name = "\(registry)/\(repository)"
        return auth.filter { $0.key == registry || name.hasPrefix($0.key + "/") }.max { $0.key.count < $1.key.count }
    }

    /// The entry for a registry as a whole (for TLS settings).
    public func insecure(registry: String) -> Bool {
        auth.contains { ($0.key == registry || $0.key.hasPrefix(registry + "/")) && $0.insecure }
    }
}

/// A config file that cannot be used.
public struct SyncConfigError: Error, Sendable, CustomStringConvertible {
    public let file: String
    public let line: Int?
    public let reason: String
    public var description: String { "\(file)\(line.map { ":\($0)" } ?? ""): \(reason)" }
}

extension SyncConfig {
    /// Reads `--config` (both sections) or `--auth` and `--images` files. `environment` expands `$VAR`/`${VAR}`
    /// in usernames and passwords.
    public static func load(config: String?, auth: String?, images: String?,
                            environment: [String: String] = ProcessInfo.processInfo.environment) throws -> SyncConfig {
        var result = SyncConfig()
        if let config { result = try parse(config: try Self.document(config), file: config, environment: environment) }
        if let auth { result.auth += try Self.parseAuth(try Self.document(auth), file: auth, environment: environment) }
        if let images { result.rules += try Self.parseImages(try Self.document(images), file: images) }
        return result
    }

    /// Parses the text of a `--config` file (a mapping with `auth` and `images`); `file` names it in errors.
    public static func parse(configText text: String, file: String,
                             environment: [String: String] = [:]) throws -> SyncConfig {
        try parse(config: try compose(text, file: file), file: file, environment: environment)
    }

    private static func parse(config root: YAMLNode, file: String, environment: [String: String]) throws -> SyncConfig {
        var result = SyncConfig()
        guard let map = root.mapping else {
            throw SyncConfigError(file: file, line: root.line, reason: "expected a mapping with auth and images")
        }
        for (k, v) in map {
            switch k.string {
            case "auth": result.auth += try Self.parseAuth(v, file: file, environment: environment)
            case "images": result.rules += try Self.parseImages(v, file: file)
            default:
                throw SyncConfigError(file: file, line: k.line,
                                      reason: "unknown key \"\(k.string ?? "?")\" (expected auth or images)")
            }
        }
        return result
    }

    static func document(_ path: String) throws -> YAMLNode {
        let text: String
        do { text = try TextFile.read(path, limit: 16 << 20) } catch {
            throw SyncConfigError(file: path, line: error.line, reason: "\(error)")
        }
        return try compose(text, file: path)
    }

    /// The YAML (or JSON) node tree of a file's text.
    static func compose(_ text: String, file path: String) throws -> YAMLNode {
        if let line = jsonCommentLine(text) {
            throw SyncConfigError(file: path, line: line, reason: "comments are not allowed in JSON (use YAML)")
        }
        let node: YAMLNode?
        do { node = try YAML.compose(text) } catch {
            let kind = path.hasSuffix(".json") ? "JSON" : "YAML"
            throw SyncConfigError(file: path, line: error.line, reason: "not valid \(kind) (\(error.problem.prefix(120)))")
        }
        guard let node else { throw SyncConfigError(file: path, line: nil, reason: "empty file") }
        return node
    }

    /// In a JSON document (one that opens with `{`), the line of the first `//` or `/*` comment outside strings —
    /// what image-syncer's README shows in its example config, and no JSON parser takes. A `//` right after a
    /// `:` (`http://` in an unquoted YAML flow scalar) is not a comment.
    static func jsonCommentLine(_ text: String) -> Int? {
        guard text.drop(while: { $0.isWhitespace || $0 == "\u{FEFF}" }).first == "{" else { return nil }
        var line = 1, inString = false, escaped = false
        var previous: Character = " ", beforePrevious: Character = " "
        for c in text {
            if inString {
                if escaped { escaped = false } else if c == "\\" { escaped = true } else if c == "\"" { inString = false }
            } else if c == "\"" {
                inString = true
            } else if previous == "/", c == "/" || c == "*", beforePrevious != ":" {
                return line
            }
            if c == "\n" || c == "\r\n" { line += 1 }
            beforePrevious = previous
            previous = c
        }
        return nil
    }

    static func parseAuth(_ node: YAMLNode, file: String, environment: [String: String]) throws -> [AuthEntry] {
        guard let map = node.mapping else {
            throw SyncConfigError(file: file, line: node.line, reason: "auth must map registries to credentials")
        }
        var out: [AuthEntry] = []
        for (k, v) in map {
            guard let key = k.string, !key.isEmpty else {
                throw SyncConfigError(file: file, line: k.line, reason: "empty registry key")
            }
            guard let fields = v.mapping else {
                throw SyncConfigError(file: file, line: v.line, reason: "\"\(key)\": expected username, password, insecure")
            }
            var entry = AuthEntry(key: key, username: nil, password: nil, insecure: false)
            for (fk, fv) in fields {
                switch fk.string {
                case "username": entry.username = Self.expand(fv.string ?? "", environment)
                case "password": entry.password = Self.expand(fv.string ?? "", environment)
                case "insecure":
                    guard let b = fv.bool else {
                        throw SyncConfigError(file: file, line: fv.line, reason: "\"\(key)\".insecure must be true or false")
                    }
                    entry.insecure = b
                default:
                    throw SyncConfigError(file: file, line: fk.line,
                                          reason: "\"\(key)\": unknown key \"\(fk.string ?? "?")\" (expected username, password, insecure)")
                }
            }
            out.append(entry)
        }
        return out
    }

    static func parseImages(_ node: YAMLNode, file: String) throws -> [Rule] {
        guard let map = node.mapping else {
            throw SyncConfigError(file: file, line: node.line, reason: "images must map sources to destinations")
        }
        var out: [Rule] = []
        for (k, v) in map {
            let line = k.line
            guard let key = k.string, !key.isEmpty else {
                throw SyncConfigError(file: file, line: line, reason: "empty source")
            }
            let destinations: [String]
            if let s = v.scalar {
                destinations = [s.string]
            } else if let seq = v.sequence {
                destinations = try seq.map { item in
                    guard let s = item.scalar else {
                        throw SyncConfigError(file: file, line: item.line, reason: "\"\(key)\": destinations must be strings")
                    }
                    return s.string
                }
            } else {
                throw SyncConfigError(file: file, line: v.line, reason: "\"\(key)\": expected a destination or a list of them")
            }
            let (source, selector) = try Self.parseSource(key, file: file, line: line)
            out.append(Rule(file: file, line: line, key: key, source: source, selector: selector,
                            destinations: destinations.isEmpty ? [""] : destinations))
        }
        return out
    }

    /// `repo`, `repo:t1,t2`, `repo:/regex/`, `repo@sha256:…`.
    static func parseSource(_ key: String, file: String, line: Int) throws -> (Reference, TagSelector) {
        func fail(_ why: String) -> SyncConfigError { SyncConfigError(file: file, line: line, reason: "\"\(key.prefix(300))\": \(why)") }
        var repo = key
        var selector = TagSelector.all
        // `:/` must open a regex that the final `/` closes: in `repo:/` the two are the same character.
        if key.hasSuffix("/"), let r = key.firstRange(of: ":/"), r.upperBound < key.endIndex {
            let pattern = String(key[r.upperBound..<key.index(before: key.endIndex)])
            guard (try? TextPattern(pattern)) != nil else { throw fail("invalid tag regex /\(pattern)/") }
            selector = .regex(pattern)
            repo = String(key[..<r.lowerBound])
        } else if let at = key.firstIndex(of: "@") {
            do { selector = .digest(try Digest(parsing: String(key[key.index(after: at)...]))) } catch { throw fail("\(error)") }
            repo = String(key[..<at])
        } else if let colon = key.lastIndex(of: ":"), !key[key.index(after: colon)...].contains("/") {
            let tags = key[key.index(after: colon)...].split(separator: ",").map { $0.trimmingSpaces() }
            guard !tags.isEmpty, tags.allSatisfy(Reference.isValidTag) else { throw fail("invalid tag list") }
            selector = .tags(tags)
            repo = String(key[..<colon])
        }
        guard repo.contains("/") else { throw fail("a source must be at least registry/namespace/repository") }
        var source: Reference
        do { source = try Reference(parsing: repo) } catch { throw fail(error.reason) }
        source.tag = nil
        return (source, selector)
    }

    /// Expands `$VAR` and `${VAR}` from the environment (unset variables become empty).
    static func expand(_ s: String, _ env: [String: String]) -> String {
        guard s.contains("$") else { return s }
        var out = ""
        var i = s.startIndex
        while i < s.endIndex {
            guard s[i] == "$" else { out.append(s[i]); i = s.index(after: i); continue }
            var j = s.index(after: i)
            var name = ""
            if j < s.endIndex, s[j] == "{" {
                guard let close = s[j...].firstIndex(of: "}") else { out.append(contentsOf: s[i...]); break }
                name = String(s[s.index(after: j)..<close])
                j = s.index(after: close)
            } else {
                while j < s.endIndex, s[j].isLetter || s[j].isNumber || s[j] == "_" { name.append(s[j]); j = s.index(after: j) }
            }
            if name.isEmpty { out.append("$") } else { out += env[name] ?? "" }
            i = j
        }
        return out
    }
}
