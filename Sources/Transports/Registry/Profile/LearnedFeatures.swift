import Engine
import FoundationEssentials
import Synchronization

/// What a run learned about one registry host from its answers, shared by every client of the host (source and
/// destination side), so each lesson is paid for once.
public final class LearnedFeatures: Sendable {
    struct State {
        var uploadMode: UploadMode?
        var chunkMinLength: Int?
        var mountSessions = 0
        var mountsOff = false
        var harbor: Bool?
        var notes: [String] = []
        /// Blobs this run finished uploading (by repository), with when (for eventually consistent registries).
        var uploads: [String: ContinuousClock.Instant] = [:]
    }

    private let state = Mutex(State())
    /// The host's pull budget as its `RateLimit-*` headers announce it.
    public let rateLimit = RateLimitBudget()

    /// Mount answers with an upload session (202) after which no more mounts are tried.
    public static let mountSessionsToGiveUp = 3

    public init() {}

    /// The upload mode the host made dray switch to, if any.
    public var uploadMode: UploadMode? { state.withLock { $0.uploadMode } }

    /// Records that the host refused an upload mode and which one it takes instead.
    func learnUploadMode(_ mode: UploadMode, because why: String) {
        state.withLock { s in
            guard s.uploadMode != mode else { return }
            s.uploadMode = mode
            s.notes.append("upload: \(mode.name) (\(why))")
        }
    }

    /// The smallest chunk the host takes (`OCI-Chunk-Min-Length`), once announced.
    public var chunkMinLength: Int? { state.withLock { $0.chunkMinLength } }

    func learnChunkMinLength(_ n: Int) {
        state.withLock { s in
            guard n > (s.chunkMinLength ?? 0) else { return }
            s.chunkMinLength = n
            s.notes.append("chunks of at least \(n) bytes (OCI-Chunk-Min-Length)")
        }
    }

    /// Whether mounts are no longer tried at this host.
    public var mountsOff: Bool { state.withLock { $0.mountsOff } }

    /// Records a mount answered with an upload session; after `mountSessionsToGiveUp`, mounts stop.
    func mountAnsweredWithSession() {
        state.withLock { s in
            s.mountSessions += 1
            if s.mountSessions >= Self.mountSessionsToGiveUp && !s.mountsOff {
                s.mountsOff = true
                s.notes.append("mount: never (\(s.mountSessions) mounts answered with an upload session)")
            }
        }
    }

    /// Records a finished upload.
    func uploaded(_ digest: Digest, to repository: String) {
        state.withLock { s in
            let now = ContinuousClock.now
            if s.uploads.count > 4096 { s.uploads = s.uploads.filter { now - $0.value < .seconds(30) } }
            s.uploads["\(repository)@\(digest)"] = now
        }
    }

    /// Whether `digest` was uploaded to `repository` in the last 30 seconds.
    func uploadedRecently(_ digest: Digest, to repository: String) -> Bool {
        state.withLock { s in s.uploads["\(repository)@\(digest)"].map { ContinuousClock.now - $0 < .seconds(30) } ?? false }
    }

    /// Whether any blob was uploaded here in the last 30 seconds.
    var uploadedAnyRecently: Bool {
        state.withLock { s in s.uploads.values.contains { ContinuousClock.now - $0 < .seconds(30) } }
    }

    /// Whether the host is a Harbor (`GET /api/v2.0/ping` answered 200), once asked.
    public var harbor: Bool? { state.withLock { $0.harbor } }

    func learnHarbor(_ isHarbor: Bool) {
        state.withLock { s in
            guard s.harbor == nil else { return }
            s.harbor = isHarbor
            if isHarbor { s.notes.append("kind: harbor (GET /api/v2.0/ping answered 200)") }
        }
    }

    /// What was learned, one line each, in the order it was.
    public var notes: [String] {
        var out = state.withLock { $0.notes }
        if let r = rateLimit.last { out.append("rate limit: \(r.remaining) of \(r.limit) left" + (r.window.map { " per \($0) s" } ?? "")) }
        return out
    }
}
