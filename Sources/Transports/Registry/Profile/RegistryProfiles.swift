import Engine
import FoundationEssentials
import Synchronization

/// The profiles of a run's registry hosts, resolved once per host from flags, the user's file and built-in
/// knowledge, plus what is learned about each host while the run goes on (shared by every client of the host).
public final class RegistryProfiles: Sendable {
    /// A host's profile with where each value came from.
    public struct Resolved: Sendable {
        public var profile: RegistryProfile
        public var origins: [RegistryProfile.Field: ProfileOrigin]
    }

    public let file: RegistryProfileFile?
    /// Per-host values from flags (`--max-connections HOST=N`, `--rate-limit HOST=N/s`).
    private let hostFlags: [String: (RegistryProfile, ProfileOrigin)]
    /// Values from flags for every host (`--ratelimit-min`).
    private let runFlags: [(RegistryProfile, ProfileOrigin)]
    private let learnedByHost = Mutex<[String: LearnedFeatures]>([:])

    /// Profiles from `file` (nil: none), per-host flag values and run-wide flag values.
    public init(file: RegistryProfileFile? = nil, hostFlags: [String: (RegistryProfile, ProfileOrigin)] = [:],
                runFlags: [(RegistryProfile, ProfileOrigin)] = []) {
        self.file = file
        self.hostFlags = hostFlags
        self.runFlags = runFlags
    }

    /// The profile in force for `host` (a registry as references name it: `docker.io`, `host:port`).
    public func resolve(_ host: String) -> Resolved {
        var origins: [RegistryProfile.Field: ProfileOrigin] = [:]
        var p = RegistryProfile()
        if let (flags, origin) = hostFlags[host] { p = p.filled(from: flags, origin: origin, into: &origins) }
        for (flags, origin) in runFlags { p = p.filled(from: flags, origin: origin, into: &origins) }
        if let file {
            if let e = file.entry(for: host) { p = Self.fill(p, e, file.path, &origins) }
            if let d = file.defaults { p = Self.fill(p, d, file.path, &origins) }
        }
        let kind = p.kind ?? RegistryKind.wellKnown(host)
        if let kind {
            if p.kind == nil {
                p.kind = kind
                origins[.kind] = .builtIn(kind)
            }
            p = p.filled(from: kind.defaults, origin: .builtIn(kind), into: &origins)
        }
        return Resolved(profile: p, origins: origins)
    }

    /// The settings of a file entry, each from the line that set it (a chunk size set by its `upload:` line alone
    /// comes from that line).
    private static func fill(_ p: RegistryProfile, _ e: RegistryProfileFile.Entry, _ path: String,
                             _ origins: inout [RegistryProfile.Field: ProfileOrigin]) -> RegistryProfile {
        p.filled(from: e.profile, origin: { .file(path, line: e.lines[$0] ?? e.lines[.upload]) }, into: &origins)
    }

    /// A host's connection cap and pacing, as the rate limiter takes them.
    public func limits(_ host: String) -> RateLimiter.Limits {
        let p = resolve(host).profile
        return RateLimiter.Limits(maxConnections: p.maxConnections, requestsPerSecond: p.requestsPerSecond)
    }

    /// What has been learned about `host` in this run (one value per host, shared by its clients).
    public func learned(_ host: String) -> LearnedFeatures {
        learnedByHost.withLock { m in
            if let l = m[host] { return l }
            let l = LearnedFeatures()
            m[host] = l
            return l
        }
    }

    /// Every host something was learned about, with what.
    public var learnedHosts: [String: LearnedFeatures] { learnedByHost.withLock { $0 } }
}
