import Engine
import Foundation

/// cosign's signature attachment: an OCI image manifest tagged `sha256-<hex>.sig` in the image's repository,
/// one `application/vnd.dev.cosign.simplesigning.v1+json` layer per signature (the payload is the blob, the
/// base64 DER signature is the layer annotation `dev.cosignproject.cosign/signature`).
public enum SignatureManifest {
    public static let layerType: MediaType = "application/vnd.dev.cosign.simplesigning.v1+json"
    public static let signatureAnnotation = "dev.cosignproject.cosign/signature"

    /// The tag holding the signatures of `digest`.
    public static func tag(for digest: Digest) -> String { "\(digest.algorithm.rawValue)-\(digest.hex).sig" }

    /// One signature layer: the payload blob's descriptor and its signature.
    public struct Layer: Sendable {
        public var descriptor: Descriptor
        /// The DER signature, or nil when the layer is not a signature (other attachments are skipped).
        public var signature: [UInt8]?
    }

    /// The layers of a signature manifest.
    public static func layers(of manifest: RawManifest) throws -> [Layer] {
        guard case .image(let m) = try manifest.parsed() else { return [] }
        return m.layers.map { d in
            let sig = d.mediaType == layerType ? d.annotations?[signatureAnnotation].flatMap { Data(base64Encoded: $0) } : nil
            return Layer(descriptor: d, signature: sig.map(Array.init))
        }
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
}
