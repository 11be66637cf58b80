import Engine
import Logging

/// Mirrors images between registries from Swift code: the entry point of the `DrayKit` library, made of the
/// parts `dray mirror` runs (a `RegistryClientPool` and the `MirrorEngine`).
///
/// One value holds one HTTP client and one registry client per registry (a `RegistryClientPool`), so
/// connections, pings and tokens are shared by every image of every call. Calls may run concurrently.
///
/// ```swift
/// import Engine       // the DrayKit product's modules: Engine, Transports, Signing
/// import Transports
///
/// var options = MirrorOptions()
/// options.jobs = 8
/// options.platforms = PlatformFilter(architectures: ["amd64", "arm64"], oses: ["linux"])
/// let mirror = RegistryMirror(options: options,
///                             destination: RegistryOptions(credentials: CredentialStore(
///                                 explicit: Credential(username: "robot", password: token))))
/// let results = try await mirror.mirror([
///     ("docker.io/library/nginx:1.27", "harbor.example.com/library/nginx:1.27"),
/// ]) { event in if case .finished(let r) = event { print(r.destination, r.status) } }
/// ```
public final class RegistryMirror: Sendable {
    public let options: MirrorOptions
    private let clients: RegistryClientPool
    private let logger: Logger

    /// A mirror with `options`, reaching source registries with `source` and destination ones with `destination`
    /// (credentials, TLS, certificate folder; by default the user's auth files and verified HTTPS).
    /// Both sides share `profiles` (per-host settings and what is learned; by default the source options') and
    /// one host-wide gate (the options' own, else a `RateLimiter` whose caps and pacing come from the profiles).
    public init(options: MirrorOptions = MirrorOptions(), source: RegistryOptions = RegistryOptions(),
                destination: RegistryOptions = RegistryOptions(), profiles: RegistryProfiles? = nil,
                logger: Logger = Logger(label: "dray.mirror")) {
        self.options = options
        self.logger = logger
        let profiles = profiles ?? source.profiles
        let gate: any RequestGate = source.gate ?? destination.gate ?? RateLimiter(limits: profiles.limits)
        var (source, destination) = (source, destination)
        source.profiles = profiles
        destination.profiles = profiles
        source.gate = source.gate ?? gate
        destination.gate = destination.gate ?? gate
        let (s, d) = (source, destination)
        clients = RegistryClientPool(http: HTTPClient(logger: logger)) { _, side in side == .source ? s : d }
    }

    /// The registry client this mirror uses for `registry` on one side (`source: true`) or the other.
    public func client(_ registry: String, source: Bool) -> RegistryClient {
        clients.client(registry, source ? .source : .destination)
    }

    /// Mirrors each source reference to its destination reference (a destination without tag or digest takes
    /// the source's tag). Returns one result per image, in order; an image that failed has `status == .failed`
    /// and an `error`, and does not stop the others. Only references that do not parse throw.
    public func mirror(_ images: [(source: String, destination: String)],
                       events: @escaping @Sendable (MirrorEvent) -> Void = { _ in }) async throws -> [MirrorResult] {
        var targets: [MirrorTarget] = []
        for (i, pair) in images.enumerated() {
            let source = try Reference(parsing: pair.source)
            var destination = try Reference(parsing: pair.destination)
            if TagSelection.isUntagged(pair.destination) {
                (destination.tag, destination.digest) = (source.tag, source.tag == nil ? source.digest : nil)
            }
            targets.append(MirrorTarget(id: i + 1, source: source, destination: destination,
                                        line: "\(pair.source) \(pair.destination)", origin: "#\(i + 1)"))
        }
        return await mirror(targets, events: events)
    }

    /// Mirrors prepared targets (from `ImageList` and `MirrorNaming`, or `SyncConfig`).
    public func mirror(_ targets: [MirrorTarget], events: @escaping @Sendable (MirrorEvent) -> Void = { _ in }) async
        -> [MirrorResult]
    {
        let engine = MirrorEngine(options: options, sources: clients.source, destinations: clients.destination, logger: logger)
        return await engine.run(targets, events: events)
    }
}
