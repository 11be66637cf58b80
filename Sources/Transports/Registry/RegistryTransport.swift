import Engine
import FoundationEssentials
import Synchronization

/// Reads images from a repository of a registry.
public struct RegistryImageSource: ImageSource {
    public let client: RegistryClient
    public let repository: String

    public init(client: RegistryClient, repository: String) {
        self.client = client
        self.repository = repository
    }

    public var location: RepositoryLocation { RepositoryLocation(storage: client.registry, repository: repository) }

    public func manifestDigest(_ identifier: ManifestIdentifier) async throws -> Digest? {
        try await client.headManifest(repository, identifier)?.digest
    }

    public func manifest(_ identifier: ManifestIdentifier) async throws -> RawManifest {
        try await client.manifest(repository, identifier)
    }

    public func blob(_ descriptor: Descriptor) async throws -> any BlobStream {
        client.blob(repository, descriptor)
    }

    public func tags() async throws -> [String]? { try await client.existingTags(repository) }

    public func referrers(of subject: Digest, artifactType: String?, limit: Int) async throws -> ReferrerListing {
        try await client.referrers(repository, of: subject, artifactType: artifactType, limit: limit)
    }

    public func manifestIfPresent(_ identifier: ManifestIdentifier) async throws -> RawManifest? {
        try await client.manifestIfPresent(repository, identifier)
    }
}

/// Writes images to a repository of a registry.
public final class RegistryImageDestination: ImageDestination {
    public let client: RegistryClient
    public let repository: String
    /// Upload sessions a refused mount opened, kept for the upload that follows.
    private let sessions = Mutex<[Digest: URL]>([:])

    public init(client: RegistryClient, repository: String) {
        self.client = client
        self.repository = repository
    }

    public var location: RepositoryLocation { RepositoryLocation(storage: client.registry, repository: repository) }

    /// A registry hashes what it receives and refuses a blob whose digest does not match (`DIGEST_INVALID`).
    public var checksBlobDigests: Bool { true }

    /// The host profile's `referrers:`, when it names one.
    public var referrersMode: ReferrersMode? { client.options.profile.referrers }

    public func blobExists(_ descriptor: Descriptor) async throws -> Bool {
        try await client.headBlob(repository, descriptor.digest) != nil
    }

    /// One request instead of a HEAD and then a POST: a mount from this same repository is answered 201 when the
    /// blob is here, and otherwise 202 with the upload session the following `putBlob` uses. (A registry that
    /// does not mount answers 202 too; the blob is then uploaded, which is what a HEAD would have led to unless it
    /// was already there.)
    ///
    /// Where the host's profile names a check (`blobCheck: head|get`) or mounts are off there, that check is
    /// asked instead: a self-mount is only as truthful as the registry's mounts.
    public func blobExistsOrPrepareUpload(_ descriptor: Descriptor) async throws -> Bool {
        if client.options.profile.blobCheck != nil || !client.mountsEnabled { return try await blobExists(descriptor) }
        // A registry that refuses mounts outright (even from the same repository) is asked plainly.
        if let found = try await mount(descriptor, from: repository) { return found }
        return try await blobExists(descriptor)
    }

    public func mountBlob(_ descriptor: Descriptor, from repository: String) async throws -> Bool {
        try await mount(descriptor, from: repository) ?? false
    }

    /// Asks for a mount: true when mounted, false when an upload session was opened (kept for `putBlob`), nil
    /// when the registry refused.
    private func mount(_ descriptor: Descriptor, from repository: String) async throws -> Bool? {
        switch try await client.mountBlob(self.repository, descriptor.digest, from: repository) {
        case .mounted:
            return true
        case .uploadSession(let url):
            sessions.withLock { $0[descriptor.digest] = url }
            return false
        case .refused:
            return nil
        }
    }

    public func putBlob(_ descriptor: Descriptor, from stream: any BlobStream) async throws {
        let session = sessions.withLock { $0.removeValue(forKey: descriptor.digest) }
        let once = OnceStream(stream)
        try await client.uploadBlob(repository, descriptor, session: session) { try once.take() }
    }

    public func manifestDigest(_ identifier: ManifestIdentifier) async throws -> Digest? {
        try await client.headManifest(repository, identifier)?.digest
    }

    public func manifest(_ identifier: ManifestIdentifier) async throws -> RawManifest {
        try await client.manifest(repository, identifier)
    }

    public func blob(_ descriptor: Descriptor) async throws -> any BlobStream {
        client.blob(repository, descriptor)
    }

    public func putManifest(_ manifest: RawManifest, as identifier: ManifestIdentifier) async throws {
        try await client.putManifest(repository, identifier, manifest)
    }

    public func tags() async throws -> [String]? { try await client.existingTags(repository) }

    public func referrers(of subject: Digest, limit: Int) async throws -> ReferrerListing {
        try await client.referrers(repository, of: subject, limit: limit)
    }

    public func manifestIfPresent(_ identifier: ManifestIdentifier) async throws -> RawManifest? {
        try await client.manifestIfPresent(repository, identifier)
    }

    /// Indexed when the registry answered `OCI-Subject` and serves the referrers API (learned by asking it once;
    /// the header alone is not trusted).
    public func putReferrer(_ manifest: RawManifest) async throws -> SubjectIndexing {
        let headers = try await client.putManifest(repository, .digest(manifest.digest), manifest)
        guard headers["OCI-Subject"] != nil else { return .notIndexed }
        if client.servesReferrersAPI == nil, let subject = ReferrersIndex.subject(of: manifest) {
            _ = try await client.referrers(repository, of: subject, limit: 1)
        }
        return client.servesReferrersAPI == true ? .indexed : .notIndexed
    }
}

extension RegistryClient {
    /// The manifest under `id`, or nil on a 404 (one GET).
    func manifestIfPresent(_ repository: String, _ id: ManifestIdentifier) async throws -> RawManifest? {
        do { return try await manifest(repository, id) } catch let e as RegistryError where e.isNotFound { return nil }
    }

    /// The repository's tags; none when the repository does not exist yet.
    func existingTags(_ repository: String) async throws -> [String] {
        do { return try await tags(repository) } catch let e as RegistryError where e.isNotFound { return [] }
    }
}

/// Hands out a stream once; a second request (an upload restart) fails, so the caller retries the whole blob.
final class OnceStream: Sendable {
    private let stream: Mutex<(any BlobStream)?>
    init(_ s: any BlobStream) { stream = Mutex(s) }
    func take() throws -> any BlobStream {
        guard let s = stream.withLock({ s -> (any BlobStream)? in defer { s = nil }; return s }) else {
            throw UploadRestart()
        }
        return s
    }
}

/// An upload that had to begin again (the registry refused the mode it was sent in, and the mode it asked for
/// is learned) after its one-shot source stream was consumed: the blob's transfer starts again at once, which
/// is not a failed attempt.
public struct UploadRestart: RestartRequest, TemporaryError, CustomStringConvertible {
    public var isTemporary: Bool { true }
    public var description: String { "the upload had to restart and its source stream was already consumed" }
}
