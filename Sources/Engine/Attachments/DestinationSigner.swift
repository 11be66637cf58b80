/// Signs images at their destination once they are complete there (`mirror --sigstore-private-key`).
///
/// The engine calls it for every image that is complete at its destination, copied now or found there, after the
/// source's signatures were carried over; an implementation adds nothing for a digest it has already signed, so
/// re-runs are cheap and a failed signing is retried by re-running the failed list.
public protocol DestinationSigner: Sendable {
    /// Signs `digests` (the manifest under the destination tag first, then each copied platform manifest) as the
    /// image `reference`, reading and writing signature tags through `destination`. Returns the number of
    /// signatures added.
    func sign(_ digests: [Digest], as reference: Reference,
              destination: @escaping @Sendable (Reference) -> any ImageDestination) async throws -> Int
}

/// What a mirror does with the signatures (`.sig` attachments) of source images.
public enum SignatureHandling: Sendable {
    /// Copy them with the image, digests preserved; merge into signatures already at the destination.
    case copy
    /// Leave them behind (`--remove-signatures`).
    case remove
}
