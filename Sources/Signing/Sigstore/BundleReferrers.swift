import Engine

/// The Sigstore bundles attached to a manifest in a repository: referrers whose `artifactType` is a bundle's, found
/// through the referrers API or, where the registry has none, the subject's fallback tag; each read whole (at most
/// 1 MiB) with its digest checked. What cannot be read is left out.
public enum BundleReferrers {
    /// One bundle attached to a manifest.
    public struct Found: Sendable {
        /// The referrer manifest holding it.
        public var referrer: Digest
        /// The bundle's JSON.
        public var bundle: [UInt8]
    }

    /// The most bundles read for one manifest.
    public static let maxBundles = 32

    /// The bundles attached to the manifest `digest` of `image`, read through `reading` (a repository per reference).
    public static func list(_ digest: Digest, image: Reference, reading: @escaping @Sendable (Reference) -> SignatureReading,
                            retry: Retrier) async throws -> [Found] {
        let repo = reading(image)
        let fallbackTag = AttachmentTag.fallback(for: digest)
        let listed: [Descriptor]
        switch try await retry.run("\(image.name)@\(digest): referrers", { try await repo.referrers(digest) }) {
        case .api(let list, _): listed = list
        case .unsupported:
            let tagged = reading(image.withTag(fallbackTag))
            let index = try await retry.run("\(image.name):\(fallbackTag)") { try await tagged.manifestIfPresent(.tag(fallbackTag)) }
            listed = index.flatMap(ReferrersIndex.entries(of:)) ?? []
        }
        var out: [Found] = []
        // At most `maxBundles` are read (a hostile source could list thousands, each up to 1 MiB).
        for entry in listed.filter({ $0.artifactType == SigstoreBundle.mediaTypeV03 }).prefix(maxBundles) {
            guard let m = try? await repo.manifestIfPresent(.digest(entry.digest)), case .image(let im)? = try? m.parsed(),
                  let layer = im.layers.first, layer.mediaType.rawValue == SigstoreBundle.mediaTypeV03,
                  let bytes = try? await repo.smallBlob(layer) else { continue }
            out.append(Found(referrer: entry.digest, bundle: bytes))
        }
        return out
    }

    /// The bundles attached to the manifest `digest` of `image` at a destination.
    public static func list(_ digest: Digest, image: Reference, destination: @escaping @Sendable (Reference) -> any ImageDestination,
                            retry: Retrier) async throws -> [Found] {
        try await list(digest, image: image, reading: { SignatureReading(destination: destination($0)) }, retry: retry)
    }
}
