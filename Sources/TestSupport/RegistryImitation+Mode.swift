import Foundation

extension RegistryImitation {
    /// The registry behaviour to reproduce; one per imitation.
    public enum Mode: Sendable {
        /// Harbor 2.x: projects (`/api/v2.0/ping`, `HEAD`/`POST /api/v2.0/projects`), 404 `NOT_FOUND` for a
        /// repository in a missing project and instead of the distribution codes (Harbor's own error code), and a
        /// 401 for a mount from a project the user cannot read or that does not exist (goharbor/harbor #17097,
        /// google/go-containerregistry #1393). See `Harbor`.
        case harbor(Harbor)
        /// ECR without the `BLOB_MOUNTING` account setting (and Quay for anonymous users): a mount POST is taken as
        /// a plain upload POST and answered 202 with an upload session (aws/containers-roadmap #2860, OCI
        /// distribution spec "Mounting a blob from another repository": a registry MAY fall back to an upload).
        case ecrNoMount
        /// Google Artifact Registry accepts monolithic uploads only ("Artifact Registry does not support Docker
        /// chunked uploads", cloud.google.com/artifact-registry/docs/reference/docker-api; skopeo #1101): every
        /// PATCH of an upload session is answered 405 `UNSUPPORTED`; the session stays open for a monolithic PUT.
        case garMonolithic
        /// OCI distribution spec 1.1 `OCI-Chunk-Min-Length`: announced on every 202 answer to an upload POST;
        /// chunks but the last must be at least that long. Rule: a PATCH shorter than the minimum is accepted (it
        /// may be the last piece), but remembered; a further PATCH on that session, or a closing PUT that still
        /// carries bytes, shows it was not the last and is answered 416 `BLOB_UPLOAD_INVALID`.
        case chunkMinLength(Int)
        /// A registry behind a load balancer that needs a request length (RFC 9110 §15.5.12 411 Length Required;
        /// as reported for uploads through such proxies, skopeo #1101 style): a PATCH or PUT sent with
        /// `Transfer-Encoding: chunked` and no `Content-Length` is answered 411 `SIZE_INVALID`.
        case refuseStreamed
        /// Nexus Repository: tags/list pages hold at most `pageCap` tags, and the `Link` to the next page is
        /// missing, names another host:port, or another path (its connector-port/repository-path mismatch,
        /// sonatype/nexus-public #1011). `?last=<last tag>&n=` on the original URL still continues.
        case nexusBadLink(NexusLink, pageCap: Int)
        /// Quay: tags/list `n` above the limit is clamped to it (quay/quay endpoints/v2 `oci_tag_paginate`:
        /// `limit = max(min(n, _MAX_RESULTS_PER_PAGE), 0)`, 100 by default; the June 2024 400/413
        /// `TOO_MANY_TAGS_REQUESTED` refusal was removed again in quay/quay #2964, PROJQUAY-6931); pages link to
        /// the next with an absolute `Link: <http://HOST/v2/NAME/tags/list?n=L&last=X>; rel="next"`.
        case quayPageLimit(Int)
        /// Docker Hub: bearer auth from the imitation's own `/token`, and 401 `insufficient_scope` (not 404) for a
        /// repository that does not exist, even with a valid token (distribution/distribution #1291,
        /// jupyterhub/binderhub #1664 "Docker Hub now returns 401 for missing repos", docker-library/meta-scripts
        /// #33). Pushes to a missing repository, and any request with a token granting push there, go through
        /// (Hub creates the repository on push; its owner gets the registry's own 404s).
        case hub401Missing
        /// Docker Hub's documented pull rate limit (docs.docker.com/docker-hub/usage/pulls): manifest GET and HEAD
        /// answers carry `RateLimit-Limit: L;w=W`, `RateLimit-Remaining: R;w=W` and `docker-ratelimit-source`;
        /// manifest GETs count in a sliding window of `window` seconds; over the limit a GET is answered 429
        /// `TOOMANYREQUESTS`.
        case hubRateLimit(limit: Int, window: Int)
        /// A registry on eventually consistent storage (distribution/distribution #61, openshift/image-registry
        /// #220, project-zot/zot #2910): for this long after a blob upload completes, the blob is 404
        /// `BLOB_UNKNOWN` in every repository, a mount of it falls back to a plain upload (202), and a manifest
        /// naming it is refused 400 `MANIFEST_BLOB_UNKNOWN`.
        case s3Eventual(Duration)
        /// Artifactory: a blob HEAD is answered 200 (`Content-Length: 1234`, the digest asked for) whatever the
        /// registry holds, while GETs tell the truth (its HEAD is served from metadata, not the stored blob).
        case artifactoryHeadLies
    }

    /// Where `nexusBadLink` points its `Link` header.
    public enum NexusLink: Sendable {
        /// No `Link`, even though the page is full and more tags exist.
        case missing
        /// `http://127.0.0.1:1/repository/docker-hosted/v2/NAME/tags/list?last=X&n=N`: the repository connector
        /// URL on a port that is not the one the client used.
        case otherHost
        /// `/repository/docker-hosted/v2/NAME/tags/list?last=X&n=N` on the same host, which is not served there.
        case otherPath
    }

    /// The Harbor instance to imitate.
    public struct Harbor: Sendable {
        /// Projects that exist at the start.
        public var projects: Set<String>
        /// Projects the client may not pull from: a mount whose `from=` repository is in one is answered 401.
        public var unreadableProjects: Set<String>
        /// Users (robot accounts) that may not create projects: their `POST /api/v2.0/projects` is answered 403.
        public var robots: Set<String>

        public init(projects: Set<String> = ["library"], unreadableProjects: Set<String> = [], robots: Set<String> = []) {
            self.projects = projects
            self.unreadableProjects = unreadableProjects
            self.robots = robots
        }
    }
}
