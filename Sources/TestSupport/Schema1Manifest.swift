import Engine
import Foundation

/// Docker schema 1 manifests signed the way a registry serves them: a libtrust "pretty" JWS whose signatures
/// differ on every GET while the signed payload (and so the digest) stays the same. An imitation of what
/// distribution does with `compatibility.schema1`; the payload rules are libtrust's.
public enum Schema1Manifest {
    /// A libtrust signing key's public half: the JWK coordinates and libtrust's key ID.
    public struct Key: Sendable {
        var x: [UInt8]
        var y: [UInt8]
        var id: String

        /// A fresh P-256 key made by OpenSSL in `folder`.
        public static func generate(in folder: String) throws -> Key {
            let pem = (folder as NSString).appendingPathComponent("schema1-key.pem")
            let der = (folder as NSString).appendingPathComponent("schema1-key.der")
            try Shell.check("openssl", ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", pem])
            try Shell.check("openssl", ["ec", "-in", pem, "-pubout", "-outform", "DER", "-out", der])
            let spki = Array(try Data(contentsOf: URL(fileURLWithPath: der)))
            let point = Array(spki.suffix(65))  // 04 || X || Y
            // libtrust's key ID: the first 240 bits of SHA-256 over the DER public key, base32, in groups of 4.
            let hex = Array(Digest.sha256(of: spki).hex.utf8)
            let sum = stride(from: 0, to: hex.count, by: 2).map { UInt8(String(decoding: hex[$0..<$0 + 2], as: UTF8.self), radix: 16)! }
            let b32 = base32(Array(sum.prefix(30)))
            let id = stride(from: 0, to: b32.count, by: 4).map { i in
                String(b32[b32.index(b32.startIndex, offsetBy: i)..<b32.index(b32.startIndex, offsetBy: min(i + 4, b32.count))])
            }.joined(separator: ":")
            return Key(x: Array(point[1..<33]), y: Array(point[33..<65]), id: id)
        }
    }

    /// RFC 4648 base32 without padding.
    static func base32(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
        var out = "", buffer = 0, bits = 0
        for b in bytes {
            buffer = (buffer << 8) | Int(b)
            bits += 8
            while bits >= 5 {
                out.append(alphabet[(buffer >> (bits - 5)) & 31])
                bits -= 5
            }
        }
        if bits > 0 { out.append(alphabet[(buffer << (5 - bits)) & 31]) }
        return out
    }

    /// The payload: the manifest JSON without signatures, indented as docker wrote it.
    public static func payload(name: String, tag: String, layer: String) -> [UInt8] {
        Array("""
            {
               "schemaVersion": 1,
               "name": "\(name)",
               "tag": "\(tag)",
               "architecture": "amd64",
               "fsLayers": [
                  {
                     "blobSum": "\(layer)"
                  }
               ],
               "history": [
                  {
                     "v1Compatibility": "{\\"id\\":\\"1\\",\\"architecture\\":\\"amd64\\",\\"os\\":\\"linux\\"}"
                  }
               ]
            }
            """.utf8)
    }

    /// `payload` with a `signatures` array inserted before its closing brace; `nonce` makes the signature (and
    /// its time) differ, as two GETs from a registry do.
    public static func signed(_ payload: [UInt8], key: Key, nonce: Int) -> [UInt8] {
        let formatLength = payload.count - 2  // the payload ends with "\n}"
        let tail = Array(payload[formatLength...])
        let protected = base64URL(Array(#"{"formatLength":\#(formatLength),"formatTail":"\#(base64URL(tail))","time":"2026-12-04T08:00:\#(String(format: "%02d", nonce % 60))Z"}"#.utf8))
        var random = SyntheticImage.Random(seed: UInt64(nonce) &+ 7)
        let signature = base64URL(random.bytes(64))
        let block = """
            ,
               "signatures": [
                  {
                     "header": {
                        "jwk": {
                           "crv": "P-256",
                           "kid": "\(key.id)",
                           "kty": "EC",
                           "x": "\(base64URL(key.x))",
                           "y": "\(base64URL(key.y))"
                        },
                        "alg": "ES256"
                     },
                     "signature": "\(signature)",
                     "protected": "\(protected)"
                  }
               ]
            """
        return Array(payload[..<formatLength]) + Array(block.utf8) + tail
    }

    /// Unpadded base64url, as JWS writes it.
    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}
