import Testing
@testable import Signing

func hex(_ s: String) -> [UInt8] {
    var out: [UInt8] = []
    var i = s.startIndex
    while i < s.endIndex {
        let j = s.index(i, offsetBy: 2)
        out.append(UInt8(s[i..<j], radix: 16)!)
        i = j
    }
    return out
}

@Suite("NaCl secretbox (XSalsa20-Poly1305, libsodium) against published vectors")
struct SecretBoxTests {
    // NaCl's tests/secretbox.c vector (key, nonce, 131-byte message; the box is tag ‖ ciphertext).
    static let key = hex("1b27556473e985d462cd51197a9a46c76009549eac6474f206c4ee0844f68389")
    static let nonce = hex("69696ee955b62b73cd62bda875fc73d68219e0036b7a0b37")
    static let message = hex("be075fc53c81f2d5cf141316ebeb0c7b5228c52a4c62cbd44b66849b64244ffc"
        + "e5ecbaaf33bd751a1ac728d45e6c61296cdc3c01233561f41db66cce314adb31"
        + "0e3be8250c46f06dceea3a7fa1348057e2f6556ad6b1318a024a838f21af1fde"
        + "048977eb48f59ffd4924ca1c60902e52f0a089bc76897040e082f93776384864" + "5e0705")
    static let box = hex("f3ffc7703f9400e52a7dfb4b3d3305d98e993b9f48681273c29650ba32fc76ce"
        + "48332ea7164d96a4476fb8c531a1186ac0dfc17c98dce87b4da7f011ec48c972"
        + "71d2c20f9b928fe2270d6fb863d51738b48eeee314a7cc8ab932164548e526ae"
        + "90224368517acfeabd6bb3732bc0e9da99832b61ca01b6de56244a9e88d5f9b3"
        + "7973f622a43d14a6599b1f654cb45a74e355a5")

    @Test("seal gives the published box; open gives the message back")
    func vector() {
        #expect(SecretBox.seal(Self.message, key: Self.key, nonce: Self.nonce) == Self.box)
        #expect(SecretBox.open(Self.box, key: Self.key, nonce: Self.nonce) == Self.message)
    }

    @Test("a flipped bit anywhere, or another key, fails to open")
    func tamper() {
        for i in [0, 15, 16, 100, Self.box.count - 1] {
            var bad = Self.box
            bad[i] ^= 0x01
            #expect(SecretBox.open(bad, key: Self.key, nonce: Self.nonce) == nil, "byte \(i)")
        }
        var otherKey = Self.key
        otherKey[0] ^= 0x80
        #expect(SecretBox.open(Self.box, key: otherKey, nonce: Self.nonce) == nil)
        // Lengths around the block size round-trip.
        for n in [0, 1, 15, 16, 17, 31, 32, 33, 64, 65, 200] {
            let m = (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 7) }
            #expect(SecretBox.open(SecretBox.seal(m, key: Self.key, nonce: Self.nonce), key: Self.key, nonce: Self.nonce) == m)
        }
    }
}
