import Synchronization

/// Finds what is attached to an image's manifests at its source: referrers (by the referrers API, or by the
/// fallback tag where the medium has none) and cosign's legacy `.sig`, `.att` and `.sbom` tags, and, recursively,
/// what is attached to those (a signature on an SBOM).
///
/// Cost: one tag list per repository for the whole run answers every fallback and legacy tag at once (a medium
/// that cannot list tags is asked for each tag instead); a registry with the referrers API is asked once per
/// manifest. Attachment manifests are not fetched here: the listing names their digests, and the copy fetches
/// only what the destination lacks.
public struct AttachmentFinder: Sendable {
    public let policy: AttachmentPolicy
    let tagLists: TagListCache
    let retry: Retrier

    public init(policy: AttachmentPolicy, tagLists: TagListCache = TagListCache(), retry: Retrier) {
        self.policy = policy
        self.tagLists = tagLists
        self.retry = retry
    }

    /// What was found for one image.
    public struct Discovery: Sendable {
        /// Attachments to carry, each after its subject (by depth: attached to the image's manifests first).
        public var found: [Found] = []
        /// Attachments the policy leaves out, with the reason.
        public var excluded: [(Attachment, String)] = []
        /// What the log should say (truncated lists, unreadable fallback indexes).
        public var warnings: [String] = []

        public init() {}
    }

    /// One attachment to carry.
    public struct Found: Sendable {
        public var attachment: Attachment
        /// 1 for an attachment of the image's own manifests, 2 for one attached to such an attachment, and so on.
        public var depth: Int
    }

    /// The attachments of `subjects` (the image's manifests) in the repository of `image` at the source.
    public func find(_ subjects: [Digest], image: Reference, sources: @escaping @Sendable (Reference) -> any ImageSource)
        async throws -> Discovery
    {
        var discovery = Discovery()
        guard policy.isEnabled, !subjects.isEmpty else { return discovery }
        let src = sources(image)
        // A repository whose tags cannot be listed (a pull-only credential without list rights) is asked for each
        // attachment tag instead, with a warning; a temporary failure that outlasts the retries fails the image.
        let tags: Set<String>?
        do {
            tags = try await tagLists.tags(of: src.location.description, Self.listing(src, image.name, retry))
        } catch where !error.isTemporaryFailure && !(error is CancellationError) && !Task.isCancelled {
            discovery.warnings.append("\(image.name): tags cannot be listed (\(error)); each attachment tag is asked for instead")
            tags = nil
        }
        var seen = Set(subjects)
        var level = subjects
        var depth = 1
        while !level.isEmpty, depth <= policy.maxDepth {
            let listed = try await withThrowingTaskGroup(of: Listing.self) { group in
                for d in level {
                    group.addTask { try await self.attachments(of: d, image: image, tags: tags, sources: sources) }
                }
                var all: [Listing] = []
                for try await l in group { all.append(l) }
                return all.sorted { $0.subject < $1.subject }
            }
            var next: [Digest] = []
            for l in listed {
                discovery.warnings += l.warnings
                for a in l.attachments where seen.insert(a.descriptor.digest).inserted {
                    if let why = policy.exclusion(a) {
                        discovery.excluded.append((a, why))
                    } else {
                        discovery.found.append(Found(attachment: a, depth: depth))
                        next.append(a.descriptor.digest)
                    }
                }
            }
            level = next
            depth += 1
        }
        return discovery
    }

    /// The fetch of a source's tag list, retried (shared by discovery and the engine's prefetch).
    public static func listing(_ src: any ImageSource, _ name: String, _ retry: Retrier) -> @Sendable () async throws -> Set<String>? {
        { try await retry.run("\(name): tags") { try await src.tags() }.map(Set.init) }
    }

    private struct Listing: Sendable {
        var subject: Digest
        var attachments: [Attachment] = []
        var warnings: [String] = []
    }

    /// What is attached to one manifest.
    private func attachments(of subject: Digest, image: Reference, tags: Set<String>?,
                             sources: @escaping @Sendable (Reference) -> any ImageSource) async throws -> Listing {
        var out = Listing(subject: subject)
        let src = sources(image)
        // Whether a tag may exist: the list says so, or there is no list (then it is asked for).
        func mayHave(_ tag: String) -> Bool { tags?.contains(tag) ?? true }
        // Referrers: the API, else the fallback tag.
        switch try await retry.run("\(image.name)@\(subject): referrers", { try await src.referrers(of: subject, artifactType: policy.serverFilter, limit: policy.maxReferrers) }) {
        case .api(let list, let truncated):
            out.attachments += list.map { Attachment(subject: subject, descriptor: $0, origin: .api) }
            if truncated { out.warnings.append(Self.tooMany(subject, policy.maxReferrers)) }
        case .unsupported:
            let tag = AttachmentTag.fallback(for: subject)
            if mayHave(tag) {
                let tagged = sources(image.withTag(tag))
                do {
                    if let index = try await retry.run("\(image.name):\(tag)", { try await tagged.manifestIfPresent(.tag(tag)) }) {
                        // A "fallback tag" that resolves to the image itself (GitLab) or to anything but an
                        // index lists nothing.
                        if index.digest != subject, var entries = ReferrersIndex.entries(of: index) {
                            if entries.count > policy.maxReferrers {
                                out.warnings.append(Self.tooMany(subject, policy.maxReferrers))
                                entries = Array(entries.prefix(policy.maxReferrers))
                            }
                            out.attachments += entries.map { Attachment(subject: subject, descriptor: $0, origin: .fallbackTag) }
                        }
                    }
                } catch where !error.isTemporaryFailure && !(error is CancellationError) {
                    out.warnings.append("\(image.name):\(tag): the fallback tag cannot be read (\(error)); taken as no referrers")
                }
            }
        }
        // cosign's legacy tags.
        for kind in AttachmentTag.Legacy.allCases {
            let tag = AttachmentTag.legacy(kind, for: subject)
            guard mayHave(tag) else { continue }
            let tagged = sources(image.withTag(tag))
            guard let d = try await retry.run("\(image.name):\(tag)", { try await tagged.manifestDigest(.tag(tag)) }) else { continue }
            out.attachments.append(Attachment(subject: subject, descriptor: Descriptor(mediaType: .ociManifest, digest: d, size: -1),
                                              legacy: kind, origin: .legacyTag))
        }
        return out
    }

    private static func tooMany(_ subject: Digest, _ limit: Int) -> String {
        "\(subject) has more than \(limit) referrers; the first \(limit) are taken (--max-referrers)"
    }
}

/// Tag lists of repositories (as sets: a repository may hold thousands), fetched once per run each (concurrent askers share one request).
///
/// An asker that is cancelled (its image timed out) stops waiting at once; the fetch itself is cancelled when no
/// asker is left. A failed fetch is forgotten, so the next asker tries again.
public final class TagListCache: Sendable {
    private let entries = Mutex<[String: Entry]>([:])

    public init() {}

    /// The list for `key`, fetched with `fetch` by the first asker.
    public func tags(of key: String, _ fetch: @escaping @Sendable () async throws -> Set<String>?) async throws -> Set<String>? {
        while true {
            let entry = entries.withLock { e in
                if let found = e[key] { return found }
                let made = Entry()
                e[key] = made
                let forget: @Sendable () -> Void = { [weak self] in self?.entries.withLock { e in if e[key] === made { e[key] = nil } } }
                made.start(forget: forget) {
                    let r = await Result { try await fetch() }
                    if case .failure = r { forget() }
                    return r
                }
                return made
            }
            do {
                return try await entry.value()
            } catch is CancellationError where !Task.isCancelled {
                // The fetch was abandoned by the askers before this one (their images timed out): ask again.
                continue
            }
        }
    }

    /// One fetch and the askers waiting for it.
    private final class Entry: Sendable {
        private struct State {
            var result: Result<Set<String>?, any Error>?
            var waiting: [Int: CheckedContinuation<Set<String>?, any Error>] = [:]
            var next = 0
            var task: Task<Void, Never>?
            var forget: (@Sendable () -> Void)?
        }
        private let state = Mutex(State())

        func start(forget: @escaping @Sendable () -> Void, _ fetch: @escaping @Sendable () async -> Result<Set<String>?, any Error>) {
            state.withLock { $0.forget = forget }
            let task = Task {
                let r = await fetch()
                let waiting = state.withLock { s in
                    s.result = r
                    defer { s.waiting = [:] }
                    return s.waiting
                }
                for c in waiting.values { c.resume(with: r) }
            }
            state.withLock { $0.task = task }
        }

        func value() async throws -> Set<String>? {
            let id = state.withLock { s in
                defer { s.next += 1 }
                return s.next
            }
            return try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { c in
                    let ready: Result<Set<String>?, any Error>? = state.withLock { s in
                        if let r = s.result { return r }
                        if Task.isCancelled { return .failure(CancellationError()) }
                        s.waiting[id] = c
                        return nil
                    }
                    if let ready { c.resume(with: ready) }
                }
            } onCancel: {
                let (left, last, task, forget) = state.withLock { s in
                    let c = s.waiting.removeValue(forKey: id)
                    return (c, c != nil && s.waiting.isEmpty && s.result == nil, s.task, s.forget)
                }
                left?.resume(throwing: CancellationError())
                // The last waiter gone: the fetch is dropped from the cache first (a new asker starts afresh),
                // then cancelled.
                if last {
                    forget?()
                    task?.cancel()
                }
            }
        }
    }
}

extension Result where Failure == any Error {
    /// The result of an async throwing body.
    init(_ body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}
