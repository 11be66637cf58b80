import Engine

/// Where an image's signatures are kept: its repository (a registry, or a layout). The signer and verifier
/// only need these four operations.
public protocol SignatureStore: Sendable {
    /// The manifest tagged `tag`, or nil when there is none.
    func manifest(tagged tag: String) async throws -> RawManifest?
    /// A blob's bytes (small: signature payloads and configs); the caller checks the digest.
    func blob(_ descriptor: Descriptor) async throws -> [UInt8]
    /// Stores a blob unless it is there.
    func putBlob(_ descriptor: Descriptor, bytes: [UInt8]) async throws
    /// Stores a manifest under a tag.
    func putManifest(_ manifest: RawManifest, tagged tag: String) async throws
}
