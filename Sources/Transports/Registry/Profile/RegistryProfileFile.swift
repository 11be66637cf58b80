import Engine
import FoundationEssentials

/// The user's registry profiles: `--registries-config FILE`, or `$XDG_CONFIG_HOME/dray/registries.yaml`
/// (`~/.config/dray/registries.yaml`) when it exists.
///
/// ```yaml
/// defaults:                 # every host (optional)
///   maxConnections: 16
/// registries:
///   harbor.example.com:
///     kind: harbor          # distribution, harbor, dockerhub, ghcr, ecr, acr, gar, quay, nexus, artifactory, gitlab
///     requestsPerSecond: 20
///     upload: chunked       # monolithic, streamed or chunked
///     chunkSize: 16MiB
///   "*.corp.example":       # a wildcard matches any subdomain
///     tlsVerify: false
/// ```
/// Unknown keys and bad values are refused with the file and line.
public struct RegistryProfileFile: Sendable {
    /// One host's entry (a host, `host:port`, or `*.domain`).
    public struct Entry: Sendable {
        public var pattern: String
        public var profile: RegistryProfile
        public var lines: [RegistryProfile.Field: Int]
    }

    public var path: String
    public var defaults: Entry?
    public var entries: [Entry] = []

    /// The default location: `$XDG_CONFIG_HOME/dray/registries.yaml`, else `~/.config/dray/registries.yaml`.
    public static func defaultPath(environment env: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let x = env["XDG_CONFIG_HOME"], !x.isEmpty { return "\(x)/dray/registries.yaml" }
        return "\(UserPaths.home(env))/.config/dray/registries.yaml"
    }

    /// Reads and checks a profile file.
    public static func load(_ path: String) throws(RegistryProfileError) -> RegistryProfileFile {
        let text: String
        do { text = try TextFile.read(path, limit: 1 << 20) } catch {
            throw RegistryProfileError(file: path, line: error.line, reason: "\(error)")
        }
        return try parse(text, path: path)
    }

    /// Parses a profile file's text.
    public static func parse(_ text: String, path: String) throws(RegistryProfileError) -> RegistryProfileFile {
        let root: YAMLNode
        do {
            guard let node = try YAML.compose(text) else { return RegistryProfileFile(path: path) }
            root = node
        } catch {
            throw RegistryProfileError(file: path, line: error.line, reason: "not valid YAML")
        }
        var file = RegistryProfileFile(path: path)
        guard let map = root.mapping else {
            throw RegistryProfileError(file: path, line: root.line, reason: "expected a mapping with registries (and defaults)")
        }
        for (k, v) in map {
            switch k.string {
            case "registries":
                guard let hosts = v.mapping else {
                    throw RegistryProfileError(file: path, line: v.line, reason: "registries must map hosts to settings")
                }
                for (h, settings) in hosts {
                    guard let host = h.string?.trimmingSpaces(), !host.isEmpty,
                          !host.contains("/"), !host.contains(" ")
                    else {
                        throw RegistryProfileError(file: path, line: h.line, reason: "\"\(h.string ?? "?")\" is not a host, host:port or *.domain")
                    }
                    file.entries.append(try entry(host, settings, path: path))
                }
            case "defaults":
                file.defaults = try entry("*", v, path: path)
            default:
                throw RegistryProfileError(file: path, line: k.line,
                                           reason: "unknown key \"\(k.string ?? "?")\" (expected registries or defaults)")
            }
        }
        return file
    }

    private static func entry(_ pattern: String, _ node: YAMLNode, path: String) throws(RegistryProfileError) -> Entry {
        guard let map = node.mapping else {
            throw RegistryProfileError(file: path, line: node.line, reason: "\(pattern): expected a mapping of settings")
        }
        var p = RegistryProfile()
        var lines: [RegistryProfile.Field: Int] = [:]
        var chunkSize: Int?
        for (k, v) in map {
            let line = k.line
            guard let key = k.string, let field = RegistryProfile.Field(rawValue: key) else {
                let known = RegistryProfile.Field.allCases.map(\.rawValue).joined(separator: ", ")
                throw RegistryProfileError(file: path, line: line, reason: "\(pattern): unknown key \"\(k.string ?? "?")\" (known: \(known))")
            }
            guard let text = v.scalar?.string else {
                throw RegistryProfileError(file: path, line: v.line, reason: "\(pattern): \(key) must be a single value")
            }
            func bad(_ expected: String) -> RegistryProfileError {
                RegistryProfileError(file: path, line: v.line, reason: "\(pattern): \(key): \"\(text.prefix(60))\" is not \(expected)")
            }
            func positive() throws(RegistryProfileError) -> Int {
                guard let n = Int(text), n >= 1 else { throw bad("a positive whole number") }
                return n
            }
            lines[field] = line
            switch field {
            case .kind:
                guard let kind = RegistryKind(rawValue: text.lowercased()) else {
                    throw bad(RegistryKind.allCases.map(\.rawValue).joined(separator: ", "))
                }
                p.kind = kind
            case .apiHost: p.apiHost = text
            case .tlsVerify:
                guard let b = Bool(text.lowercased()) else { throw bad("true or false") }
                p.tlsVerify = b
            case .certDir: p.certDir = text
            case .authFile: p.authFile = text
            case .credentialHelper: p.credentialHelper = text
            case .maxConnections: p.maxConnections = try positive()
            case .requestsPerSecond:
                guard let r = Double(text.hasSuffix("/s") ? String(text.dropLast(2)) : text), r > 0 else { throw bad("a positive rate") }
                p.requestsPerSecond = r
            case .upload:
                switch text.lowercased() {
                case "monolithic": p.upload = .monolithic
                case "streamed": p.upload = .streamed
                case "chunked": p.upload = .chunked(chunkSize: UploadMode.defaultChunkSize)
                default: throw bad("monolithic, streamed or chunked")
                }
            case .chunkSize:
                guard let size = ByteSize.parse(text), size >= 1024, let n = Int(exactly: size) else { throw bad("a size of at least 1KiB, like 16MiB") }
                chunkSize = n
            case .mount:
                guard let m = MountPolicy(rawValue: text.lowercased()) else { throw bad("auto or never") }
                p.mount = m
            case .referrers:
                guard let m = ReferrersMode(rawValue: text.lowercased()) else { throw bad("auto, api or tag") }
                p.referrers = m
            case .tagPageSize: p.tagPageSize = try positive()
            case .blobCheck:
                guard let c = BlobExistenceCheck(rawValue: text.lowercased()) else { throw bad("head or get") }
                p.blobCheck = c
            case .rateLimitMin:
                guard let n = Int(text), n >= 0 else { throw bad("a whole number of at least 0") }
                p.rateLimitMin = n
            }
        }
        if let chunkSize {
            guard case .chunked = p.upload else {
                throw RegistryProfileError(file: path, line: lines[.chunkSize], reason: "\(pattern): chunkSize needs upload: chunked")
            }
            p.upload = .chunked(chunkSize: chunkSize)
        }
        return Entry(pattern: pattern, profile: p, lines: lines)
    }

    /// The entry for `host`: an exact match (case-insensitive), else the longest `*.domain` that covers it.
    func entry(for host: String) -> Entry? {
        let h = host.lowercased()
        if let exact = entries.last(where: { $0.pattern.lowercased() == h }) { return exact }
        let bare = h.split(separator: ":").first.map(String.init) ?? h
        return entries.filter { e in
            guard e.pattern.hasPrefix("*.") else { return false }
            let suffix = e.pattern.dropFirst(1).lowercased()
            return h.hasSuffix(suffix) || bare.hasSuffix(suffix)
        }.max { $0.pattern.count < $1.pattern.count }
    }

}

/// A profile file that cannot be used, with where.
public struct RegistryProfileError: Error, Sendable, CustomStringConvertible {
    public let file: String
    public let line: Int?
    public let reason: String
    public var description: String { "\(file)\(line.map { ":\($0)" } ?? ""): \(reason)" }
}

