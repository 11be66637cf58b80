import Engine

/// How a signature's `docker-reference` must relate to the image being verified (containers/image's
/// `signedIdentity` rules).
public enum IdentityRule: Sendable, Equatable, CustomStringConvertible {
    /// The same repository and the same tag (or digest).
    case exact
    /// The same repository, whatever the tag.
    case repository
    /// By digest: the same repository; by tag: exact. containers/image's default, and dray's.
    case repoDigestOrExact
    /// The image's reference with `prefix` replaced by `signedPrefix`, then repo-digest-or-exact.
    case remap(prefix: String, signedPrefix: String)

    /// Parses `exact`, `repository`, `repo-digest-or-exact` or `remap:PREFIX=SIGNED_PREFIX`.
    public init(parsing s: String) throws {
        switch s {
        case "exact": self = .exact
        case "repository", "match-repository": self = .repository
        case "repo-digest-or-exact", "match-repo-digest-or-exact": self = .repoDigestOrExact
        default:
            guard s.hasPrefix("remap:"), let eq = s.firstIndex(of: "=") else {
                throw IdentityRuleError(text: s)
            }
            let prefix = String(s[s.index(s.startIndex, offsetBy: 6)..<eq]), signed = String(s[s.index(after: eq)...])
            guard !prefix.isEmpty, !signed.isEmpty else { throw IdentityRuleError(text: s) }
            self = .remap(prefix: prefix, signedPrefix: signed)
        }
    }

    public var description: String {
        switch self {
        case .exact: "exact"
        case .repository: "repository"
        case .repoDigestOrExact: "repo-digest-or-exact"
        case .remap(let p, let s): "remap:\(p)=\(s)"
        }
    }

    /// Whether a signature for `signed` covers the image named `image` (a tag or digest reference).
    public func accepts(signed: String, for image: Reference) -> Bool {
        guard let s = SignedName(signed) else { return false }
        switch self {
        case .exact:
            return s.name == image.name && s.suffix == Self.suffix(of: image)
        case .repository:
            return s.name == image.name
        case .repoDigestOrExact:
            if image.digest != nil { return s.name == image.name }
            return s.name == image.name && s.suffix == Self.suffix(of: image)
        case .remap(let prefix, let signedPrefix):
            let full = image.description
            guard full.hasPrefix(prefix), let remapped = try? Reference(parsing: signedPrefix + full.dropFirst(prefix.count)) else {
                return false
            }
            return IdentityRule.repoDigestOrExact.accepts(signed: signed, for: remapped)
        }
    }

    static func suffix(of r: Reference) -> String? { r.digest.map { "@\($0)" } ?? r.tag.map { ":\($0)" } }
}

/// A signed `docker-reference`: a normalised repository name and the tag or digest it carried, if any.
struct SignedName {
    var name: String
    var suffix: String?

    init?(_ s: String) {
        guard let r = try? Reference(parsing: s) else { return nil }
        name = r.name
        let last = s.split(separator: "/").last ?? ""
        if let d = r.digest, s.contains("@") {
            suffix = "@\(d)"
        } else if last.contains(":") {
            suffix = r.tag.map { ":\($0)" }
        } else {
            suffix = nil
        }
    }
}

/// An identity rule that cannot be parsed.
public struct IdentityRuleError: Error, Sendable, CustomStringConvertible {
    public let text: String
    public var description: String {
        "--identity: \"\(text.prefix(200))\" is not exact, repository, repo-digest-or-exact or remap:PREFIX=SIGNED_PREFIX"
    }
}
