import Foundation

extension RegistryImitation {
    /// Eventually consistent storage: a blob whose upload just completed is unknown for `delay` (404 on HEAD and
    /// GET, a plain upload instead of a mount, 400 `MANIFEST_BLOB_UNKNOWN` for a manifest naming it).
    func s3Eventual(_ delay: Duration, _ r: Request, _ upstream: Upstream) -> ImitationMessage? {
        if r.isUpload, r.method == "PUT" || r.method == "POST", let digest = r.parameter("digest") {
            guard let answer = upstream.forward(r) else { return nil }
            if answer.head.status == 201 {
                let until = ContinuousClock.now + delay
                state.withLock { $0.hiddenUntil[digest] = until }
            }
            return answer
        }
        if r.kind == .mount, let digest = r.parameter("mount"), hidden(digest) {
            let kept = r.query.split(separator: "&").filter { !$0.hasPrefix("mount=") && !$0.hasPrefix("from=") }
            return upstream.forward(r, target: r.path + (kept.isEmpty ? "" : "?" + kept.joined(separator: "&")))
        }
        if let digest = r.blobDigest, r.method == "GET" || r.method == "HEAD", hidden(digest) {
            return .error(404, "BLOB_UNKNOWN", "blob unknown to registry", detail: digest, forHEAD: r.isHEAD)
        }
        if r.isManifest, r.method == "PUT", let digest = Self.blobDigests(r.message.body).first(where: hidden) {
            return .error(400, "MANIFEST_BLOB_UNKNOWN", "blob unknown to registry", detail: digest)
        }
        return upstream.forward(r)
    }

    /// Whether `digest` finished uploading less than the delay ago.
    private func hidden(_ digest: String) -> Bool {
        let now = ContinuousClock.now
        return state.withLock { s in
            guard let until = s.hiddenUntil[digest] else { return false }
            if until <= now { s.hiddenUntil[digest] = nil }
            return until > now
        }
    }

    /// The config and layer digests an image manifest names.
    static func blobDigests(_ body: [UInt8]) -> [String] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else { return [] }
        let config = (object["config"] as? [String: Any])?["digest"] as? String
        let layers = (object["layers"] as? [[String: Any]] ?? []).compactMap { $0["digest"] as? String }
        return (config.map { [$0] } ?? []) + layers
    }

    /// Artifactory: every blob HEAD is 200 with `Content-Length: 1234` and the digest asked for; GETs are forwarded.
    func artifactoryHeadLies(_ r: Request, _ upstream: Upstream) -> ImitationMessage? {
        guard r.method == "HEAD", let digest = r.blobDigest else { return upstream.forward(r) }
        return .made(200, [("Content-Type", "application/octet-stream"), ("Docker-Content-Digest", digest)],
                     forHEAD: true, length: 1234)
    }
}
