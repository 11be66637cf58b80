import FoundationEssentials

/// cosign's signature attachment, as the engine carries it with images.
///
/// The signatures of a manifest with digest `sha256:<hex>` live in the same repository under the tag
/// `sha256-<hex>.sig`: an OCI image manifest with one `application/vnd.dev.cosign.simplesigning.v1+json` layer
/// per signature (the payload is the layer's blob, the base64 DER signature its `dev.cosignproject.cosign/signature`
/// annotation) and a config listing the layers. Copying one keeps its digest; merging two appends the layers the
/// destination lacks.
public enum SignatureAttachment {
    public static let layerType: MediaType = "application/vnd.dev.cosign.simplesigning.v1+json"
    public static let signatureAnnotation = "dev.cosignproject.cosign/signature"

    /// The tag holding the signatures of `digest`.
    public static func tag(for digest: Digest) -> String { "\(digest.algorithm.rawValue)-\(digest.hex).sig" }

    /// Whether `tag` is a signature tag (`sha256-<64 hex>.sig`).
    public static func isSignatureTag(_ tag: String) -> Bool {
        guard tag.hasPrefix("sha256-"), tag.hasSuffix(".sig") else { return false }
        let hex = tag.dropFirst(7).dropLast(4)
        return hex.count == 64 && hex.allSatisfy { $0.isHexDigit && !$0.isUppercase }
    }

    /// A signature manifest with `layers`, and its config blob (an OCI config listing the layers, as cosign
    /// writes it).
    public static func build(layers: [Descriptor]) throws -> (manifest: RawManifest, config: [UInt8]) {
        let diffIDs = layers.map { "\"\($0.digest)\"" }.joined(separator: ",")
        let config = Array(#"{"architecture":"","config":{},"created":"0001-01-01T00:00:00Z","history":[{"created":"0001-01-01T00:00:00Z"}],"os":"","rootfs":{"type":"layers","diff_ids":[\#(diffIDs)]}}"#.utf8)
        var h = Hasher256()
        h.update(config)
        let manifest = ImageManifest(mediaType: .ociManifest,
                                     config: Descriptor(mediaType: .ociConfig, digest: h.finalize(), size: Int64(config.count)),
                                     layers: layers)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try RawManifest(bytes: Array(try encoder.encode(manifest)), mediaType: .ociManifest), config)
    }

    /// `existing` with the layers of `incoming` it lacks appended, or nil when it already has them all. Two
    /// layers are the same signature when payload digest and signature annotation are equal.
    public static func merging(_ incoming: RawManifest, into existing: RawManifest) throws
        -> (manifest: RawManifest, config: [UInt8])?
    {
        guard case .image(let old) = try existing.parsed(), case .image(let new) = try incoming.parsed() else {
            throw ManifestError.invalidJSON("a signature attachment is not an image manifest")
        }
        func key(_ d: Descriptor) -> String { "\(d.digest) \(d.annotations?[signatureAnnotation] ?? "")" }
        let have = Set(old.layers.map(key))
        let added = new.layers.filter { !have.contains(key($0)) }
        guard !added.isEmpty else { return nil }
        return try build(layers: old.layers + added)
    }

    /// The signature attachments `sources` holds for `digests` of the image `image`: manifest digest →
    /// attachment digest, for those that have one. Looked up all at once (one round trip).
    public static func find(_ digests: [Digest], of image: Reference, in sources: @escaping @Sendable (Reference) -> any ImageSource,
                            retry: Retrier) async throws -> [Digest: Digest] {
        try await withThrowingTaskGroup(of: (Digest, Digest?).self) { group in
            for d in digests {
                group.addTask {
                    let tag = tag(for: d)
                    let src = sources(image.withTag(tag))
                    return (d, try await retry.run("\(image): signatures of \(d)") { try await src.manifestDigest(.tag(tag)) })
                }
            }
            var found: [Digest: Digest] = [:]
            for try await (d, sig) in group { if let sig { found[d] = sig } }
            return found
        }
    }

    /// Writes the attachment `attachment` under `tag` at `destination`, whose blobs are already there; `have` is
    /// what the destination holds under `tag` (the caller has asked already). Written as it is when the
    /// destination has none (or, with `merge` false, a different one), else merged into the one there.
    /// Returns whether anything was written.
    public static func store(_ attachment: RawManifest, tag: String, at destination: any ImageDestination, have: Digest?,
                             merge: Bool, retry: Retrier) async throws -> Bool {
        if have == attachment.digest { return false }
        var written = attachment
        if let have, merge {
            let existing = try await retry.run("\(destination.location): \(tag)") { try await destination.manifest(.digest(have)) }
            guard let (merged, config) = try merging(attachment, into: existing) else { return false }
            let descriptor = Descriptor(mediaType: .ociConfig, digest: Digest.sha256(of: config), size: Int64(config.count))
            try await retry.run("\(destination.location): \(tag) config") {
                if try await !destination.blobExists(descriptor) {
                    try await destination.putBlob(descriptor, from: MemoryBlobStream(config))
                }
            }
            written = merged
        }
        try await retry.run("\(destination.location): put \(tag)") { try await destination.putManifest(written, as: .tag(tag)) }
        return true
    }
}
