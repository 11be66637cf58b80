/// A stream of blob bytes, pulled chunk by chunk.
///
/// `next()` returns `nil` at the end. A stream is read by one task at a time; `cancel()` may be called from any
/// task and makes a pending or later `next()` throw.
public protocol BlobStream: Sendable {
    /// The next chunk of bytes, or nil when the blob is complete.
    func next() async throws -> [UInt8]?
    /// Abandons the stream and releases its connection.
    func cancel()
}

/// Where an image's content lives, for deciding whether a blob can be mounted instead of copied.
public struct RepositoryLocation: Hashable, Sendable, CustomStringConvertible {
    /// A key identifying the storage: for registries the registry host, for layouts the folder path.
    public var storage: String
    /// The repository within that storage.
    public var repository: String

    public init(storage: String, repository: String) {
        self.storage = storage
        self.repository = repository
    }

    public var description: String { "\(storage)/\(repository)" }
}

/// Somewhere images are read from.
///
/// Call order: `manifest(_:)` for the reference's tag or digest, then, for an index, `manifest(_:)` for each child
/// by digest, then `blob(_:)` for each blob a manifest references. Attachments are found with `tags()` (fallback
/// and legacy cosign tags, all at once) and `referrers(of:)` (the referrers API, where the medium has one). Every
/// call may run concurrently with others.
public protocol ImageSource: Sendable {
    /// Where this source reads from.
    var location: RepositoryLocation { get }
    /// The digest the source holds under an identifier, or nil when it holds nothing there.
    func manifestDigest(_ identifier: ManifestIdentifier) async throws -> Digest?
    /// Fetches a manifest by tag or digest. Fetches by digest are verified against the digest.
    func manifest(_ identifier: ManifestIdentifier) async throws -> RawManifest
    /// Opens a blob for streaming. The bytes are *not* verified here: the copier verifies them as they pass.
    func blob(_ descriptor: Descriptor) async throws -> any BlobStream
    /// Every tag of the source's repository, or nil when the medium cannot list them (callers then ask for each
    /// tag they look for). The default is nil.
    func tags() async throws -> [String]?
    /// The referrers of `subject` as the medium's referrers API lists them (at most `limit`; only those of
    /// `artifactType` when given and the registry filters, so callers filter again), or `.unsupported` when it
    /// has none (callers then read the fallback tag). The default is `.unsupported`.
    func referrers(of subject: Digest, artifactType: String?, limit: Int) async throws -> ReferrerListing
    /// The manifest under `identifier`, or nil when there is none, in one request where the medium can (a
    /// registry's GET answering 404). The default asks `manifestDigest(_:)`, then `manifest(_:)` by digest.
    func manifestIfPresent(_ identifier: ManifestIdentifier) async throws -> RawManifest?
}

extension ImageSource {
    public func manifestIfPresent(_ identifier: ManifestIdentifier) async throws -> RawManifest? {
        guard let d = try await manifestDigest(identifier) else { return nil }
        return try await manifest(.digest(d))
    }

    public func tags() async throws -> [String]? { nil }
    public func referrers(of subject: Digest, artifactType: String?, limit: Int) async throws -> ReferrerListing { .unsupported }
}

/// What a medium's referrers API says about a manifest.
public enum ReferrerListing: Sendable {
    /// The list (complete unless `truncated`: more than the limit asked for).
    case api([Descriptor], truncated: Bool)
    /// The medium has no referrers API: the fallback tag holds the list, if anything does.
    case unsupported
}

/// Whether a medium indexed a manifest's `subject` when it stored the manifest.
public enum SubjectIndexing: Sendable, Equatable {
    /// It did (a registry answered `OCI-Subject`): the referrers API lists it.
    case indexed
    /// It did not: the writer maintains the fallback tag.
    case notIndexed
}

/// Somewhere images are written to.
///
/// Call order for one image: for each blob, `blobExists(_:)` (or `blobExistsOrPrepareUpload(_:)` when a missing
/// blob will be uploaded next), then if missing `mountBlob(_:from:)` (when source and destination share storage) or
/// `putBlob(_:from:)`; then `putManifest(_:as:)` for each child manifest by digest, and last the top-level manifest
/// by tag, so that a tag never points at incomplete content.
public protocol ImageDestination: Sendable {
    /// Where this destination writes to.
    var location: RepositoryLocation { get }
    /// Whether the destination refuses a blob whose bytes do not match its digest (registries do, as the
    /// distribution spec requires), so a copier need only check lengths. The default is false.
    var checksBlobDigests: Bool { get }
    /// How referrers are written here when the medium says (a registry profile's `referrers:`); nil: the run's
    /// `--referrers-mode`.
    var referrersMode: ReferrersMode? { get }
    /// Whether the destination already holds the blob.
    func blobExists(_ descriptor: Descriptor) async throws -> Bool
    /// Whether the destination already holds the blob; when it does not, the destination may get ready to receive
    /// it in the same step (a registry opens the upload session with the question), so call it only right before
    /// `putBlob(_:from:)`. The default asks `blobExists(_:)`.
    func blobExistsOrPrepareUpload(_ descriptor: Descriptor) async throws -> Bool
    /// Makes a blob present without transferring it, from another repository of the same storage. Returns false
    /// when the storage refused (the caller then copies).
    func mountBlob(_ descriptor: Descriptor, from repository: String) async throws -> Bool
    /// Stores a blob read from `stream`; the stream yields exactly `descriptor.size` bytes whose digest was checked
    /// before the last chunk was handed over.
    func putBlob(_ descriptor: Descriptor, from stream: any BlobStream) async throws
    /// The digest the destination holds under an identifier, or nil when it holds nothing there.
    func manifestDigest(_ identifier: ManifestIdentifier) async throws -> Digest?
    /// Reads back a manifest the destination holds (to merge into an existing index).
    func manifest(_ identifier: ManifestIdentifier) async throws -> RawManifest
    /// Reads back a blob the destination holds (signature payloads, to avoid signing twice). Not verified here.
    func blob(_ descriptor: Descriptor) async throws -> any BlobStream
    /// Stores a manifest under its digest or a tag.
    func putManifest(_ manifest: RawManifest, as identifier: ManifestIdentifier) async throws
    /// Every tag of the destination's repository (none when it does not exist), or nil when the medium cannot
    /// list them. The default is nil.
    func tags() async throws -> [String]?
    /// The referrers of `subject` the destination's referrers API lists, or `.unsupported` when it has none.
    /// The default is `.unsupported`.
    func referrers(of subject: Digest, limit: Int) async throws -> ReferrerListing
    /// The manifest under `identifier`, or nil when there is none (see `ImageSource.manifestIfPresent`).
    func manifestIfPresent(_ identifier: ManifestIdentifier) async throws -> RawManifest?
    /// Stores a manifest that names a `subject`, by digest, and says whether the medium indexed the subject (when
    /// it did not, the caller adds the manifest to the subject's fallback tag). The default stores it with
    /// `putManifest(_:as:)` and answers `.notIndexed`.
    func putReferrer(_ manifest: RawManifest) async throws -> SubjectIndexing
}

extension ImageDestination {
    public var checksBlobDigests: Bool { false }
    public var referrersMode: ReferrersMode? { nil }

    public func manifestIfPresent(_ identifier: ManifestIdentifier) async throws -> RawManifest? {
        guard let d = try await manifestDigest(identifier) else { return nil }
        return try await manifest(.digest(d))
    }

    public func tags() async throws -> [String]? { nil }

    public func referrers(of subject: Digest, limit: Int) async throws -> ReferrerListing { .unsupported }

    public func putReferrer(_ manifest: RawManifest) async throws -> SubjectIndexing {
        try await putManifest(manifest, as: .digest(manifest.digest))
        return .notIndexed
    }

    public func blobExistsOrPrepareUpload(_ descriptor: Descriptor) async throws -> Bool {
        try await blobExists(descriptor)
    }
}

/// A manifest's name within a repository: a tag or a digest.
public enum ManifestIdentifier: Hashable, Sendable, CustomStringConvertible {
    case tag(String)
    case digest(Digest)

    /// The identifier a reference resolves to: its digest when it has one, else its tag.
    public init(_ reference: Reference) {
        if let d = reference.digest { self = .digest(d) } else { self = .tag(reference.tag ?? "latest") }
    }

    /// Whether this names content by digest (a pin) rather than by tag.
    public var isDigest: Bool {
        if case .digest = self { return true }
        return false
    }

    public var description: String {
        switch self {
        case .tag(let t): t
        case .digest(let d): d.description
        }
    }
}
