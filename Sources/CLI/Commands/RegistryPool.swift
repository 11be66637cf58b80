import Engine
import Transports

/// The registry clients of a run: a `RegistryClientPool` whose options are the side's flags plus, with an
/// image-syncer config, its credentials and `insecure` for each registry.
final class RegistryPool: Sendable {
    typealias Side = RegistryClientPool.Side

    private let clients: RegistryClientPool
    /// image-syncer's auth map: per-registry/namespace credentials and `insecure`.
    let sync: SyncConfig?

    init(http: HTTPClient, source: RegistryOptions, destination: RegistryOptions, sync: SyncConfig? = nil) {
        self.sync = sync
        clients = RegistryClientPool(http: http) { registry, side in
            Self.options(registry, side == .source ? source : destination, sync: sync)
        }
    }

    /// The options for one registry: the side's flags, plus the config's credentials and `insecure` for it.
    private static func options(_ registry: String, _ flags: RegistryOptions, sync: SyncConfig?) -> RegistryOptions {
        var o = flags
        guard let sync else { return o }
        for e in sync.auth where e.key == registry || e.key.hasPrefix(registry + "/") {
            if let u = e.username, let p = e.password { o.credentials.scoped[e.key] = Credential(username: u, password: p) }
        }
        if sync.insecure(registry: registry) { o.tlsVerify = false }
        return o
    }

    func client(_ registry: String, _ side: Side) -> RegistryClient { clients.client(registry, side) }

    /// The tags of a source repository (for list lines and rules that select tags).
    /// The image tags of a source repository: attachment tags (`sha256-<hex>`, `.sig`, `.att`, `.sbom`) name
    /// what is attached to images, never images, so an "all tags" copy or a tag pattern never takes them.
    @Sendable func sourceTags(_ r: Reference) async throws -> [String] {
        try await client(r.registry, .source).tags(r.repository).filter { !AttachmentTag.isAttachmentTag($0) }
    }

    func source(_ r: Reference) -> any ImageSource { clients.source(r) }

    /// A destination repository read back (validation): through the destination's client.
    @Sendable func destinationReader(_ r: Reference) -> any ImageSource {
        RegistryImageSource(client: client(r.registry, .destination), repository: r.repository)
    }

    func destination(_ r: Reference) -> any ImageDestination { clients.destination(r) }
}
