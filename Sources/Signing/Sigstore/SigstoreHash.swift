import COpenSSL

/// The digests bundle verification takes of artifacts, envelopes and bodies (OpenSSL EVP).
enum SigstoreHash {
    static func sha256(_ bytes: [UInt8]) -> [UInt8] { digest(bytes, dray_EVP_sha256(), 32) }
    static func sha384(_ bytes: [UInt8]) -> [UInt8] { digest(bytes, EVP_sha384(), 48) }
    static func sha512(_ bytes: [UInt8]) -> [UInt8] { digest(bytes, dray_EVP_sha512(), 64) }

    private static func digest(_ bytes: [UInt8], _ md: OpaquePointer?, _ size: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: size)
        var n: UInt32 = 0
        _ = bytes.withUnsafeBufferPointer { b in EVP_Digest(b.baseAddress, b.count, &out, &n, md, nil) }
        return out
    }
}
