import FoundationEssentials

/// The signatures of a Docker schema 1 manifest (`application/vnd.docker.distribution.manifest.v1+prettyjws`): a
/// libtrust "pretty" JWS, where the manifest JSON carries a `signatures` array and each signature's protected
/// header says how to cut the signed payload out of the bytes (`formatLength` bytes, then `formatTail`). The
/// payload is what the manifest's digest covers: registries sign again on each GET, so the bytes change and the
/// payload does not (as distribution, skopeo and regclient compute it).
enum Schema1Signatures {
    private struct Protected: Decodable {
        var formatLength: Int
        var formatTail: String
    }

    /// The signed payload of `bytes`, or nil when they carry no usable signature.
    static func payload(of bytes: [UInt8]) -> [UInt8]? {
        guard let object = try? JSONValue(parsing: bytes),
              let protected = object["signatures"]?.array?.first?["protected"]?.string,
              let header = base64URLDecode(protected),
              let format = try? JSONDecoder().decode(Protected.self, from: Data(header)),
              format.formatLength >= 0, format.formatLength <= bytes.count,
              let tail = base64URLDecode(format.formatTail)
        else { return nil }
        return Array(bytes[..<format.formatLength]) + tail
    }

    /// Decodes unpadded base64url (RFC 4648 §5), as JWS writes it.
    static func base64URLDecode(_ s: String) -> [UInt8]? {
        var b = s.replacing("-", with: "+").replacing("_", with: "/")
        while b.count % 4 != 0 { b += "=" }
        return Data(base64Encoded: b).map(Array.init)
    }
}
