/// A set of versions written as npm and Helm users write them: comparators separated by spaces must all hold
/// (`>=1.2 <2`), alternatives are joined by `||` (`1.x || >=3.1`).
///
/// Comparators: `=V`, `V`, `>V`, `>=V`, `<V`, `<=V`; `~V` (same minor when given, else same major); `^V` (same
/// left-most non-zero part); `1.2.x`, `1.x`, `*` (any); `A - B` (inclusive). Partial versions fill with 0 on the
/// low side (`>=1.2` is `>=1.2.0`) and mean the whole span on the high side (`<=1.2` is `<1.3.0`). A pre-release
/// version matches only when a comparator of its alternative names a pre-release of the same MAJOR.MINOR.PATCH,
/// so `>=1.2` never picks `2.0.0-rc.1`.
public struct SemverRange: Sendable, CustomStringConvertible {
    /// One bound.
    struct Comparator: Sendable {
        enum Op: Sendable { case lt, le, gt, ge, eq }
        var op: Op
        var version: SemanticVersion

        func holds(_ v: SemanticVersion) -> Bool {
            switch op {
            case .lt: v < version
            case .le: v <= version
            case .gt: v > version
            case .ge: v >= version
            case .eq: v == version
            }
        }
    }

    private let alternatives: [[Comparator]]
    public let description: String

    /// Parses a range; the error says which part is wrong.
    public init(_ text: String) throws(SemverRangeError) {
        description = text
        var sets: [[Comparator]] = []
        for alternative in text.components(separatedBy: "||") {
            var tokens = alternative.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            // Operators written apart from their version (`>= 1.2`) join it.
            var joined: [String] = []
            var i = 0
            while i < tokens.count {
                if [">", ">=", "<", "<=", "=", "~", "^"].contains(tokens[i]), i + 1 < tokens.count {
                    joined.append(tokens[i] + tokens[i + 1])
                    i += 2
                } else {
                    joined.append(tokens[i])
                    i += 1
                }
            }
            tokens = joined
            var set: [Comparator] = []
            if tokens.count == 3, tokens[1] == "-" {
                set += try Self.bound(">=" + tokens[0])
                set += try Self.bound("<=" + tokens[2])
            } else {
                guard !tokens.isEmpty else { throw .invalid(text, "an empty alternative") }
                for t in tokens { set += try Self.bound(t) }
            }
            sets.append(set)
        }
        alternatives = sets
    }

    /// Whether `version` is in the range.
    public func contains(_ version: SemanticVersion) -> Bool {
        alternatives.contains { set in
            guard set.allSatisfy({ $0.holds(version) }) else { return false }
            if !version.isPrerelease { return true }
            return set.contains { c in
                c.version.isPrerelease && (c.version.major, c.version.minor, c.version.patch) == (version.major, version.minor, version.patch)
            }
        }
    }

    /// The comparators one token stands for.
    private static func bound(_ token: String) throws(SemverRangeError) -> [Comparator] {
        var t = Substring(token)
        var op = ""
        for candidate in [">=", "<=", ">", "<", "=", "~>", "~", "^"] where t.hasPrefix(candidate) {
            op = candidate
            t = t.dropFirst(candidate.count)
            break
        }
        // x-ranges: 1.2.x, 1.X, 1.*, *, or parts left out.
        let raw = String(t)
        if raw == "*" || raw.lowercased() == "x" || raw.isEmpty {
            // Any version, except with `<`: none is below every version.
            return op == "<" ? [Comparator(op: .lt, version: SemanticVersion(major: 0, prerelease: ["0"]))] : []
        }
        var pieces = raw.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        if let wild = pieces.firstIndex(where: { ["x", "X", "*"].contains($0) }) { pieces = Array(pieces[..<wild]) }
        guard let v = SemanticVersion(pieces.joined(separator: ".")) else {
            throw .invalid(token, "not a version")
        }
        let parts = v.parts
        // The first version above the span a partial version covers: 1.2 → 1.3.0, 1 → 2.0.0.
        func above(_ v: SemanticVersion, parts: Int) -> SemanticVersion {
            switch parts {
            case 1: SemanticVersion(major: v.major + 1, prerelease: ["0"])
            case 2: SemanticVersion(major: v.major, minor: v.minor + 1, prerelease: ["0"])
            default: SemanticVersion(major: v.major, minor: v.minor, patch: v.patch + 1, prerelease: ["0"])
            }
        }
        let base = SemanticVersion(major: v.major, minor: v.minor, patch: v.patch, prerelease: v.prerelease)
        switch op {
        case ">=": return [Comparator(op: .ge, version: base)]
        case ">": return parts == 3 ? [Comparator(op: .gt, version: base)] : [Comparator(op: .ge, version: above(v, parts: parts))]
        case "<": return [Comparator(op: .lt, version: parts == 3 ? base : SemanticVersion(major: v.major, minor: v.minor, patch: v.patch, prerelease: ["0"]))]
        case "<=": return parts == 3 ? [Comparator(op: .le, version: base)] : [Comparator(op: .lt, version: above(v, parts: parts))]
        case "~", "~>":
            return [Comparator(op: .ge, version: base), Comparator(op: .lt, version: above(v, parts: parts == 1 ? 1 : 2))]
        case "^":
            let top: SemanticVersion
            if v.major > 0 || parts == 1 { top = above(v, parts: 1) } else if v.minor > 0 || parts == 2 { top = above(v, parts: 2) } else { top = above(v, parts: 3) }
            return [Comparator(op: .ge, version: base), Comparator(op: .lt, version: top)]
        default:  // "=" or bare
            if parts == 3 { return [Comparator(op: .eq, version: base)] }
            return [Comparator(op: .ge, version: base), Comparator(op: .lt, version: above(v, parts: parts))]
        }
    }
}

/// A range dray cannot read.
public enum SemverRangeError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalid(String, String)

    public var description: String {
        switch self {
        case .invalid(let part, let why): "invalid semver range: \"\(part.prefix(80))\": \(why)"
        }
    }
}
