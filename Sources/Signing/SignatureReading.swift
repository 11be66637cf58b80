import Engine

/// The read side of a repository that signature checks need, whether it is a source being mirrored or a
/// destination being verified: its referrers, its manifests and its blobs.
public struct SignatureReading: Sendable {
    let referrers: @Sendable (Digest) async throws -> ReferrerListing
    let manifestIfPresent: @Sendable (ManifestIdentifier) async throws -> RawManifest?
    let blob: @Sendable (Descriptor) async throws -> any BlobStream

    /// Reads an image source (the gate before mirroring).
    public init(source: any ImageSource) {
        referrers = { try await source.referrers(of: $0, artifactType: nil, limit: 1000) }
        manifestIfPresent = { try await source.manifestIfPresent($0) }
        blob = { try await source.blob($0) }
    }

    /// Reads a destination (verifying what is there, signing without duplicates).
    public init(destination: any ImageDestination) {
        referrers = { try await destination.referrers(of: $0, limit: 1000) }
        manifestIfPresent = { try await destination.manifestIfPresent($0) }
        blob = { try await destination.blob($0) }
    }

    /// A small blob's bytes (at most 1 MiB), its digest checked.
    func smallBlob(_ d: Descriptor) async throws -> [UInt8] {
        guard d.size <= 1 << 20 else { throw SignatureError.attachment("\(d.digest): larger than 1 MiB") }
        let stream = try await blob(d)
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

/// The legacy `.sig` signatures of an image read through `SignatureReading` (read only: the gate never writes).
struct ReadOnlySignatureStore: SignatureStore {
    let image: Reference
    let reading: @Sendable (Reference) -> SignatureReading

    func manifest(tagged tag: String) async throws -> RawManifest? { try await reading(image.withTag(tag)).manifestIfPresent(.tag(tag)) }
    func blob(_ descriptor: Descriptor) async throws -> [UInt8] { try await reading(image).smallBlob(descriptor) }
    func putBlob(_ descriptor: Descriptor, bytes: [UInt8]) async throws { throw SignatureError.attachment("read only") }
    func putManifest(_ manifest: RawManifest, tagged tag: String) async throws { throw SignatureError.attachment("read only") }
}
