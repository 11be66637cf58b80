import COpenSSL
import FoundationEssentials

/// cosign's private key files.
///
/// `ENCRYPTED COSIGN PRIVATE KEY` / `ENCRYPTED SIGSTORE PRIVATE KEY`: the PEM body is JSON naming the KDF
/// (scrypt, N of 32768, 65536 or 131072, r = 8, p = 1, with a salt), the cipher (NaCl secretbox with a 24-byte
/// nonce) and the ciphertext (tag ‖ ciphertext) of a PKCS#8 key. A plain `PRIVATE KEY` (PKCS#8) is read too.
/// Derived keys and plaintexts are wiped after use.
public enum CosignKeyFile {
    /// The label dray writes (cosign's, read by every cosign version).
    public static let encryptedLabel = "ENCRYPTED COSIGN PRIVATE KEY"
    static let encryptedLabels: Set<String> = [encryptedLabel, "ENCRYPTED SIGSTORE PRIVATE KEY"]
    static let allowedN: Set<Int> = [32768, 65536, 131072]

    struct Envelope: Codable {
        struct KDF: Codable {
            struct Params: Codable {
                var N: Int
                var r: Int
                var p: Int
            }
            var name: String
            var params: Params
            var salt: String
        }
        struct Cipher: Codable {
            var name: String
            var nonce: String
        }
        var kdf: KDF
        var cipher: Cipher
        var ciphertext: String
    }

    /// Reads the private key in `file`; `passphrase` is asked for only when the key is encrypted.
    public static func read(_ file: String, passphrase: () throws -> [UInt8]) throws -> SigningKey {
        let text: String
        do { text = try String(contentsOfFile: file, encoding: .utf8) } catch {
            throw KeyError(file: file, reason: "cannot read")
        }
        let pem = try PEM(parsing: text, file: file)
        switch pem.label {
        case "PRIVATE KEY":
            var der = pem.der
            defer { wipe(&der) }
            return try SigningKey.fromPKCS8(der, file: file)
        case "EC PRIVATE KEY":
            throw KeyError(file: file, reason: "a SEC1 EC PRIVATE KEY, which cosign does not accept; convert it with `openssl pkcs8 -topk8`")
        case let l where encryptedLabels.contains(l):
            var pass = try passphrase()
            defer { wipe(&pass) }
            return try decrypt(pem.der, passphrase: pass, file: file)
        default:
            throw KeyError(file: file, reason: "a \(pem.label), not a cosign private key")
        }
    }

    static func decrypt(_ body: [UInt8], passphrase: [UInt8], file: String) throws -> SigningKey {
        guard let e = try? JSONDecoder().decode(Envelope.self, from: Data(body)) else {
            throw KeyError(file: file, reason: "the encrypted key's JSON is damaged")
        }
        guard e.kdf.name == "scrypt" else { throw KeyError(file: file, reason: "unsupported KDF \"\(e.kdf.name.prefix(40))\"") }
        guard allowedN.contains(e.kdf.params.N), e.kdf.params.r == 8, e.kdf.params.p == 1 else {
            throw KeyError(file: file, reason: "unsupported scrypt parameters N=\(e.kdf.params.N) r=\(e.kdf.params.r) p=\(e.kdf.params.p)")
        }
        guard e.cipher.name == "nacl/secretbox" else { throw KeyError(file: file, reason: "unsupported cipher \"\(e.cipher.name.prefix(40))\"") }
        guard let salt = Data(base64Encoded: e.kdf.salt), let nonce = Data(base64Encoded: e.cipher.nonce),
              nonce.count == SecretBox.nonceSize, let box = Data(base64Encoded: e.ciphertext)
        else { throw KeyError(file: file, reason: "the encrypted key's salt, nonce or ciphertext is damaged") }
        var key = try scrypt(passphrase, salt: Array(salt), n: e.kdf.params.N, file: file)
        defer { wipe(&key) }
        guard var der = SecretBox.open(Array(box), key: key, nonce: Array(nonce)) else {
            throw KeyError(file: file, reason: "wrong passphrase (or the key file is damaged)")
        }
        defer { wipe(&der) }
        return try SigningKey.fromPKCS8(der, file: file)
    }

    /// The key encrypted as cosign does (scrypt N=32768, fresh salt and nonce), as PEM text.
    public static func encrypt(_ key: SigningKey, passphrase: [UInt8]) throws -> String {
        var der = try key.pkcs8()
        defer { wipe(&der) }
        let salt = try random(32), nonce = try random(SecretBox.nonceSize)
        var boxKey = try scrypt(passphrase, salt: salt, n: 32768, file: "new key")
        defer { wipe(&boxKey) }
        let box = SecretBox.seal(der, key: boxKey, nonce: nonce)
        let envelope = Envelope(
            kdf: .init(name: "scrypt", params: .init(N: 32768, r: 8, p: 1), salt: Data(salt).base64EncodedString()),
            cipher: .init(name: "nacl/secretbox", nonce: Data(nonce).base64EncodedString()),
            ciphertext: Data(box).base64EncodedString())
        return PEM(label: encryptedLabel, der: Array(try JSONEncoder().encode(envelope))).text
    }

    static func scrypt(_ passphrase: [UInt8], salt: [UInt8], n: Int, file: String) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        let length = passphrase.count
        var buffer = passphrase.isEmpty ? [0] : passphrase
        defer { wipe(&buffer) }
        let rc = buffer.withUnsafeBufferPointer { p in
            salt.withUnsafeBufferPointer { s in
                out.withUnsafeMutableBufferPointer { o in
                    p.baseAddress!.withMemoryRebound(to: CChar.self, capacity: p.count) { pc in
                        EVP_PBE_scrypt(pc, length, s.baseAddress, s.count, UInt64(n), 8, 1, 512 << 20, o.baseAddress, 32)
                    }
                }
            }
        }
        guard rc == 1 else { throw KeyError(file: file, reason: "scrypt failed in OpenSSL") }
        return out
    }

    static func random(_ n: Int) throws -> [UInt8] {
        var b = [UInt8](repeating: 0, count: n)
        guard RAND_bytes(&b, Int32(n)) == 1 else { throw SignatureError.openssl("RAND_bytes") }
        return b
    }
}
