import Synchronization

/// Remembers the manifests read through it, so a run that plans images ahead and then copies them fetches each
/// manifest once, and the copy sees exactly what was planned even if a tag moves in between.
public final class ManifestMemo: Sendable {
    private let seen = Mutex<[String: RawManifest]>([:])
    private let digests = Mutex<[String: Digest?]>([:])

    public init() {}

    /// `source`, with manifest reads answered from memory after the first.
    public func wrap(_ source: any ImageSource) -> any ImageSource {
        MemoizedSource(inner: source, memo: self)
    }

    fileprivate func manifest(_ key: String, _ fetch: () async throws -> RawManifest) async throws -> RawManifest {
        if let m = seen.withLock({ $0[key] }) { return m }
        let m = try await fetch()
        seen.withLock { $0[key] = m }
        return m
    }

    fileprivate func digest(_ key: String, _ fetch: () async throws -> Digest?) async throws -> Digest? {
        if let d = digests.withLock({ $0[key] }) { return d }
        let d = try await fetch()
        digests.withLock { $0[key] = .some(d) }
        return d
    }
}

private struct MemoizedSource: ImageSource {
    let inner: any ImageSource
    let memo: ManifestMemo

    var location: RepositoryLocation { inner.location }

    func manifest(_ identifier: ManifestIdentifier) async throws -> RawManifest {
        try await memo.manifest("\(inner.location) \(identifier)") { try await inner.manifest(identifier) }
    }

    func manifestDigest(_ identifier: ManifestIdentifier) async throws -> Digest? {
        if case .digest = identifier { return try await inner.manifestDigest(identifier) }
        return try await memo.digest("\(inner.location) \(identifier)") { try await inner.manifestDigest(identifier) }
    }

    func blob(_ descriptor: Descriptor) async throws -> any BlobStream {
        try await inner.blob(descriptor)
    }

    func tags() async throws -> [String]? { try await inner.tags() }

    func manifestIfPresent(_ identifier: ManifestIdentifier) async throws -> RawManifest? {
        try await inner.manifestIfPresent(identifier)
    }

    func referrers(of subject: Digest, artifactType: String?, limit: Int) async throws -> ReferrerListing {
        try await inner.referrers(of: subject, artifactType: artifactType, limit: limit)
    }
}
