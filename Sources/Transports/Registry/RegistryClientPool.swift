import Engine
import Synchronization

/// One registry client per registry and side of a run (source or destination), sharing one HTTP client, so
/// connections, pings and tokens are reused by every image.
public final class RegistryClientPool: Sendable {
    public enum Side: Hashable, Sendable { case source, destination }

    private let http: HTTPClient
    private let options: @Sendable (String, Side) -> RegistryOptions
    private let clients = Mutex<[String: RegistryClient]>([:])

    /// A pool whose clients take `options(registry, side)` when first made.
    public init(http: HTTPClient, options: @escaping @Sendable (String, Side) -> RegistryOptions) {
        self.http = http
        self.options = options
    }

    /// The client for `registry` on one side.
    public func client(_ registry: String, _ side: Side) -> RegistryClient {
        clients.withLock { c in
            let key = "\(side == .source ? "src" : "dst") \(registry)"
            if let existing = c[key] { return existing }
            let made = RegistryClient(registry: registry, options: options(registry, side), http: http)
            c[key] = made
            return made
        }
    }

    /// A repository to read images from.
    public func source(_ r: Reference) -> any ImageSource {
        RegistryImageSource(client: client(r.registry, .source), repository: r.repository)
    }

    /// A repository to write images to.
    public func destination(_ r: Reference) -> any ImageDestination {
        RegistryImageDestination(client: client(r.registry, .destination), repository: r.repository)
    }
}
