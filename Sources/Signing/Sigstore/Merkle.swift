import COpenSSL
import Engine

/// Why a transparency-log proof, checkpoint or signed entry timestamp was refused, in one line.
public struct TransparencyLogError: Error, Sendable, CustomStringConvertible {
    /// The reason, e.g. "inclusion proof: root hash mismatch".
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// RFC 6962 / RFC 9162 Merkle tree hashing over SHA-256 and inclusion-proof verification.
public enum Merkle {
    /// The size of every node hash (SHA-256).
    public static let hashSize = 32

    /// The leaf hash of an entry: SHA-256(0x00 || entry).
    public static func leafHash(_ entry: [UInt8]) -> [UInt8] {
        sha256([0x00], entry)
    }

    /// SHA-256 of the parts, one after the other.
    static func sha256(_ parts: [UInt8]...) -> [UInt8] {
        guard let ctx = EVP_MD_CTX_new() else { fatalError("EVP_MD_CTX_new failed") }
        defer { EVP_MD_CTX_free(ctx) }
        precondition(EVP_DigestInit_ex(ctx, dray_EVP_sha256(), nil) == 1, "EVP_DigestInit_ex failed")
        for part in parts {
            part.withUnsafeBytes { b in precondition(EVP_DigestUpdate(ctx, b.baseAddress, b.count) == 1) }
        }
        var out = [UInt8](repeating: 0, count: hashSize)
        var len: UInt32 = 0
        precondition(EVP_DigestFinal_ex(ctx, &out, &len) == 1 && len == UInt32(hashSize))
        return out
    }

    /// The interior node hash: SHA-256(0x01 || left || right).
    public static func nodeHash(_ left: [UInt8], _ right: [UInt8]) -> [UInt8] {
        sha256([0x01], left, right)
    }

    /// The number of hashes an inclusion proof for `index` in a tree of `treeSize` leaves has (RFC 9162 §2.1.3.1);
    /// `index` must be below `treeSize`.
    public static func inclusionProofLength(index: UInt64, treeSize: UInt64) -> Int {
        let last = treeSize - 1
        // Levels where the paths to `index` and to the last leaf differ take a sibling each; above them the path
        // follows the right border, taking a left sibling wherever `index`'s bit is set.
        let inner = UInt64.bitWidth - (index ^ last).leadingZeroBitCount
        let border = inner >= UInt64.bitWidth ? 0 : (index >> UInt64(inner)).nonzeroBitCount
        return inner + border
    }

    /// Checks that `proof` proves the leaf with `leafHash` sits at `index` in the tree of `treeSize` leaves whose root
    /// is `rootHash` (RFC 9162 §2.1.3.2); throws naming what is wrong.
    public static func verifyInclusion(leafHash: [UInt8], index: UInt64, treeSize: UInt64, proof: [[UInt8]],
                                       rootHash: [UInt8]) throws(TransparencyLogError) {
        guard index < treeSize else {
            throw TransparencyLogError("inclusion proof: index \(index) is not below the tree size \(treeSize)")
        }
        guard leafHash.count == hashSize, rootHash.count == hashSize else {
            throw TransparencyLogError("inclusion proof: leaf and root hashes must be \(hashSize) bytes")
        }
        if let bad = proof.firstIndex(where: { $0.count != hashSize }) {
            throw TransparencyLogError("inclusion proof: hash \(bad) is \(proof[bad].count) bytes, not \(hashSize)")
        }
        let expected = inclusionProofLength(index: index, treeSize: treeSize)
        guard proof.count == expected else {
            throw TransparencyLogError(
                "inclusion proof: \(proof.count) hashes where index \(index) of \(treeSize) needs \(expected)")
        }
        var fn = index
        var sn = treeSize - 1
        var r = leafHash
        for p in proof {
            guard sn != 0 else { throw TransparencyLogError("inclusion proof: too many hashes") }
            if fn & 1 == 1 || fn == sn {
                r = nodeHash(p, r)
                // Climb past the levels where this node is the rightmost and has no sibling.
                while fn & 1 == 0 && fn != 0 {
                    fn >>= 1
                    sn >>= 1
                }
            } else {
                r = nodeHash(r, p)
            }
            fn >>= 1
            sn >>= 1
        }
        guard sn == 0 else { throw TransparencyLogError("inclusion proof: too few hashes") }
        guard r == rootHash else {
            throw TransparencyLogError("inclusion proof: computed root \(Hex.encode(r)) is not the root hash \(Hex.encode(rootHash))")
        }
    }
}
