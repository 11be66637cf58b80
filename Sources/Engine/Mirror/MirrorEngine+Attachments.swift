import Synchronization

/// Carrying what is attached to images, and signing at the destination.
extension MirrorEngine {
    /// What happened to the attachments of one image.
    struct AttachmentOutcome: Sendable {
        var results: [AttachmentResult] = []
        var warnings: [String] = []
        /// Signatures added at the destination by the signer.
        var signed = 0

        var copiedSignatures: Int { results.filter { $0.status == .copied && $0.isSignature }.count }
    }

    /// Fetches the source repository's tag list into the run's cache ahead of discovery (failures are left for
    /// discovery to meet and report).
    func prefetchTags(of target: MirrorTarget, retry: Retrier) async {
        guard options.attachments.isEnabled else { return }
        let src = sources(target.source)
        _ = try? await tagLists.tags(of: src.location.description, AttachmentFinder.listing(src, target.source.name, retry))
    }

    /// The attachments of `subjects` (the source's top manifest and the kept platform manifests) at the source.
    func discoverAttachments(_ subjects: [Digest], target: MirrorTarget, retry: Retrier) async throws -> AttachmentFinder.Discovery {
        try await AttachmentFinder(policy: options.attachments, tagLists: tagLists, retry: retry)
            .find(subjects, image: target.source, sources: sources)
    }

    /// Carries the attachments found (`discovery`) whose subjects are at the destination (`available`: the
    /// manifests of the image written or found there), each after its subject, and returns what happened to
    /// each. `top` is the source's top manifest digest, `written` the destination's. Throws when any attachment
    /// failed, after carrying the others, so that the image fails and its tag does not move.
    func carryAttachments(_ discovery: AttachmentFinder.Discovery, target: MirrorTarget, available: Set<Digest>, top: Digest,
                          written: Digest, tally: Tally, retry: Retrier,
                          events: @escaping @Sendable (MirrorEvent) -> Void) async throws -> AttachmentOutcome
    {
        var outcome = AttachmentOutcome()
        outcome.warnings = discovery.warnings
        outcome.results = discovery.excluded.map { AttachmentResult($0.0, status: .skipped, reason: $0.1) }
        var available = available
        let depths = Set(discovery.found.map(\.depth)).sorted()
        for depth in depths {
            let bySubject = Dictionary(grouping: discovery.found.filter { $0.depth == depth }.map(\.attachment), by: \.subject)
            let results = try await withThrowingTaskGroup(of: [AttachmentResult].self) { group in
                for (subject, attachments) in bySubject.sorted(by: { $0.key < $1.key }) {
                    guard available.contains(subject) else {
                        let why = subject == top && top != written
                            ? "attached to the source index \(top), which the platform filter rewrote as \(written)"
                            : "its subject \(subject) was not copied"
                        outcome.results += attachments.map { AttachmentResult($0, status: .skipped, reason: why) }
                        continue
                    }
                    group.addTask {
                        try await self.carry(attachments, of: subject, target: target, tally: tally, retry: retry, events: events)
                    }
                }
                var all: [AttachmentResult] = []
                for try await r in group { all += r }
                return all
            }
            outcome.results += results
            // What the destination now holds by these digests can be a subject in turn (a merged cosign tag holds
            // another digest, so what is attached to the source's one stays behind).
            for r in results where (r.status == .copied || r.status == .present) && r.reason != Self.mergedReason {
                if let d = try? Digest(parsing: r.digest) { available.insert(d) }
            }
        }
        let left = outcome.results.filter { $0.status == .skipped && $0.reason?.hasPrefix("attached to the source index") == true }
        if !left.isEmpty {
            outcome.warnings.append("""
                \(left.count) attachment\(left.count == 1 ? "" : "s") of the source index \(top) (\(Set(left.map(\.type)).sorted().joined(separator: ", "))) \
                do not apply to the filtered index \(written) and \(left.count == 1 ? "was" : "were") left behind; \
                the platform manifests' attachments were carried
                """)
        }
        let failed = outcome.results.filter { $0.status == .failed }
        if !failed.isEmpty {
            throw AttachmentsFailed(results: outcome.results, warnings: outcome.warnings)
        }
        return outcome
    }

    /// Carries the attachments of one subject: referrers (listed at the destination or written there, then the
    /// fallback tag kept when the destination did not index them) and legacy cosign tags (merged into a
    /// different one already there, unless `overwrite`).
    private func carry(_ attachments: [Attachment], of subject: Digest, target: MirrorTarget, tally: Tally, retry: Retrier,
                       events: @escaping @Sendable (MirrorEvent) -> Void) async throws -> [AttachmentResult]
    {
        let src = sources(target.source)
        let dst = destinations(target.destination)
        var results: [AttachmentResult] = []
        let referrers = attachments.filter { $0.legacy == nil }
        if !referrers.isEmpty {
            results += await carryReferrers(referrers, of: subject, target: target, src: src, dst: dst, tally: tally,
                                            retry: retry, events: events)
        }
        for a in attachments {
            guard let kind = a.legacy else { continue }
            let tag = AttachmentTag.legacy(kind, for: subject)
            do {
                let tagged = destinations(target.destination.withTag(tag))
                let have = try await retry.run("\(target.destination.name):\(tag)") { try await tagged.manifestDigest(.tag(tag)) }
                if have == a.descriptor.digest {
                    results.append(AttachmentResult(a, status: .present))
                    continue
                }
                let m = try await retry.run("\(target.source.name):\(tag)") { try await src.manifest(.digest(a.descriptor.digest)) }
                try await pushBlobs(of: m, src: src, dst: dst, tally: tally, retry: retry, events: events)
                let wrote = try await SignatureAttachment.store(m, tag: tag, at: tagged, have: have, merge: !options.overwrite, retry: retry)
                // Merged into a different one already there: the tag now holds a new manifest, not this digest.
                let merged = have != nil && !options.overwrite
                results.append(AttachmentResult(a, status: wrote ? .copied : .present, reason: merged ? Self.mergedReason : nil))
            } catch {
                if error is CancellationError || Task.isCancelled { throw error }
                results.append(AttachmentResult(a, status: .failed, reason: "\(error)"))
            }
        }
        return results
    }

    /// Carries referrers of one subject; see `carry`.
    private func carryReferrers(_ referrers: [Attachment], of subject: Digest, target: MirrorTarget, src: any ImageSource,
                                dst: any ImageDestination, tally: Tally, retry: Retrier,
                                events: @escaping @Sendable (MirrorEvent) -> Void) async -> [AttachmentResult]
    {
        let mode = dst.referrersMode ?? options.referrersMode
        let fallbackTag = AttachmentTag.fallback(for: subject)
        let tagged = destinations(target.destination.withTag(fallbackTag))
        // What the destination lists for the subject already.
        let listed: Set<Digest>
        let hasAPI: Bool
        do {
            let listing: ReferrerListing = mode == .tag
                ? .unsupported
                : try await retry.run("\(target.destination.name)@\(subject): referrers") {
                    try await dst.referrers(of: subject, limit: options.attachments.maxReferrers * 2)
                }
            switch listing {
            case .api(let list, _):
                hasAPI = true
                listed = Set(list.map(\.digest))
            case .unsupported:
                if mode == .api {
                    return referrers.map {
                        AttachmentResult($0, status: .failed, reason: "\(target.destination.name) has no referrers API (--referrers-mode api)")
                    }
                }
                hasAPI = false
                let index = try await ReferrersFallback.read(fallbackTag, at: tagged, retry: retry)
                listed = Set(index.flatMap(ReferrersIndex.entries(of:))?.map(\.digest) ?? [])
            }
        } catch {
            return referrers.map { AttachmentResult($0, status: .failed, reason: "\(error)") }
        }
        // Write what is not listed, each after its own blobs (and children, for an index).
        let written = await withTaskGroup(of: (Attachment, Result<ReferrerWrite, any Error>).self) { group in
            for a in referrers where !listed.contains(a.descriptor.digest) {
                group.addTask {
                    do {
                        // A list entry whose manifest is gone (a stale fallback index after garbage collection) or
                        // that names another subject is left out, not failed.
                        guard let m = try await retry.run("\(target.source.name)@\(a.descriptor.digest)", {
                            try await src.manifestIfPresent(.digest(a.descriptor.digest))
                        }) else { return (a, .success(.left("listed for \(subject), but the source has no such manifest"))) }
                        guard ReferrersIndex.subject(of: m) == subject else {
                            return (a, .success(.left("listed for \(subject), but the manifest names another subject")))
                        }
                        try await self.pushContent(of: m, src: src, dst: dst, tally: tally, retry: retry, events: events)
                        let indexing = try await retry.run("\(target.destination.name)@\(m.digest): put referrer") { try await dst.putReferrer(m) }
                        return (a, .success(.wrote(try ReferrersIndex.entry(for: m), indexing)))
                    } catch {
                        return (a, .failure(error))
                    }
                }
            }
            var out: [(Attachment, Result<ReferrerWrite, any Error>)] = []
            for await r in group { out.append(r) }
            return out
        }
        var results = referrers.filter { listed.contains($0.descriptor.digest) }.map { AttachmentResult($0, status: .present) }
        var needTag: [(Attachment, Descriptor)] = []
        for (a, r) in written {
            switch r {
            case .success(.left(let why)):
                results.append(AttachmentResult(a, status: .skipped, reason: why))
            case .success(.wrote(let entry, let indexing)):
                if mode == .tag || !hasAPI || indexing == .notIndexed {
                    if mode == .api {
                        results.append(AttachmentResult(a, status: .failed, reason: "\(target.destination.name) did not index the subject (no OCI-Subject) and --referrers-mode is api"))
                    } else {
                        needTag.append((a, entry))
                    }
                } else {
                    results.append(AttachmentResult(a, status: .copied))
                }
            case .failure(let error):
                results.append(AttachmentResult(a, status: .failed, reason: "\(error)"))
            }
        }
        if !needTag.isEmpty {
            // In digest order: what a planner that predicts the fallback index (save while archiving) assumes.
            needTag.sort { $0.1.digest < $1.1.digest }
            do {
                try await ReferrersFallback.add(needTag.map(\.1), subject: subject, tagged: tagged, retry: retry)
                results += needTag.map { AttachmentResult($0.0, status: .copied) }
            } catch {
                results += needTag.map { AttachmentResult($0.0, status: .failed, reason: "fallback tag \(fallbackTag): \(error)") }
            }
        }
        return results
    }

    /// Makes what `manifest` (at `depth` in its tree) references present at the destination: an image's blobs,
    /// or an index's children, each pushed whole (`pushTree`).
    func pushContent(of manifest: RawManifest, depth: Int = 1, src: any ImageSource, dst: any ImageDestination, tally: Tally,
                     retry: Retrier, events: @escaping @Sendable (MirrorEvent) -> Void) async throws {
        switch try manifest.parsed() {
        case .image:
            try await pushBlobs(of: manifest, src: src, dst: dst, tally: tally, retry: retry, events: events)
        case .index(let index):
            try await withThrowingTaskGroup(of: Void.self) { group in
                for child in index.manifests {
                    group.addTask {
                        try await self.pushTree(child.digest, depth: depth + 1, src: src, dst: dst, tally: tally, retry: retry, events: events)
                    }
                }
                try await group.waitForAll()
            }
        case .schema1:
            throw CopyError.schema1("\(src.location)@\(manifest.digest)")
        }
    }

    /// The report's note on a cosign tag merged into the destination's own.
    static let mergedReason = "merged into the cosign tag the destination had"

    /// Signs the image at the destination when a signer is set; returns the number of signatures added.
    func sign(_ target: MirrorTarget, written: Digest, children: [Digest], retry: Retrier) async throws -> Int {
        guard let signer else { return 0 }
        let destinations = self.destinations
        return try await retry.run("\(target.destination): sign") {
            try await signer.sign([written] + children, as: target.destination, destination: destinations)
        }
    }
}

/// Attachments of an image that could not be carried: the image fails (its tag does not move) and the report
/// lists what happened to each attachment, with its reason.
public struct AttachmentsFailed: Error, Sendable, CustomStringConvertible {
    /// Every attachment of the image, the failed ones among them.
    public let results: [AttachmentResult]
    public let warnings: [String]

    public var description: String {
        let failed = results.filter { $0.status == .failed }
        let first = failed.prefix(3).map { "\($0.digest) (\($0.type), attached to \($0.subject)): \($0.reason ?? "failed")" }
        return "\(failed.count) attachment\(failed.count == 1 ? "" : "s") could not be copied: \(first.joined(separator: "; "))\(failed.count > 3 ? "; …" : "")"
    }
}

/// What writing one referrer came to.
enum ReferrerWrite: Sendable {
    /// Stored, with its referrers-list entry and whether the destination indexed its subject.
    case wrote(Descriptor, SubjectIndexing)
    /// Left out, for the reason given.
    case left(String)
}
