/// The Salsa20 family (Bernstein), as NaCl's secretbox uses it: the Salsa20/20 block function, HSalsa20 for
/// deriving an XSalsa20 subkey from the first 16 nonce bytes, and the XSalsa20 key stream.
enum Salsa20 {
    private static let sigma: [UInt32] = [0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574]  // "expand 32-byte k"

    static func load32(_ b: ArraySlice<UInt8>, _ i: Int) -> UInt32 {
        let s = b.startIndex + i
        return UInt32(b[s]) | UInt32(b[s + 1]) << 8 | UInt32(b[s + 2]) << 16 | UInt32(b[s + 3]) << 24
    }

    /// 16 input words: constants, key, and the 16 bytes of nonce/counter.
    private static func input(key: [UInt8], sixteen: ArraySlice<UInt8>) -> [UInt32] {
        let k = key[...]
        return [sigma[0], load32(k, 0), load32(k, 4), load32(k, 8), load32(k, 12), sigma[1],
                load32(sixteen, 0), load32(sixteen, 4), load32(sixteen, 8), load32(sixteen, 12),
                sigma[2], load32(k, 16), load32(k, 20), load32(k, 24), load32(k, 28), sigma[3]]
    }

    /// 20 rounds (10 double rounds) over `x`.
    private static func rounds(_ x: inout [UInt32]) {
        @inline(__always) func qr(_ a: Int, _ b: Int, _ c: Int, _ d: Int) {
            x[b] ^= (x[a] &+ x[d]).rotl(7)
            x[c] ^= (x[b] &+ x[a]).rotl(9)
            x[d] ^= (x[c] &+ x[b]).rotl(13)
            x[a] ^= (x[d] &+ x[c]).rotl(18)
        }
        for _ in 0..<10 {
            qr(0, 4, 8, 12); qr(5, 9, 13, 1); qr(10, 14, 2, 6); qr(15, 3, 7, 11)  // columns
            qr(0, 1, 2, 3); qr(5, 6, 7, 4); qr(10, 11, 8, 9); qr(15, 12, 13, 14)  // rows
        }
    }

    /// HSalsa20: a 32-byte subkey from a 32-byte key and 16 bytes of nonce.
    static func hsalsa20(key: [UInt8], nonce16: ArraySlice<UInt8>) -> [UInt8] {
        var x = input(key: key, sixteen: nonce16)
        rounds(&x)
        var out: [UInt8] = []
        out.reserveCapacity(32)
        for i in [0, 5, 10, 15, 6, 7, 8, 9] { out += x[i].littleEndianBytes }
        return out
    }

    /// `count` bytes of the XSalsa20 key stream for a 32-byte key and 24-byte nonce.
    static func xsalsa20Stream(key: [UInt8], nonce: [UInt8], count: Int) -> [UInt8] {
        let subkey = hsalsa20(key: key, nonce16: nonce[0..<16])
        var out: [UInt8] = []
        out.reserveCapacity(count + 64)
        var counter: UInt64 = 0
        while out.count < count {
            var block = nonce[16..<24].map { $0 }
            for i in 0..<8 { block.append(UInt8(truncatingIfNeeded: counter >> (8 * UInt64(i)))) }
            let start = input(key: subkey, sixteen: block[...])
            var x = start
            rounds(&x)
            for i in 0..<16 { out += (x[i] &+ start[i]).littleEndianBytes }
            counter += 1
        }
        return Array(out.prefix(count))
    }
}

extension UInt32 {
    @inline(__always) func rotl(_ n: UInt32) -> UInt32 { (self << n) | (self >> (32 - n)) }
    var littleEndianBytes: [UInt8] {
        [UInt8(truncatingIfNeeded: self), UInt8(truncatingIfNeeded: self >> 8),
         UInt8(truncatingIfNeeded: self >> 16), UInt8(truncatingIfNeeded: self >> 24)]
    }
}
