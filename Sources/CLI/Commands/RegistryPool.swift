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
    private let clients = Mutex<[String: RegistryClient]>([:])

    init(http: HTTPClient, source: RegistryOptions, destination: RegistryOptions) {
        self.http = http
        self.sourceOptions = source
        self.destinationOptions = destination
    }

    func client(_ registry: String, _ side: Side) -> RegistryClient {
        clients.withLock { c in
            let key = "\(side == .source ? "src" : "dst") \(registry)"
            if let existing = c[key] { return existing }
            let made = RegistryClient(registry: registry, options: side == .source ? sourceOptions : destinationOptions,
                                      http: http)
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
