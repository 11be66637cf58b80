/// The platform an image manifest runs on, as in an index entry or an image config.
public struct Platform: Hashable, Sendable, Codable, CustomStringConvertible {
    public var os: String
    public var architecture: String
    public var variant: String?
    public var osVersion: String?
    public var osFeatures: [String]?

    enum CodingKeys: String, CodingKey {
        case os, architecture, variant
        case osVersion = "os.version"
        case osFeatures = "os.features"
    }

    public init(os: String, architecture: String, variant: String? = nil, osVersion: String? = nil,
                osFeatures: [String]? = nil) {
        self.os = os
        self.architecture = architecture
        self.variant = variant
        self.osVersion = osVersion
        self.osFeatures = osFeatures
    }

    /// `os/arch[/variant]`, e.g. `linux/arm/v7`.
    public var description: String {
        var s = "\(os)/\(architecture)"
        if let variant, !variant.isEmpty { s += "/\(variant)" }
        return s
    }
}

/// Which platforms of an index to copy: everything, or those whose OS and architecture are listed.
public struct PlatformFilter: Sendable, Hashable, CustomStringConvertible {
    /// Every platform, and non-platform entries (attestations, signatures) too.
    public static let all = PlatformFilter(architectures: nil, oses: nil)

    /// Architectures, optionally with a variant (`arm/v7`); nil means any.
    public let architectures: [String]?
    /// Operating systems; nil means any.
    public let oses: [String]?
    /// Keep BuildKit attestation manifests (SLSA provenance, SBOMs) of the kept platforms (Hangar's
    /// `--provenance`, default true); false drops them from the index.
    public var provenance = true

    public init(architectures: [String]?, oses: [String]?) {
        self.architectures = architectures?.map { $0.lowercased() }
        self.oses = oses?.map { $0.lowercased() }
    }

    /// Whether this filter keeps every entry.
    public var isAll: Bool { architectures == nil && oses == nil }

    /// Whether an index entry with this platform is selected. Entries without a platform (artifacts) pass, as in
    /// Hangar; attestation entries are handled by `IndexSelection`, which makes them follow their platform.
    public func matches(_ platform: Platform?) -> Bool {
        if isAll { return true }
        guard let platform else { return true }
        if let oses, !oses.contains(platform.os.lowercased()) { return false }
        if let architectures {
            return architectures.contains { Self.archMatches($0, platform) }
        }
        return true
    }

    private static func archMatches(_ wanted: String, _ p: Platform) -> Bool {
        let parts = wanted.split(separator: "/", maxSplits: 1).map(String.init)
        let arch = normalizeArch(parts[0])
        guard arch == normalizeArch(p.architecture.lowercased()) else { return false }
        guard parts.count == 2 else { return true }
        let variant = (p.variant ?? (arch == "arm64" ? "v8" : "")).lowercased()
        return variant == parts[1]
    }

    private static func normalizeArch(_ a: String) -> String {
        switch a {
        case "x86_64", "x86-64": "amd64"
        case "aarch64": "arm64"
        case "i386", "i686": "386"
        default: a
        }
    }

    public var description: String {
        let platforms = isAll ? "all platforms"
            : "os=\(oses?.joined(separator: ",") ?? "*") arch=\(architectures?.joined(separator: ",") ?? "*")"
        return provenance ? platforms : platforms + ", no provenance"
    }
}
