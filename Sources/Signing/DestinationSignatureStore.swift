import Engine
import Logging

/// The signatures of one image's repository, read and written through a transport (a registry repository, a
/// layout folder).
///
/// `destination` opens the repository for a reference; signature tags are asked for as `image.withTag(tag)`, so
/// transports that name images by full reference (layouts) find `REPO:sha256-<hex>.sig` entries.
public struct DestinationSignatureStore: SignatureStore {
    public let image: Reference
    let destination: @Sendable (Reference) -> any ImageDestination
    /// Signature blobs are small; anything larger is refused rather than read.
    static let maxBlob = 1 << 20

    public init(image: Reference, destination: @escaping @Sendable (Reference) -> any ImageDestination) {
        self.image = image
        self.destination = destination
    }

    public func manifest(tagged tag: String) async throws -> RawManifest? {
        let repository = destination(image.withTag(tag))
        guard let digest = try await repository.manifestDigest(.tag(tag)) else { return nil }
        return try await repository.manifest(.digest(digest))
    }

    public func blob(_ descriptor: Descriptor) async throws -> [UInt8] {
        guard descriptor.size <= Self.maxBlob else { throw SignatureError.attachment("\(image.name)@\(descriptor.digest): signature blob larger than 1 MiB") }
        let stream = try await destination(image).blob(descriptor)
        var out: [UInt8] = []
        while let chunk = try await stream.next() {
            out += chunk
            guard out.count <= Self.maxBlob else {
                stream.cancel()
                throw SignatureError.attachment("\(image.name)@\(descriptor.digest): signature blob larger than 1 MiB")
            }
        }
        return out
    }

    public func putBlob(_ descriptor: Descriptor, bytes: [UInt8]) async throws {
        let repository = destination(image)
        if try await repository.blobExists(descriptor) { return }
        try await repository.putBlob(descriptor, from: MemoryBlobStream(bytes))
    }

    public func putManifest(_ manifest: RawManifest, tagged tag: String) async throws {
        try await destination(image.withTag(tag)).putManifest(manifest, as: .tag(tag))
    }
}

/// Signs mirrored images at their destination with one key (`mirror --sigstore-private-key`), in the formats asked
/// for: cosign's `.sig` tag, a Sigstore bundle referrer, or both.
public struct MirrorSigning: DestinationSigner {
    public let signer: Signer
    public let format: SignatureFormat
    let bundles: BundleSigner?

    public init(signer: Signer, format: SignatureFormat = .both) throws {
        self.signer = signer
        self.format = format
        bundles = format.writesBundle ? try BundleSigner(key: signer.key) : nil
    }

    /// The identity a signature names: the reference with its tag, or the bare repository for a digest reference.
    public static func identity(of reference: Reference) -> String {
        if let tag = reference.tag { return reference.withTag(tag).description }
        return reference.name
    }

    public func sign(_ digests: [Digest], as reference: Reference,
                     destination: @escaping @Sendable (Reference) -> any ImageDestination) async throws -> Int {
        let store = DestinationSignatureStore(image: reference, destination: destination)
        let identity = Self.identity(of: reference)
        var added = 0
        for d in digests {
            if format.writesSimpleSigning, try await signer.sign(d, identity: identity, in: store) == .signed { added += 1 }
            if let bundles, try await bundles.sign(d, image: reference, destination: destination, retry: Retrier(attempts: 3, logger: Logger(label: "dray.sign"))) == .signed {
                added += 1
            }
        }
        return added
    }
}
