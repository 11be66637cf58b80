/// A fully-qualified image reference: `registry/repository[:tag][@digest]`.
///
/// Parsing applies Docker's normalisation: a missing registry means `docker.io`, a single-component repository on
/// Docker Hub gains `library/`, and a reference with neither tag nor digest gets `latest`.
/// `name:tag@digest` keeps both; the digest is what is fetched.
public struct Reference: Hashable, Sendable, CustomStringConvertible {
    /// Docker Hub's canonical registry name.
    public static let dockerHub = "docker.io"

    /// Registry host, with port if any (`docker.io`, `127.0.0.1:5000`, `[::1]:5000`).
    public var registry: String
    /// Repository path within the registry (`library/nginx`).
    public var repository: String
    /// Tag, if any.
    public var tag: String?
    /// Digest, if any.
    public var digest: Digest?

    public init(registry: String, repository: String, tag: String? = nil, digest: Digest? = nil) {
        self.registry = registry
        self.repository = repository
        self.tag = tag
        self.digest = digest
    }

    /// `registry/repository`.
    public var name: String { "\(registry)/\(repository)" }

    /// The tag or digest to ask the registry for: the digest when present.
    public var identifier: String { digest?.description ?? tag ?? "latest" }

    /// The full reference, e.g. `docker.io/library/nginx:latest` or `host/repo:tag@sha256:…`.
    public var description: String {
        var s = name
        if let tag { s += ":\(tag)" }
        if let digest { s += "@\(digest)" }
        return s
    }

    /// This reference pointing at a digest instead of its tag (the tag is dropped).
    public func withDigest(_ d: Digest) -> Reference {
        Reference(registry: registry, repository: repository, tag: nil, digest: d)
    }

    /// This reference with another tag and no digest.
    public func withTag(_ t: String) -> Reference {
        Reference(registry: registry, repository: repository, tag: t, digest: nil)
    }

    /// The host that serves the registry API: Docker Hub's API lives on `registry-1.docker.io`.
    public var apiHost: String { registry == Self.dockerHub ? "registry-1.docker.io" : registry }
}

/// Why a string is not a valid image reference.
public struct ReferenceError: Error, Sendable, Equatable, CustomStringConvertible {
    public let input: String
    public let reason: String

    public var description: String { "invalid image reference \"\(input.prefix(300))\": \(reason)" }
}

extension Reference {
    /// Parses a reference with Docker's normalisation rules.
    public init(parsing input: String) throws(ReferenceError) {
        func fail(_ reason: String) -> ReferenceError { ReferenceError(input: input, reason: reason) }

        guard !input.isEmpty else { throw fail("empty reference") }
        guard input.utf8.count <= 4096 else { throw fail("too long") }
        guard input.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 0x20 && $0.value < 0x7f }) else {
            throw fail("contains whitespace, control or non-ASCII characters")
        }

        var rest = Substring(input)
        var digest: Digest?
        if let at = rest.firstIndex(of: "@") {
            let d = String(rest[rest.index(after: at)...])
            do { digest = try Digest(parsing: d) } catch { throw fail("\(error)") }
            rest = rest[..<at]
        }

        // The tag is after the last ':' that follows the last '/'; an earlier ':' is a port.
        var tag: String?
        let lastSlash = rest.lastIndex(of: "/")
        let searchFrom = lastSlash.map { rest.index(after: $0) } ?? rest.startIndex
        if let colon = rest[searchFrom...].lastIndex(of: ":") {
            let t = String(rest[rest.index(after: colon)...])
            guard Self.isValidTag(t) else { throw fail("invalid tag \"\(t.prefix(140))\"") }
            tag = t
            rest = rest[..<colon]
        }

        let name = String(rest)
        guard !name.isEmpty else { throw fail("missing repository name") }

        // Split the domain off: the first component is a registry if it contains '.' or ':', or is "localhost",
        // or contains upper-case letters (which a repository may not).
        var registry: String
        var remote: String
        if let slash = name.firstIndex(of: "/") {
            let first = String(name[..<slash])
            let isDomain = first.contains(".") || first.contains(":") || first == "localhost"
                || first.contains(where: { $0.isUppercase })
            if isDomain {
                registry = first
                remote = String(name[name.index(after: slash)...])
            } else {
                registry = Self.dockerHub
                remote = name
            }
        } else {
            registry = Self.dockerHub
            remote = name
        }

        if registry == "index.docker.io" || registry == "registry-1.docker.io" { registry = Self.dockerHub }
        guard Self.isValidDomain(registry) else { throw fail("invalid registry \"\(registry.prefix(256))\"") }

        if remote.contains(where: { $0.isUppercase }) { throw fail("repository name must be lowercase") }
        if registry == Self.dockerHub && !remote.contains("/") { remote = "library/" + remote }
        guard Self.isValidRemoteName(remote) else { throw fail("invalid repository name \"\(remote.prefix(256))\"") }
        guard registry.utf8.count + 1 + remote.utf8.count <= 255 else {
            throw fail("repository name must not be more than 255 characters")
        }
        // A bare 64-hex string would be mistaken for an image ID, as Docker warns.
        if input.utf8.count == 64,
           input.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) })
        {
            throw fail("cannot specify 64-byte hexadecimal strings")
        }

        if tag == nil && digest == nil { tag = "latest" }
        self.init(registry: registry, repository: remote, tag: tag, digest: digest)
    }

    /// `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
    public static func isValidTag(_ t: String) -> Bool {
        let u = Array(t.utf8)
        guard (1...128).contains(u.count) else { return false }
        guard isTagWordCharacter(u[0]) else { return false }
        return u.dropFirst().allSatisfy(isTagCharacter)
    }

    /// A byte a tag may start with: `[A-Za-z0-9_]`.
    static func isTagWordCharacter(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x5f
    }

    /// A byte a tag may hold after its first: `[A-Za-z0-9_.-]`.
    static func isTagCharacter(_ c: UInt8) -> Bool { isTagWordCharacter(c) || c == 0x2e || c == 0x2d }

    /// A registry host: DNS components, IPv4, or a bracketed IPv6 literal, with an optional numeric port.
    static func isValidDomain(_ d: String) -> Bool {
        var host = Substring(d)
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return false }
            let inner = host[host.index(after: host.startIndex)..<close]
            guard !inner.isEmpty, inner.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else { return false }
            let after = host[host.index(after: close)...]
            if after.isEmpty { return true }
            guard after.first == ":" else { return false }
            return isValidPort(after.dropFirst())
        }
        if let colon = host.firstIndex(of: ":") {
            guard isValidPort(host[host.index(after: colon)...]) else { return false }
            host = host[..<colon]
        }
        guard !host.isEmpty else { return false }
        for comp in host.split(separator: ".", omittingEmptySubsequences: false) {
            guard let f = comp.first, let l = comp.last, f.isASCIIAlnum, l.isASCIIAlnum,
                  comp.allSatisfy({ $0.isASCIIAlnum || $0 == "-" })
            else { return false }
        }
        return true
    }

    private static func isValidPort(_ p: Substring) -> Bool {
        guard (1...5).contains(p.count), p.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int(p) else {
            return false
        }
        return n <= 65535
    }

    /// `path-component ('/' path-component)*`, each `[a-z0-9]+ ((\.|_|__|-+)[a-z0-9]+)*`.
    static func isValidRemoteName(_ r: String) -> Bool {
        for comp in r.split(separator: "/", omittingEmptySubsequences: false) {
            let u = Array(comp.utf8)
            guard !u.isEmpty else { return false }
            func alnum(_ c: UInt8) -> Bool { (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7a) }
            guard alnum(u[0]), alnum(u[u.count - 1]) else { return false }
            var i = 0
            while i < u.count {
                if alnum(u[i]) { i += 1; continue }
                // A separator: '.', '_', '__', or one or more '-'.
                var j = i
                if u[i] == 0x2e {
                    j += 1
                } else if u[i] == 0x5f {
                    j += 1
                    if j < u.count, u[j] == 0x5f { j += 1 }
                } else if u[i] == 0x2d {
                    while j < u.count, u[j] == 0x2d { j += 1 }
                } else {
                    return false
                }
                guard j < u.count, alnum(u[j]) else { return false }
                i = j
            }
        }
        return true
    }
}

extension Character {
    fileprivate var isASCIIAlnum: Bool { isASCII && (isLetter || isNumber) }
}
