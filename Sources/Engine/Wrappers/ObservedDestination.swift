/// A destination that reports each blob as soon as it is known to be complete there: found, mounted or
/// stored. Used to start work on a blob (such as archiving it) while the rest of the run goes on.
public struct ObservedDestination: ImageDestination {
    public let inner: any ImageDestination
    /// Called with the digest of every blob that is complete at the destination (possibly more than once).
    public let present: @Sendable (Digest) -> Void

    public init(_ inner: any ImageDestination, present: @escaping @Sendable (Digest) -> Void) {
        self.inner = inner
        self.present = present
    }

    public var location: RepositoryLocation { inner.location }
    public var checksBlobDigests: Bool { inner.checksBlobDigests }
    public var referrersMode: ReferrersMode? { inner.referrersMode }

    public func blobExists(_ descriptor: Descriptor) async throws -> Bool {
        let found = try await inner.blobExists(descriptor)
        if found { present(descriptor.digest) }
        return found
    }

    public func blobExistsOrPrepareUpload(_ descriptor: Descriptor) async throws -> Bool {
        let found = try await inner.blobExistsOrPrepareUpload(descriptor)
        if found { present(descriptor.digest) }
        return found
    }

    public func mountBlob(_ descriptor: Descriptor, from repository: String) async throws -> Bool {
        let mounted = try await inner.mountBlob(descriptor, from: repository)
        if mounted { present(descriptor.digest) }
        return mounted
    }

    public func putBlob(_ descriptor: Descriptor, from stream: any BlobStream) async throws {
        try await inner.putBlob(descriptor, from: stream)
        present(descriptor.digest)
    }

    public func manifestDigest(_ identifier: ManifestIdentifier) async throws -> Digest? {
        try await inner.manifestDigest(identifier)
    }

    public func manifest(_ identifier: ManifestIdentifier) async throws -> RawManifest {
        try await inner.manifest(identifier)
    }

    public func blob(_ descriptor: Descriptor) async throws -> any BlobStream {
        try await inner.blob(descriptor)
    }

    public func putManifest(_ manifest: RawManifest, as identifier: ManifestIdentifier) async throws {
        try await inner.putManifest(manifest, as: identifier)
    }

    public func tags() async throws -> [String]? { try await inner.tags() }

    public func manifestIfPresent(_ identifier: ManifestIdentifier) async throws -> RawManifest? {
        try await inner.manifestIfPresent(identifier)
    }

    public func referrers(of subject: Digest, limit: Int) async throws -> ReferrerListing {
        try await inner.referrers(of: subject, limit: limit)
    }

    public func putReferrer(_ manifest: RawManifest) async throws -> SubjectIndexing {
        try await inner.putReferrer(manifest)
    }
}
