/// Carrying signatures with images, and signing at the destination.
extension MirrorEngine {
    /// What happened to signatures for one image.
    struct SignatureOutcome: Sendable {
        var copied = 0
        var added = 0
        var warning: String?
    }

    /// Copies the source's signatures of the manifests that were written unchanged, then signs the image at the
    /// destination when a signer is set. `top` is the source's top manifest digest, `written` the destination's,
    /// `children` the copied platform manifests.
    func finishSignatures(_ target: MirrorTarget, top: Digest, written: Digest, children: [Digest], tally: Tally,
                          retry: Retrier, events: @escaping @Sendable (MirrorEvent) -> Void) async throws -> SignatureOutcome {
        var outcome = SignatureOutcome()
        if options.signatures == .copy {
            let unchanged = (top == written ? [top] : []) + children
            outcome.copied = try await withThrowingTaskGroup(of: Int.self) { group in
                for d in unchanged {
                    group.addTask {
                        try await self.copySignature(of: d, target: target, tally: tally, retry: retry, events: events) ? 1 : 0
                    }
                }
                return try await group.reduce(0, +)
            }
            if top != written {
                let tag = SignatureAttachment.tag(for: top)
                let src = sources(target.source.withTag(tag))
                if try await retry.run("\(target.source): signatures", { try await src.manifestDigest(.tag(tag)) }) != nil {
                    outcome.warning = """
                        the source's signatures of index \(top) do not apply to the filtered index \(written); \
                        the platform manifests' signatures were copied
                        """
                }
            }
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

    /// Copies the signature attachment of `digest` when the source has one the destination lacks; merges it into
    /// a different one already there (replaces it with `overwrite`). Returns whether anything was written.
    private func copySignature(of digest: Digest, target: MirrorTarget, tally: Tally, retry: Retrier,
                               events: @escaping @Sendable (MirrorEvent) -> Void) async throws -> Bool {
        let tag = SignatureAttachment.tag(for: digest)
        let src = sources(target.source.withTag(tag))
        let dst = destinations(target.destination.withTag(tag))
        guard let found = try await retry.run("\(target.source): signatures of \(digest)", { try await src.manifestDigest(.tag(tag)) })
        else { return false }
        if try await retry.run("\(target.destination): signatures of \(digest)", { try await dst.manifestDigest(.tag(tag)) }) == found {
            return false
        }
        let attachment = try await retry.run("\(target.source): \(tag)") { try await src.manifest(.digest(found)) }
        try await pushBlobs(of: attachment, src: src, dst: dst, tally: tally, retry: retry, events: events)
        return try await SignatureAttachment.store(attachment, tag: tag, at: dst, merge: !options.overwrite, retry: retry)
    }
}
