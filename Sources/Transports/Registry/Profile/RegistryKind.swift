/// A registry implementation whose documented behaviour dray knows, and the hosts known to run it.
public enum RegistryKind: String, Sendable, CaseIterable, Codable {
    /// The CNCF distribution registry (and anything that behaves like it).
    case distribution
    /// Harbor: projects must exist before a push; non-standard `NOT_FOUND` codes; 401 on mounts from projects the
    /// token cannot read (harbor #17097).
    case harbor
    /// Docker Hub: the API is on registry-1.docker.io; 401 for repositories that do not exist; pull limits
    /// announced in `RateLimit-Limit`/`RateLimit-Remaining` (docs.docker.com/docker-hub/usage/pulls).
    case dockerhub
    /// GitHub Container Registry.
    case ghcr
    /// Amazon ECR: mounts answered 202 unless BLOB_MOUNTING is enabled (containers-roadmap #2860).
    case ecr
    /// Azure Container Registry: headers too large when a token carries many scopes (per-repository tokens).
    case acr
    /// Google Artifact Registry and gcr.io: monolithic uploads only (crane #1393).
    case gar
    /// Quay: tag pages capped at 100 (`n`); anonymous mounts answered 202.
    case quay
    /// Sonatype Nexus: `Link` headers naming the connector's internal host or path (nexus-public #1011).
    case nexus
    /// JFrog Artifactory: blob HEAD answers 200 for blobs GET cannot serve (regclient #433).
    case artifactory
    /// GitLab's container registry: `sha256-<hex>` resolves to the image itself (no referrers API).
    case gitlab

    /// The kind of a well-known host, nil for the rest (the user's file may name a kind for any host).
    public static func wellKnown(_ host: String) -> RegistryKind? {
        let h = host.lowercased()
        switch h {
        case "docker.io", "registry-1.docker.io", "index.docker.io", "registry.hub.docker.com": return .dockerhub
        case "ghcr.io": return .ghcr
        case "quay.io": return .quay
        case "registry.gitlab.com": return .gitlab
        case "gcr.io": return .gar
        default: break
        }
        if h.hasSuffix(".gcr.io") || h.hasSuffix("-docker.pkg.dev") { return .gar }
        if h.contains(".dkr.ecr.") && (h.hasSuffix(".amazonaws.com") || h.hasSuffix(".amazonaws.com.cn")) { return .ecr }
        if h == "public.ecr.aws" { return .ecr }
        if h.hasSuffix(".azurecr.io") { return .acr }
        return nil
    }

    /// What dray does differently for this kind, before anything is learned or configured.
    public var defaults: RegistryProfile {
        var p = RegistryProfile()
        switch self {
        case .dockerhub:
            p.apiHost = "registry-1.docker.io"
        case .gar:
            // Artifact Registry refuses chunked (PATCH) uploads: one PUT with the whole blob (crane #1393).
            p.upload = .monolithic
        case .quay:
            // Quay answers at most 100 tags a page and refuses a larger `n`.
            p.tagPageSize = 100
        case .artifactory:
            // Artifactory's HEAD says 200 for blobs a GET cannot serve (regclient #433): ask with a GET.
            p.blobCheck = .get
        case .ecr:
            // ECR lists at most 1000 tags a page.
            p.tagPageSize = 1000
        case .distribution, .harbor, .ghcr, .acr, .nexus, .gitlab:
            break
        }
        return p
    }
}
