import COpenSSL

/// NaCl's `crypto_secretbox` (XSalsa20-Poly1305), in the combined layout cosign stores: a 16-byte Poly1305
/// tag followed by the ciphertext.
public enum SecretBox {
    public static let keySize = 32
    public static let nonceSize = 24
    public static let tagSize = 16

    /// Encrypts and authenticates `message`.
    public static func seal(_ message: [UInt8], key: [UInt8], nonce: [UInt8]) -> [UInt8] {
        precondition(key.count == keySize && nonce.count == nonceSize)
        var stream = Salsa20.xsalsa20Stream(key: key, nonce: nonce, count: 32 + message.count)
        defer { wipe(&stream) }
        var polyKey = Array(stream[0..<32])
        defer { wipe(&polyKey) }
        var cipher = [UInt8](repeating: 0, count: message.count)
        for i in 0..<message.count { cipher[i] = message[i] ^ stream[32 + i] }
        return Poly1305.tag(key: polyKey, message: cipher) + cipher
    }

    /// Checks and decrypts `box` (tag ‖ ciphertext); nil when the tag does not match (wrong key or altered data).
    public static func open(_ box: [UInt8], key: [UInt8], nonce: [UInt8]) -> [UInt8]? {
        guard key.count == keySize, nonce.count == nonceSize, box.count >= tagSize else { return nil }
        let cipher = Array(box[tagSize...])
        var stream = Salsa20.xsalsa20Stream(key: key, nonce: nonce, count: 32 + cipher.count)
        defer { wipe(&stream) }
        var polyKey = Array(stream[0..<32])
        defer { wipe(&polyKey) }
        let expected = Poly1305.tag(key: polyKey, message: cipher)
        let same = expected.withUnsafeBytes { e in box.withUnsafeBytes { b in CRYPTO_memcmp(e.baseAddress, b.baseAddress, tagSize) } }
        guard same == 0 else { return nil }
        var plain = [UInt8](repeating: 0, count: cipher.count)
        for i in 0..<cipher.count { plain[i] = cipher[i] ^ stream[32 + i] }
        return plain
    }
}

/// Overwrites secret bytes (OpenSSL's cleanse, which the compiler does not optimise away).
func wipe(_ bytes: inout [UInt8]) {
    bytes.withUnsafeMutableBytes { if let p = $0.baseAddress { OPENSSL_cleanse(p, $0.count) } }
}
