/// The tags that hold what is attached to a manifest rather than an image: the OCI referrers fallback tag and
/// cosign's legacy `.sig`, `.att` and `.sbom` tags.
///
/// - Fallback tag (distribution spec 1.1, "Referrers Tag Schema"): `<alg>-<ref>`, where `<alg>` is the digest
///   algorithm truncated to 32 characters and `<ref>` its encoded part truncated to 64, every character outside
///   `[a-zA-Z0-9_.-]` replaced by `-`. It holds an image index listing the manifests whose `subject` is the digest.
/// - Legacy cosign tags (cosign ≤ v2): `sha256-<hex>.sig` (simple-signing signatures), `.att` (DSSE attestations)
///   and `.sbom` (an attached SBOM), each an image manifest.
public enum AttachmentTag {
    /// cosign's legacy attachment kinds, by tag suffix.
    public enum Legacy: String, Sendable, Hashable, CaseIterable, Codable {
        case sig, att, sbom
    }

    /// The referrers fallback tag of `digest`, by the spec's rules.
    public static func fallback(for digest: Digest) -> String {
        fallback(algorithm: digest.algorithm.rawValue, encoded: digest.hex)
    }

    /// The fallback tag of a digest given as its two parts (for algorithms dray does not compute).
    public static func fallback(algorithm: String, encoded: String) -> String {
        // The spec's allowed characters are those of a tag after its first, `[A-Za-z0-9_.-]`.
        func clean(_ s: Substring) -> String {
            // Digests dray computes are all allowed characters: kept as they are, without a look at each Character.
            if s.utf8.allSatisfy(Reference.isTagCharacter) { return String(s) }
            return String(s.map { c -> Character in c.asciiValue.map(Reference.isTagCharacter) == true ? c : "-" })
        }
        return "\(clean(algorithm.prefix(32)))-\(clean(encoded.prefix(64)))"
    }

    /// cosign's legacy tag of `kind` for `digest`.
    public static func legacy(_ kind: Legacy, for digest: Digest) -> String { "\(fallback(for: digest)).\(kind.rawValue)" }

    /// What a tag is, when it is an attachment tag: the subject's algorithm and encoded part (as written in the
    /// tag) and the legacy kind (nil for a fallback tag).
    public struct Parsed: Sendable, Hashable {
        public var algorithm: String
        public var encoded: String
        public var legacy: Legacy?

        /// The subject digest, when the tag names one dray can parse (sha256; sha512 truncated to 64 cannot be).
        public var subject: Digest? { try? Digest(parsing: "\(algorithm):\(encoded)") }
    }

    /// Digest algorithms whose fallback tags are recognised: their encoded parts are at least 64 hex characters,
    /// so their tags carry exactly 64.
    public static let algorithms: Set<String> = ["sha256", "sha384", "sha512", "blake3"]

    /// Parses `<algorithm>-<64 lower-case hex>` (a known algorithm, see `algorithms`) with an optional
    /// `.sig`/`.att`/`.sbom`; nil for any other tag, so that image tags such as `sha-<40 hex>` (a commit) or
    /// `main-<32 hex>` are never taken for attachments.
    public static func parse(_ tag: String) -> Parsed? {
        var body = Substring(tag)
        var legacy: Legacy?
        for kind in Legacy.allCases where body.hasSuffix(".\(kind.rawValue)") {
            legacy = kind
            body = body.dropLast(kind.rawValue.count + 1)
            break
        }
        guard let dash = body.firstIndex(of: "-") else { return nil }
        let algorithm = body[..<dash]
        let encoded = body[body.index(after: dash)...]
        guard Self.algorithms.contains(String(algorithm)), encoded.count == 64,
              encoded.allSatisfy({ $0.isHexDigit && !$0.isUppercase })
        else { return nil }
        return Parsed(algorithm: String(algorithm), encoded: String(encoded), legacy: legacy)
    }

    /// Whether `tag` names attachments rather than an image: never selected as an image by tag filters,
    /// semver ranges, newest-N or an "all tags" copy.
    public static func isAttachmentTag(_ tag: String) -> Bool { parse(tag) != nil }
}
