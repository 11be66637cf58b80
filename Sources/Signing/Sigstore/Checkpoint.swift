import COpenSSL
import Engine
import FoundationEssentials

/// A transparency-log checkpoint: a signed note (c2sp.org/signed-note) whose body is the log's origin, tree size and
/// root hash (c2sp.org/tlog-checkpoint), as Rekor writes it in `inclusionProof.checkpoint.envelope`.
public struct Checkpoint: Sendable, Equatable {
    /// One signature line, `— <name> <base64(key hint || signature)>`.
    public struct Signature: Sendable, Equatable {
        /// The signer's key name.
        public let name: String
        /// The first 4 bytes of the signer's key ID.
        public let keyHint: [UInt8]
        /// The signature over the note body.
        public let signature: [UInt8]
    }

    /// The log's origin line, e.g. `log2025-1.rekor.sigstore.dev` or, for Rekor v1, `rekor.sigstore.dev - <tree ID>`.
    public let origin: String
    /// The tree size the checkpoint commits to.
    public let size: UInt64
    /// The tree's root hash.
    public let rootHash: [UInt8]
    /// The body lines after the root hash (e.g. Rekor v1's `Timestamp: …`), without their newlines.
    public let otherContent: [String]
    /// Every signature line, in order.
    public let signatures: [Signature]
    /// The signed text: the body up to and including the newline before the blank line.
    public let body: String

    /// Parses a checkpoint envelope; throws when it is not a signed note with a well-formed checkpoint body and at
    /// least one signature line.
    public init(parsing envelope: String) throws(TransparencyLogError) {
        let bytes = Array(envelope.utf8)
        // The signed-note spec splits at the last blank line: signature lines never contain one.
        guard let split = Self.lastBlankLine(bytes) else {
            throw TransparencyLogError("checkpoint: no blank line between the body and the signatures")
        }
        let bodyText = String(decoding: bytes[..<(split + 1)], as: UTF8.self)
        let sigText = String(decoding: bytes[(split + 2)...], as: UTF8.self)

        var lines = bodyText.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        lines.removeLast()  // after the final newline
        guard !lines.contains(where: \.isEmpty) else { throw TransparencyLogError("checkpoint: blank line in the body") }
        guard lines.count >= 3 else {
            throw TransparencyLogError("checkpoint: body has \(lines.count) lines, needs origin, size and root hash")
        }
        guard let size = Self.decimal(lines[1]) else {
            throw TransparencyLogError("checkpoint: size line \"\(lines[1].prefix(80))\" is not a decimal number")
        }
        guard let root = Data(base64Encoded: lines[2]), root.count == Merkle.hashSize else {
            throw TransparencyLogError("checkpoint: root hash line is not base64 of \(Merkle.hashSize) bytes")
        }
        guard !sigText.isEmpty else { throw TransparencyLogError("checkpoint: no signature lines") }
        guard sigText.hasSuffix("\n") else { throw TransparencyLogError("checkpoint: signature block does not end in a newline") }
        var sigs: [Signature] = []
        for line in sigText.dropLast().split(separator: "\n", omittingEmptySubsequences: false) {
            sigs.append(try Self.signatureLine(line))
        }

        origin = lines[0]
        self.size = size
        rootHash = Array(root)
        otherContent = Array(lines.dropFirst(3))
        signatures = sigs
        body = bodyText
    }

    /// Checks that a signature line from the log verifies with `key`; throws naming why none does.
    ///
    /// A line is the log's when its name is the origin, or — Rekor v1, whose origin is `<name> - <tree ID>` (seen in
    /// the `happy-path-*` cases: origin `rekor.sigstore.dev - 2605736670972794746`, signer `rekor.sigstore.dev`) — the
    /// origin's host part; and, when `keyHint` is given, its key hint is that one. Lines from other signers
    /// (witness cosignatures) and from other keys of the same name are skipped, not errors. `expected`, when
    /// given, is the log's name the origin must carry (the same two forms).
    public func verify(key: PublicKey, keyHint: [UInt8]?, origin expected: String?) throws(TransparencyLogError) {
        if let expected, !Self.origin(origin, isFor: expected) {
            throw TransparencyLogError("checkpoint: origin \"\(origin.prefix(120))\" is not the log \"\(expected.prefix(120))\"")
        }
        let fromLog = signatures.filter { Self.origin(origin, isFor: $0.name) }
        guard !fromLog.isEmpty else {
            throw TransparencyLogError("checkpoint: no signature line from the origin \"\(origin.prefix(120))\"")
        }
        let candidates = fromLog.filter { keyHint == nil || $0.keyHint == keyHint! }
        guard !candidates.isEmpty else {
            throw TransparencyLogError("checkpoint: no signature from the origin has the log's key hint \(Hex.encode(keyHint ?? []))")
        }
        let message = Array(body.utf8)
        guard candidates.contains(where: { key.verify($0.signature, over: message) }) else {
            throw TransparencyLogError("checkpoint: the log's signature does not verify with the log key")
        }
    }

    /// Checks that the checkpoint commits to the inclusion proof's tree: the same size and root hash.
    public func verifyMatches(treeSize: UInt64, rootHash: [UInt8]) throws(TransparencyLogError) {
        guard size == treeSize else {
            throw TransparencyLogError("checkpoint: tree size \(size) is not the inclusion proof's \(treeSize)")
        }
        guard self.rootHash == rootHash else {
            throw TransparencyLogError(
                "checkpoint: root hash \(Hex.encode(self.rootHash)) is not the inclusion proof's \(Hex.encode(rootHash))")
        }
    }

    // MARK: key hints

    /// Rekor v1's key hint: the first 4 bytes of SHA-256 of the log's DER `SubjectPublicKeyInfo` (which is also
    /// the first 4 bytes of its log ID). Confirmed with `happy-path-v0.3`: `c0d23d6a` from the public-good key.
    public static func keyHint(spki: [UInt8]) -> [UInt8] {
        Array(Merkle.sha256(spki).prefix(4))
    }

    /// A signed-note Ed25519 key's hint, as Rekor v2 uses: the first 4 bytes of
    /// SHA-256(name || 0x0A || 0x01 || raw 32-byte public key); nil when `key` is not Ed25519. Confirmed with
    /// `rekor2-happy-path` (and every `rekor2-checkpoint-*` case): name `log2025-alpha1.rekor.sigstage.dev` and the
    /// staging Ed25519 log key give `f30d5a99`, the signature line's hint and the first bytes of its log ID.
    public static func keyHint(name: String, ed25519 key: PublicKey) -> [UInt8]? {
        guard key.isEd25519 else { return nil }
        var raw = [UInt8](repeating: 0, count: 32)
        var len = raw.count
        guard EVP_PKEY_get_raw_public_key(key.pkey, &raw, &len) == 1, len == 32 else {
            ERR_clear_error()
            return nil
        }
        return Array(Merkle.sha256(Array(name.utf8), [0x0A, 0x01], raw).prefix(4))
    }

    // MARK: parsing helpers

    /// The index of the first newline of the last "\n\n".
    static func lastBlankLine(_ b: [UInt8]) -> Int? {
        guard b.count >= 2 else { return nil }
        var i = b.count - 2
        while i >= 0 {
            if b[i] == 0x0A && b[i + 1] == 0x0A { return i }
            i -= 1
        }
        return nil
    }

    /// A decimal with no sign and no leading zeros, that fits 64 bits.
    static func decimal(_ s: String) -> UInt64? {
        guard !s.isEmpty, s.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), s == "0" || !s.hasPrefix("0") else { return nil }
        return UInt64(s)
    }

    /// Whether `origin` names the log `name`: equal, or Rekor v1's `<name> - <tree ID>`.
    static func origin(_ origin: String, isFor name: String) -> Bool {
        if origin == name { return true }
        let prefix = name + " - "
        return origin.hasPrefix(prefix) && decimal(String(origin.dropFirst(prefix.count))) != nil
    }

    /// Parses `— <name> <base64>`; the decoded bytes are a 4-byte key hint and the signature.
    static func signatureLine(_ line: Substring) throws(TransparencyLogError) -> Signature {
        let dash = "\u{2014} "
        guard line.hasPrefix(dash) else {
            throw TransparencyLogError("checkpoint: signature line does not start with an em dash: \"\(line.prefix(80))\"")
        }
        let parts = line.dropFirst(dash.count).split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[0].contains("+") else {
            throw TransparencyLogError("checkpoint: signature line is not \"— <name> <signature>\": \"\(line.prefix(80))\"")
        }
        guard let raw = Data(base64Encoded: String(parts[1])), raw.count > 4 else {
            throw TransparencyLogError("checkpoint: signature from \"\(parts[0].prefix(80))\" is not base64 of a key hint and signature")
        }
        let bytes = Array(raw)
        return Signature(name: String(parts[0]), keyHint: Array(bytes[..<4]), signature: Array(bytes[4...]))
    }
}
