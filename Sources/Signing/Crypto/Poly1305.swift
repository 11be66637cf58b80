/// Poly1305 (Bernstein): a one-time authenticator with a 32-byte key (r, s), arithmetic modulo 2^130 − 5 in
/// five 26-bit limbs.
enum Poly1305 {
    static func tag(key: [UInt8], message: [UInt8]) -> [UInt8] {
        let k = key[...]
        let t0 = Salsa20.load32(k, 0), t1 = Salsa20.load32(k, 4), t2 = Salsa20.load32(k, 8), t3 = Salsa20.load32(k, 12)
        // r, clamped as the spec requires, split into limbs.
        let r0 = UInt64(t0 & 0x3ff_ffff)
        let r1 = UInt64(((t0 >> 26) | (t1 << 6)) & 0x3ff_ff03)
        let r2 = UInt64(((t1 >> 20) | (t2 << 12)) & 0x3ff_c0ff)
        let r3 = UInt64(((t2 >> 14) | (t3 << 18)) & 0x3f0_3fff)
        let r4 = UInt64((t3 >> 8) & 0x00f_ffff)
        let s1 = r1 * 5, s2 = r2 * 5, s3 = r3 * 5, s4 = r4 * 5
        var h0: UInt64 = 0, h1: UInt64 = 0, h2: UInt64 = 0, h3: UInt64 = 0, h4: UInt64 = 0
        let mask: UInt64 = 0x3ff_ffff

        func block(_ m: ArraySlice<UInt8>, hibit: UInt64) {
            h0 += UInt64(Salsa20.load32(m, 0)) & mask
            h1 += UInt64(Salsa20.load32(m, 3) >> 2) & mask
            h2 += UInt64(Salsa20.load32(m, 6) >> 4) & mask
            h3 += UInt64(Salsa20.load32(m, 9) >> 6) & mask
            h4 += UInt64(Salsa20.load32(m, 12) >> 8) | hibit
            let d0 = h0 * r0 + h1 * s4 + h2 * s3 + h3 * s2 + h4 * s1
            var d1 = h0 * r1 + h1 * r0 + h2 * s4 + h3 * s3 + h4 * s2
            var d2 = h0 * r2 + h1 * r1 + h2 * r0 + h3 * s4 + h4 * s3
            var d3 = h0 * r3 + h1 * r2 + h2 * r1 + h3 * r0 + h4 * s4
            var d4 = h0 * r4 + h1 * r3 + h2 * r2 + h3 * r1 + h4 * r0
            var c = d0 >> 26; h0 = d0 & mask
            d1 += c; c = d1 >> 26; h1 = d1 & mask
            d2 += c; c = d2 >> 26; h2 = d2 & mask
            d3 += c; c = d3 >> 26; h3 = d3 & mask
            d4 += c; c = d4 >> 26; h4 = d4 & mask
            h0 += c * 5; c = h0 >> 26; h0 &= mask
            h1 += c
        }

        var offset = 0
        while message.count - offset >= 16 {
            block(message[offset..<(offset + 16)], hibit: 1 << 24)
            offset += 16
        }
        if offset < message.count {
            var last = Array(message[offset...])
            last.append(1)
            last += [UInt8](repeating: 0, count: 16 - last.count)
            block(last[...], hibit: 0)
        }

        // Full carry, then h mod p (subtract p when h ≥ p, in constant time).
        var c = h1 >> 26; h1 &= mask
        h2 += c; c = h2 >> 26; h2 &= mask
        h3 += c; c = h3 >> 26; h3 &= mask
        h4 += c; c = h4 >> 26; h4 &= mask
        h0 += c * 5; c = h0 >> 26; h0 &= mask
        h1 += c
        var g0 = h0 &+ 5; c = g0 >> 26; g0 &= mask
        var g1 = h1 &+ c; c = g1 >> 26; g1 &= mask
        var g2 = h2 &+ c; c = g2 >> 26; g2 &= mask
        var g3 = h3 &+ c; c = g3 >> 26; g3 &= mask
        let g4 = (h4 &+ c) &- (1 << 26)
        // g4's top bit is set when h < p: keep h; otherwise take g.
        let useG: UInt64 = (g4 >> 63) &- 1
        h0 = (h0 & ~useG) | (g0 & useG)
        h1 = (h1 & ~useG) | (g1 & useG)
        h2 = (h2 & ~useG) | (g2 & useG)
        h3 = (h3 & ~useG) | (g3 & useG)
        h4 = (h4 & ~useG) | (g4 & useG & mask)

        // h + s mod 2^128.
        let w0 = (h0 | (h1 << 26)) & 0xffff_ffff
        let w1 = ((h1 >> 6) | (h2 << 20)) & 0xffff_ffff
        let w2 = ((h2 >> 12) | (h3 << 14)) & 0xffff_ffff
        let w3 = ((h3 >> 18) | (h4 << 8)) & 0xffff_ffff
        var f = w0 + UInt64(Salsa20.load32(k, 16))
        var out = UInt32(truncatingIfNeeded: f).littleEndianBytes
        f = w1 + UInt64(Salsa20.load32(k, 20)) + (f >> 32)
        out += UInt32(truncatingIfNeeded: f).littleEndianBytes
        f = w2 + UInt64(Salsa20.load32(k, 24)) + (f >> 32)
        out += UInt32(truncatingIfNeeded: f).littleEndianBytes
        f = w3 + UInt64(Salsa20.load32(k, 28)) + (f >> 32)
        out += UInt32(truncatingIfNeeded: f).littleEndianBytes
        return out
    }
}
