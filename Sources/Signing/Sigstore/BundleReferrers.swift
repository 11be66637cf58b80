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

    /// The bundles attached to the manifest `digest` of `image`.
    public static func list(_ digest: Digest, image: Reference, destination: @escaping @Sendable (Reference) -> any ImageDestination,
                            retry: Retrier) async throws -> [Found] {
        let dst = destination(image)
        let fallbackTag = AttachmentTag.fallback(for: digest)
        let listed: [Descriptor]
        switch try await retry.run("\(image.name)@\(digest): referrers", { try await dst.referrers(of: digest, limit: 1000) }) {
        case .api(let list, _): listed = list
        case .unsupported:
            let tagged = destination(image.withTag(fallbackTag))
            let index = try await retry.run("\(image.name):\(fallbackTag)") { try await tagged.manifestIfPresent(.tag(fallbackTag)) }
            listed = index.flatMap(ReferrersIndex.entries(of:)) ?? []
        }
        var out: [Found] = []
        for entry in listed where entry.artifactType == SigstoreBundle.mediaTypeV03 {
            guard let m = try? await dst.manifest(.digest(entry.digest)), case .image(let im)? = try? m.parsed(),
                  let layer = im.layers.first, layer.mediaType.rawValue == SigstoreBundle.mediaTypeV03, layer.size <= 1 << 20,
                  let bytes = try? await read(layer, from: dst) else { continue }
            out.append(Found(referrer: entry.digest, bundle: bytes))
        }
        return out
    }

    /// A small blob's bytes, its digest checked.
    static func read(_ d: Descriptor, from dst: any ImageDestination) async throws -> [UInt8] {
        let stream = try await dst.blob(d)
        var out: [UInt8] = []
        while let chunk = try await stream.next() {
            out += chunk
            guard out.count <= 1 << 20 else {
                stream.cancel()
                throw SignatureError.attachment("\(d.digest): larger than 1 MiB")
            }
        }
        guard Digest.sha256(of: out) == d.digest else { throw SignatureError.attachment("\(d.digest): digest mismatch") }
        return out
    }
}
