import Engine
import Foundation
import Logging
import Synchronization
import Transports

/// One registry client per (registry, side) for a run, sharing one HTTP client, so tokens, pings and
/// connections are reused across all images.
final class RegistryPool: Sendable {
    enum Side: Hashable, Sendable { case source, destination }

    private let http: HTTPClient
    private let sourceOptions: RegistryOptions
    private let destinationOptions: RegistryOptions
    /// image-syncer's auth map: per-registry/namespace credentials and `insecure`.
    let sync: SyncConfig?
    private let clients = Mutex<[String: RegistryClient]>([:])

    init(http: HTTPClient, source: RegistryOptions, destination: RegistryOptions, sync: SyncConfig? = nil) {
        self.http = http
        self.sourceOptions = source
        self.destinationOptions = destination
        self.sync = sync
    }

    /// The options for one registry: the side's flags, plus the config's credentials and `insecure` for it.
    func options(_ registry: String, _ side: Side) -> RegistryOptions {
        var o = side == .source ? sourceOptions : destinationOptions
        guard let sync else { return o }
        for e in sync.auth where e.key == registry || e.key.hasPrefix(registry + "/") {
            if let u = e.username, let p = e.password { o.credentials.scoped[e.key] = Credential(username: u, password: p) }
        }
        if sync.insecure(registry: registry) { o.tlsVerify = false }
        return o
    }

    func client(_ registry: String, _ side: Side) -> RegistryClient {
        clients.withLock { c in
            let key = "\(side == .source ? "src" : "dst") \(registry)"
            if let existing = c[key] { return existing }
            let made = RegistryClient(registry: registry, options: options(registry, side), http: http)
            c[key] = made
            return made
        }
    }

    func source(_ r: Reference) -> any ImageSource {
        RegistryImageSource(client: client(r.registry, .source), repository: r.repository)
    }

    func destination(_ r: Reference) -> any ImageDestination {
        RegistryImageDestination(client: client(r.registry, .destination), repository: r.repository)
    }
}
