import Foundation

extension RegistryImitation {
    /// ECR without blob mounting: a mount POST goes upstream as a plain upload POST (`mount` and `from` dropped),
    /// so the client gets 202 and an upload session.
    func ecrNoMount(_ r: Request, _ upstream: Upstream) -> ImitationMessage? {
        guard r.kind == .mount else { return upstream.forward(r) }
        let kept = r.query.split(separator: "&").filter { !$0.hasPrefix("mount=") && !$0.hasPrefix("from=") }
        return upstream.forward(r, target: r.path + (kept.isEmpty ? "" : "?" + kept.joined(separator: "&")))
    }

    /// Google Artifact Registry: PATCH of an upload session is refused 405; POST and the monolithic PUT go through.
    func garMonolithic(_ r: Request, _ upstream: Upstream) -> ImitationMessage? {
        guard r.method == "PATCH", r.isUpload else { return upstream.forward(r) }
        return .error(405, "UNSUPPORTED", "chunked upload is not supported")
    }

    /// `OCI-Chunk-Min-Length: min` on every 202 to an upload POST. A PATCH shorter than `min` is accepted and
    /// remembered for its session; a later PATCH there, or a closing PUT with a body, proves it was not the last
    /// chunk and is refused 416 `BLOB_UPLOAD_INVALID` (the session stays where the registry has it).
    func chunkMinLength(_ min: Int, _ r: Request, _ upstream: Upstream) -> ImitationMessage? {
        let session = r.path
        switch (r.method, r.isUpload) {
        case ("POST", true):
            guard let answer = upstream.forward(r) else { return nil }
            return answer.head.status == 202 ? answer.adding([("OCI-Chunk-Min-Length", "\(min)")]) : answer
        case ("PATCH", true):
            if state.withLock({ $0.shortPatch.contains(session) }) { return Self.belowMinimum() }
            guard let answer = upstream.forward(r) else { return nil }
            if answer.head.status == 202, r.message.body.count < min { state.withLock { _ = $0.shortPatch.insert(session) } }
            return answer
        case ("PUT", true):
            let short = state.withLock { $0.shortPatch.contains(session) }
            if short, !r.message.body.isEmpty { return Self.belowMinimum() }
            guard let answer = upstream.forward(r) else { return nil }
            if (200..<300).contains(answer.head.status) { state.withLock { _ = $0.shortPatch.remove(session) } }
            return answer
        default:
            return upstream.forward(r)
        }
    }

    private static func belowMinimum() -> ImitationMessage {
        .error(416, "BLOB_UPLOAD_INVALID", "chunk below OCI-Chunk-Min-Length")
    }

    /// A load balancer that needs a length: PATCH or PUT with a chunked body and no `Content-Length` is refused 411.
    func refuseStreamed(_ r: Request, _ upstream: Upstream) -> ImitationMessage? {
        guard r.method == "PATCH" || r.method == "PUT", r.message.streamed else { return upstream.forward(r) }
        return .error(411, "SIZE_INVALID", "Content-Length required")
    }
}
