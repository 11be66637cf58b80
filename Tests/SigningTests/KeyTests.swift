import Engine
import Foundation
import Testing
import TestSupport
@testable import Signing

enum Fixture {
    static func path(_ name: String) -> String {
        Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent(name).path
    }
    static func hello() -> [UInt8] { Array("hello".utf8) }
}

@Suite("cosign keys through OpenSSL")
struct KeyTests {
    @Test("both encrypted labels decrypt with the passphrase; the key signs what the public key verifies",
          arguments: ["keys/cosign-labeled-n32768.key", "keys/sigstore-labeled-n32768.key"])
    func fixtureKeys(_ name: String) throws {
        let key = try CosignKeyFile.read(Fixture.path(name), passphrase: Fixture.hello)
        let message = Array("payload".utf8)
        let sig = try key.sign(message)
        #expect(try key.publicKey().verify(sig, over: message))
        #expect(!(try key.publicKey().verify(sig, over: Array("other".utf8))))
    }

    @Test("SEC1 plaintext, wrong passphrase, truncated file, RSA key and a public key each give a clear error")
    func refusals() throws {
        func reason(_ file: String, _ pass: String = "hello") -> String {
            do {
                _ = try CosignKeyFile.read(file, passphrase: { Array(pass.utf8) })
                return "accepted"
            } catch {
                return "\(error)"
            }
        }
        #expect(reason(Fixture.path("keys/cosign-labeled-sec1-n65536.key")).contains("SEC1"))
        let wrong = reason(Fixture.path("keys/cosign-labeled-n32768.key"), "nope")
        #expect(wrong.contains("wrong passphrase") && !wrong.contains("nope"))
        let dir = try TemporaryDirectory()
        let full = try String(contentsOfFile: Fixture.path("keys/cosign-labeled-n32768.key"), encoding: .utf8)
        try String(full.prefix(full.count / 2)).write(toFile: dir.file("cut.key"), atomically: false, encoding: .utf8)
        #expect(reason(dir.file("cut.key")).contains("truncated"))
        _ = try Shell.check("openssl", ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", dir.file("rsa.key")])
        #expect(reason(dir.file("rsa.key")).contains("RSA"))
        #expect(reason(Fixture.path("cosign.pub")).contains("not a cosign private key"))
        #expect(reason(dir.file("missing.key")).contains("cannot read"))
    }

    @Test("a generated key is written encrypted (N=32768) and reads back; OpenSSL verifies its signatures")
    func generated() throws {
        let key = try SigningKey.generate()
        let pem = try CosignKeyFile.encrypt(key, passphrase: Array("s3cret".utf8))
        #expect(pem.hasPrefix("-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----\n"))
        let dir = try TemporaryDirectory()
        try pem.write(toFile: dir.file("k.key"), atomically: false, encoding: .utf8)
        let back = try CosignKeyFile.read(dir.file("k.key"), passphrase: { Array("s3cret".utf8) })
        let message = Array("{\"critical\":{}}".utf8)
        let sig = try back.sign(message)
        try Data(sig).write(to: URL(fileURLWithPath: dir.file("sig.der")))
        try Data(message).write(to: URL(fileURLWithPath: dir.file("payload")))
        try key.publicKey().pem().write(toFile: dir.file("k.pub"), atomically: false, encoding: .utf8)
        let openssl = try Shell.run("openssl", ["dgst", "-sha256", "-verify", dir.file("k.pub"), "-signature", dir.file("sig.der"), dir.file("payload")])
        #expect(openssl.status == 0 && openssl.stdoutText.contains("Verified OK"), "\(openssl.stdoutText)\(openssl.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(base64Encoded: pem.split(separator: "\n").dropFirst().dropLast().joined())!) as! [String: Any]
        #expect(((json["kdf"] as! [String: Any])["params"] as! [String: Any])["N"] as? Int == 32768)
    }
}
