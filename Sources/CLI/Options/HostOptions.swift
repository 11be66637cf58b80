import ArgumentParser
import Engine
import FoundationEssentials
import Synchronization
import Transports

/// Per-host settings for every command that talks to registries: the profile file, connection caps, pacing and
/// the rate-limit minimum, resolved into one `RegistryProfiles` and one host-wide gate (`RateLimiter`) per run.
struct HostOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Registry profiles (YAML): per-host kind, limits, upload mode, mounts, tag pages, blob checks (default: $XDG_CONFIG_HOME/dray/registries.yaml when it exists).", valueName: "file"))
    var registriesConfig: String?

    @Option(name: .long, parsing: .singleValue, help: ArgumentHelp("Start at most N requests per second to HOST (repeatable).", valueName: "host=N/s"))
    var rateLimit: [String] = []

    @Option(name: .long, parsing: .singleValue, help: ArgumentHelp("Keep at most N requests in flight to HOST (repeatable).", valueName: "host=N"))
    var maxConnections: [String] = []

    @Option(name: .long, help: ArgumentHelp("Pause a host's pulls when its RateLimit-Remaining falls to N, instead of running into 429s (default: 10, or the profile's rateLimitMin).", valueName: "n"))
    var ratelimitMin: Int?

    /// The profiles in force: flags, then the file, then built-in knowledge.
    func profiles() throws -> RegistryProfiles {
        let limits: [String: RateLimiter.Limits]
        do { limits = try RateLimiter.Limits.parse(rateLimits: rateLimit, maxConnections: maxConnections) } catch {
            throw CLIError("\(error)")
        }
        var hostFlags: [String: (RegistryProfile, ProfileOrigin)] = [:]
        for (host, l) in limits {
            var p = RegistryProfile()
            p.maxConnections = l.maxConnections
            p.requestsPerSecond = l.requestsPerSecond
            let flag = [l.maxConnections.map { _ in "--max-connections" }, l.requestsPerSecond.map { _ in "--rate-limit" }]
                .compactMap { $0 }.joined(separator: ", ")
            hostFlags[host] = (p, .flag(flag))
        }
        var runFlags: [(RegistryProfile, ProfileOrigin)] = []
        if let ratelimitMin {
            guard ratelimitMin >= 0 else { throw CLIError("--ratelimit-min must be 0 or more, not \(ratelimitMin)") }
            var p = RegistryProfile()
            p.rateLimitMin = ratelimitMin
            runFlags.append((p, .flag("--ratelimit-min")))
        }
        return RegistryProfiles(file: try file(), hostFlags: hostFlags, runFlags: runFlags)
    }

    /// The profile file: the flag's (which must exist), else the default one when it exists.
    func file() throws -> RegistryProfileFile? {
        let path: String
        if let registriesConfig {
            path = registriesConfig
        } else {
            path = RegistryProfileFile.defaultPath()
            guard FileManager.default.fileExists(atPath: path) else { return nil }
        }
        do { return try RegistryProfileFile.load(path) } catch {
            throw CLIError(registriesConfig != nil ? "--registries-config \(error)" : "\(error)")
        }
    }

    /// The run's profiles and its host-wide gate (connection caps and pacing per host from the profiles, backoff
    /// after 429/503 for every host): made once per process, so both sides of a command and every client share
    /// one gate and what is learned about each host.
    func run() throws -> RegistryRun {
        let key = [registriesConfig ?? "", rateLimit.joined(separator: ","), maxConnections.joined(separator: ","),
                   ratelimitMin.map { "\($0)" } ?? ""].joined(separator: "\n")
        if let made = Self.runs.withLock({ $0[key] }) { return made }
        let profiles = try profiles()
        let run = RegistryRun(profiles: profiles, limiter: RateLimiter(limits: profiles.limits))
        return Self.runs.withLock { $0[key] = $0[key] ?? run; return $0[key]! }
    }

    private static let runs = Mutex<[String: RegistryRun]>([:])
}

/// One run's registry settings: the host profiles (with what is learned) and the host-wide gate.
struct RegistryRun: Sendable {
    let profiles: RegistryProfiles
    let limiter: RateLimiter

    /// `options` set up for the run.
    func apply(to options: inout RegistryOptions) {
        options.profiles = profiles
        options.gate = limiter
    }
}
