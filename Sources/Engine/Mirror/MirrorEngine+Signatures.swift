/// Carrying signatures with images, and signing at the destination.
extension MirrorEngine {
    /// What happened to signatures for one image.
    struct SignatureOutcome: Sendable {
        var copied = 0
        var added = 0
        var warning: String?
    }

    /// The source's signature attachments of `digests`: manifest digest → attachment digest, for those that
    /// have one. Looked up all at once (one round trip), while the destination is being checked.
    func sourceSignatures(of digests: [Digest], target: MirrorTarget, retry: Retrier) async throws -> [Digest: Digest] {
        guard options.signatures == .copy else { return [:] }
        return try await SignatureAttachment.find(digests, of: target.source, in: sources, retry: retry)
    }

    /// Copies the source's signatures (`found`, from `sourceSignatures`) of the manifests written unchanged,
    /// then signs the image at the destination when a signer is set. `top` is the source's top manifest digest,
    /// `written` the destination's, `children` the copied platform manifests.
    func finishSignatures(_ target: MirrorTarget, found: [Digest: Digest], top: Digest, written: Digest, children: [Digest],
                          tally: Tally, retry: Retrier, events: @escaping @Sendable (MirrorEvent) -> Void) async throws
        -> SignatureOutcome
    {
        var outcome = SignatureOutcome()
        let unchanged = ((top == written ? [top] : []) + children).compactMap { d in found[d].map { (d, $0) } }
        outcome.copied = try await withThrowingTaskGroup(of: Int.self) { group in
            for (d, sig) in unchanged {
                group.addTask {
                    try await self.copySignature(sig, of: d, target: target, tally: tally, retry: retry, events: events) ? 1 : 0
                }
            }
            return try await group.reduce(0, +)
        }
        if top != written, found[top] != nil {
            outcome.warning = """
                the source's signatures of index \(top) do not apply to the filtered index \(written); \
                the platform manifests' signatures were copied
                """
        }
        if let signer {
            let sign = [written] + children
            let destinations = self.destinations
            outcome.added = try await retry.run("\(target.destination): sign") {
                try await signer.sign(sign, as: target.destination, destination: destinations)
            }
        }
        return outcome
    }

    /// Copies the source's signature attachment `found` of `digest` when the destination lacks it; merges it into
    /// a different one already there (replaces it with `overwrite`). Returns whether anything was written.
    private func copySignature(_ found: Digest, of digest: Digest, target: MirrorTarget, tally: Tally, retry: Retrier,
                               events: @escaping @Sendable (MirrorEvent) -> Void) async throws -> Bool {
        let tag = SignatureAttachment.tag(for: digest)
        let src = sources(target.source.withTag(tag))
        let dst = destinations(target.destination.withTag(tag))
        let have = try await retry.run("\(target.destination): signatures of \(digest)") { try await dst.manifestDigest(.tag(tag)) }
        if have == found { return false }
        let attachment = try await retry.run("\(target.source): \(tag)") { try await src.manifest(.digest(found)) }
        try await pushBlobs(of: attachment, src: src, dst: dst, tally: tally, retry: retry, events: events)
        return try await SignatureAttachment.store(attachment, tag: tag, at: dst, have: have, merge: !options.overwrite, retry: retry)
    }
}
