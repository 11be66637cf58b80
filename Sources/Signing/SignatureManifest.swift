import Engine
import FoundationEssentials

/// cosign's signature attachment as the signer and verifier read it; the format itself (tag, layer type,
/// building and merging) is `SignatureAttachment` in Engine, which carries attachments with images.
public enum SignatureManifest {
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
            let sig = d.mediaType == SignatureAttachment.layerType ? d.annotations?[SignatureAttachment.signatureAnnotation].flatMap { Data(base64Encoded: $0) } : nil
            return Layer(descriptor: d, signature: sig.map(Array.init))
        }
    }
}
