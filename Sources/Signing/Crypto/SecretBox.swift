import COpenSSL
import CSodium

/// NaCl's `crypto_secretbox` (XSalsa20-Poly1305) from libsodium, in the combined layout cosign stores: the
/// 16-byte Poly1305 tag followed by the ciphertext.
public enum SecretBox {
    public static let keySize = Int(crypto_secretbox_KEYBYTES)
    public static let nonceSize = Int(crypto_secretbox_NONCEBYTES)
    public static let tagSize = Int(crypto_secretbox_MACBYTES)

    /// libsodium is ready (its initialisation is idempotent and thread-safe; it fails only without a source of
    /// randomness, which secretbox does not use).
    private static let ready: Bool = sodium_init() >= 0

    /// Encrypts and authenticates `message`.
    public static func seal(_ message: [UInt8], key: [UInt8], nonce: [UInt8]) -> [UInt8] {
        precondition(key.count == keySize && nonce.count == nonceSize && ready)
        var box = [UInt8](repeating: 0, count: tagSize + message.count)
        let status = box.withUnsafeMutableBufferPointer { b in
            crypto_secretbox_easy(b.baseAddress!, message, UInt64(message.count), nonce, key)
        }
        precondition(status == 0, "crypto_secretbox_easy failed")
        return box
    }

    /// Checks and decrypts `box` (tag ‖ ciphertext); nil when the tag does not match (wrong key or altered data).
    public static func open(_ box: [UInt8], key: [UInt8], nonce: [UInt8]) -> [UInt8]? {
        guard ready, key.count == keySize, nonce.count == nonceSize, box.count >= tagSize else { return nil }
        // One spare byte, so that an empty message still has somewhere to be written.
        var plain = [UInt8](repeating: 0, count: box.count - tagSize + 1)
        let status = plain.withUnsafeMutableBufferPointer { p in
            crypto_secretbox_open_easy(p.baseAddress!, box, UInt64(box.count), nonce, key)
        }
        plain.removeLast()
        guard status == 0 else {
            wipe(&plain)
            return nil
        }
        return plain
    }
}

/// Overwrites secret bytes (OpenSSL's cleanse, which the compiler does not optimise away).
func wipe(_ bytes: inout [UInt8]) {
    bytes.withUnsafeMutableBytes { if let p = $0.baseAddress { OPENSSL_cleanse(p, $0.count) } }
}
