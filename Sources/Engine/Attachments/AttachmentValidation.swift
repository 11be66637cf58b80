/// Checks that what is attached to an image at its source is attached to it at a destination: the same finder
/// runs on both sides, and every attachment the policy takes must be found at the destination for the same
/// subject (a referrer listed by the API or the fallback tag; a cosign tag holding the same manifest, or one
/// merged with signatures the destination had).
public enum AttachmentValidation {
    /// One line per attachment of `subjects` at `source` that `destination` lacks; empty when nothing is missing.
    /// Both sides are read through `ImageSource`s (a destination registry, layout or archive read back).
    public static func missing(_ subjects: [Digest], source: Reference, sources: @escaping @Sendable (Reference) -> any ImageSource,
                               destination: Reference, destinations: @escaping @Sendable (Reference) -> any ImageSource,
                               policy: AttachmentPolicy, retry: Retrier) async throws -> [String]
    {
        guard policy.isEnabled else { return [] }
        async let there = AttachmentFinder(policy: policy, retry: retry).find(subjects, image: destination, sources: destinations)
        let here = try await AttachmentFinder(policy: policy, retry: retry).find(subjects, image: source, sources: sources)
        let found = try await there
        var listed = Set<String>()
        var legacy: [String: Digest] = [:]
        for f in found.found {
            let a = f.attachment
            if let kind = a.legacy { legacy["\(a.subject) \(kind)"] = a.descriptor.digest } else { listed.insert("\(a.subject) \(a.descriptor.digest)") }
        }
        var problems: [String] = []
        for f in here.found {
            let a = f.attachment
            guard let kind = a.legacy else {
                if !listed.contains("\(a.subject) \(a.descriptor.digest)") {
                    problems.append("\(a.type) \(a.descriptor.digest) of \(a.subject) is missing")
                }
                continue
            }
            guard let have = legacy["\(a.subject) \(kind)"] else {
                problems.append("cosign .\(kind.rawValue) of \(a.subject) is missing")
                continue
            }
            guard have != a.descriptor.digest else { continue }
            // Merged into what the destination had: it must hold every layer of the source's.
            let tag = AttachmentTag.legacy(kind, for: a.subject)
            let mine = try await retry.run("\(source.name):\(tag)") { try await sources(source.withTag(tag)).manifest(.digest(a.descriptor.digest)) }
            let theirs = try await retry.run("\(destination.name):\(tag)") { try await destinations(destination.withTag(tag)).manifest(.digest(have)) }
            if try SignatureAttachment.merging(mine, into: theirs) != nil {
                problems.append("cosign .\(kind.rawValue) of \(a.subject) lacks some of the source's layers")
            }
        }
        return problems
    }
}
