/// A tag read as a semantic version (semver.org 2.0): `MAJOR[.MINOR[.PATCH]][-PRERELEASE][+BUILD]`, with an
/// optional leading `v` as tags often have (`v1.27.3`). Missing minor and patch count as 0; build metadata is kept
/// but ignored when comparing.
public struct SemanticVersion: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var major: Int
    public var minor: Int
    public var patch: Int
    /// Dot-separated pre-release identifiers (`rc.1` → ["rc", "1"]); empty for a release.
    public var prerelease: [String]
    public var build: String?
    /// How many numeric parts the text gave (1–3), for ranges: `<2` means below 2.0.0, `~1.2` means 1.2.x.
    public var parts: Int

    public init(major: Int, minor: Int = 0, patch: Int = 0, prerelease: [String] = [], build: String? = nil) {
        self.major = major
        self.minor = minor
        self.patch = patch
        self.prerelease = prerelease
        self.build = build
        self.parts = 3
    }

    /// Reads `text`; nil when it is not a version (`latest`, `stable`, `1.2.3.4`, `1.02`).
    public init?(_ text: String) {
        var s = Substring(text)
        if s.first == "v" || s.first == "V" { s = s.dropFirst() }
        var build: String?
        if let plus = s.firstIndex(of: "+") {
            build = String(s[s.index(after: plus)...])
            s = s[..<plus]
            guard let b = build, !b.isEmpty, b.split(separator: ".", omittingEmptySubsequences: false).allSatisfy(Self.isIdentifier) else { return nil }
        }
        var prerelease: [String] = []
        if let dash = s.firstIndex(of: "-") {
            let pre = s[s.index(after: dash)...]
            s = s[..<dash]
            let ids = pre.split(separator: ".", omittingEmptySubsequences: false)
            guard !pre.isEmpty, ids.allSatisfy(Self.isIdentifier) else { return nil }
            // Numeric identifiers have no leading zeros.
            guard ids.allSatisfy({ !($0.allSatisfy(\.isASCIIDigit) && $0.count > 1 && $0.first == "0") }) else { return nil }
            prerelease = ids.map(String.init)
        }
        let numbers = s.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...3).contains(numbers.count) else { return nil }
        var values: [Int] = []
        for n in numbers {
            guard !n.isEmpty, n.count <= 9, n.allSatisfy(\.isASCIIDigit), !(n.count > 1 && n.first == "0"), let v = Int(n) else { return nil }
            values.append(v)
        }
        self.major = values[0]
        self.minor = values.count > 1 ? values[1] : 0
        self.patch = values.count > 2 ? values[2] : 0
        self.prerelease = prerelease
        self.build = build
        self.parts = values.count
    }

    private static func isIdentifier(_ s: Substring) -> Bool {
        !s.isEmpty && s.allSatisfy { $0.isASCIIDigit || ($0.isASCII && $0.isLetter) || $0 == "-" }
    }

    public var isPrerelease: Bool { !prerelease.isEmpty }

    public static func < (a: SemanticVersion, b: SemanticVersion) -> Bool {
        if (a.major, a.minor, a.patch) != (b.major, b.minor, b.patch) { return (a.major, a.minor, a.patch) < (b.major, b.minor, b.patch) }
        // A release ranks above its pre-releases; pre-releases compare identifier by identifier.
        switch (a.prerelease.isEmpty, b.prerelease.isEmpty) {
        case (true, true), (true, false): return false
        case (false, true): return true
        case (false, false): break
        }
        for (x, y) in zip(a.prerelease, b.prerelease) where x != y {
            switch (Int(x), Int(y)) {
            case let (i?, j?): return i < j
            case (.some, nil): return true
            case (nil, .some): return false
            case (nil, nil): return x < y
            }
        }
        return a.prerelease.count < b.prerelease.count
    }

    /// Equal in precedence (build metadata and the number of parts written do not count).
    public static func == (a: SemanticVersion, b: SemanticVersion) -> Bool {
        (a.major, a.minor, a.patch) == (b.major, b.minor, b.patch) && a.prerelease == b.prerelease
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(major)
        hasher.combine(minor)
        hasher.combine(patch)
        hasher.combine(prerelease)
    }

    public var description: String {
        "\(major).\(minor).\(patch)" + (prerelease.isEmpty ? "" : "-" + prerelease.joined(separator: ".")) + (build.map { "+\($0)" } ?? "")
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
