import COpenSSL

/// A streaming SHA-256 (or SHA-512) hasher backed by OpenSSL's EVP interface.
///
/// Value-typed with copy-on-write semantics on the underlying context, so a hasher can be updated as bytes
/// stream through a transfer and finalised once the last byte has passed.
public struct Hasher256: @unchecked Sendable {
    private final class Context {
        let ctx: OpaquePointer
        init(algorithm: Digest.Algorithm) {
            ctx = EVP_MD_CTX_new()!
            let md = algorithm == .sha256 ? dray_EVP_sha256() : dray_EVP_sha512()
            precondition(EVP_DigestInit_ex(ctx, md, nil) == 1, "EVP_DigestInit_ex failed")
        }
        init(copying other: Context) {
            ctx = EVP_MD_CTX_new()!
            precondition(EVP_MD_CTX_copy_ex(ctx, other.ctx) == 1, "EVP_MD_CTX_copy_ex failed")
        }
        deinit { EVP_MD_CTX_free(ctx) }
    }

    private var context: Context
    /// The algorithm this hasher computes.
    public let algorithm: Digest.Algorithm
    /// Bytes hashed so far.
    public private(set) var count: Int64 = 0

    /// A new hasher; sha256 unless told otherwise.
    public init(algorithm: Digest.Algorithm = .sha256) {
        self.algorithm = algorithm
        self.context = Context(algorithm: algorithm)
    }

    private mutating func unique() {
        if !isKnownUniquelyReferenced(&context) { context = Context(copying: context) }
    }

    /// Adds bytes.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        unique()
        precondition(EVP_DigestUpdate(context.ctx, bytes.baseAddress, bytes.count) == 1)
        count += Int64(bytes.count)
    }

    /// Adds bytes.
    public mutating func update(_ bytes: some Collection<UInt8>) {
        let done: Void? = bytes.withContiguousStorageIfAvailable { buf in
            update(UnsafeRawBufferPointer(buf))
        }
        if done == nil {
            let array = Array(bytes)
            array.withUnsafeBytes { update($0) }
        }
    }

    /// The digest of everything added so far; the hasher may keep being updated afterwards.
    public func finalize() -> Digest {
        let copy = Context(copying: context)
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var len: UInt32 = 0
        precondition(EVP_DigestFinal_ex(copy.ctx, &out, &len) == 1)
        return Digest(algorithm: algorithm, bytes: out[0..<Int(len)])
    }
}
