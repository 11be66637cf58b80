import Synchronization

/// Remembers the manifests read through it, so a run that plans images ahead and then copies them fetches each
/// manifest once, and the copy sees exactly what was planned even if a tag moves in between.
public final class ManifestMemo: Sendable {
    private let seen = Mutex<[String: RawManifest]>([:])

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
}

private struct MemoizedSource: ImageSource {
    let inner: any ImageSource
    let memo: ManifestMemo

    var location: RepositoryLocation { inner.location }

    func manifest(_ identifier: ManifestIdentifier) async throws -> RawManifest {
        try await memo.manifest("\(inner.location) \(identifier)") { try await inner.manifest(identifier) }
    }

    func blob(_ descriptor: Descriptor) async throws -> any BlobStream {
        try await inner.blob(descriptor)
    }
}
