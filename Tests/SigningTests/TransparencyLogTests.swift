import Engine
import Foundation
import Testing
@testable import Signing

/// One conformance case's first transparency-log entry and the trusted-root log it names, decoded from the JSON.
fileprivate struct TLogCase {
    let name: String
    let entry: [String: Any]
    let log: [String: Any]?

    static let root = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
        .appendingPathComponent("sigstore-conformance")

    /// Every case directory's name.
    static func all() -> [String] {
        let dir = root.appendingPathComponent("bundle-verify")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.filter { FileManager.default.fileExists(atPath: dir.appendingPathComponent("\($0)/bundle.sigstore.json").path) }
            .sorted()
    }

    /// nil when the bundle is not JSON or has no tlog entry.
    init?(_ name: String) {
        let dir = Self.root.appendingPathComponent("bundle-verify/\(name)")
        guard let data = try? Data(contentsOf: dir.appendingPathComponent("bundle.sigstore.json")),
              let bundle = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let vm = bundle["verificationMaterial"] as? [String: Any],
              let entries = vm["tlogEntries"] as? [[String: Any]], let entry = entries.first
        else { return nil }
        self.name = name
        self.entry = entry
        var trustURL = dir.appendingPathComponent("trusted_root.json")
        if !FileManager.default.fileExists(atPath: trustURL.path) {
            trustURL = Self.root.appendingPathComponent("trusted_root.public-good.json")
        }
        let trust = (try? JSONSerialization.jsonObject(with: Data(contentsOf: trustURL))) as? [String: Any]
        let logs = trust?["tlogs"] as? [[String: Any]] ?? []
        let keyID = (entry["logId"] as? [String: Any])?["keyId"] as? String
        log = logs.first { ($0["logId"] as? [String: Any])?["keyId"] as? String == keyID }
    }

    static func bytes(_ b64: Any?) -> [UInt8]? { (b64 as? String).flatMap { Data(base64Encoded: $0) }.map(Array.init) }
    static func int(_ s: Any?) -> Int64? { (s as? String).flatMap { Int64($0) } ?? (s as? NSNumber)?.int64Value }

    var proof: [String: Any]? { entry["inclusionProof"] as? [String: Any] }
    var envelope: String? { (proof?["checkpoint"] as? [String: Any])?["envelope"] as? String }
    var logID: [UInt8]? { Self.bytes((entry["logId"] as? [String: Any])?["keyId"]) }
    var key: PublicKey? { Self.bytes((log?["publicKey"] as? [String: Any])?["rawBytes"]).flatMap { PublicKey(spki: $0) } }
    /// The log's name: its base URL's host.
    var logName: String? { (log?["baseUrl"] as? String).flatMap { URLComponents(string: $0) }.flatMap { u in u.host.map { $0 + (u.port.map { ":\($0)" } ?? "") } } }

    /// Merkle.verifyInclusion over the entry's body and proof.
    func verifyInclusion() throws {
        guard let proof, let body = Self.bytes(entry["canonicalizedBody"]), let index = Self.int(proof["logIndex"]),
              let size = Self.int(proof["treeSize"]), let root = Self.bytes(proof["rootHash"]),
              let hashes = proof["hashes"] as? [String]
        else { throw TransparencyLogError("test: no inclusion proof") }
        try Merkle.verifyInclusion(leafHash: Merkle.leafHash(body), index: UInt64(bitPattern: index),
                                   treeSize: UInt64(bitPattern: size), proof: hashes.compactMap { Self.bytes($0) },
                                   rootHash: root)
    }

    /// The log key's hint by the rule its kind uses (Rekor v2 Ed25519 or Rekor v1 SPKI).
    var keyHint: [UInt8]? {
        guard let key else { return nil }
        if key.isEd25519, let logName { return Checkpoint.keyHint(name: logName, ed25519: key) }
        return Checkpoint.keyHint(spki: key.der)
    }

    /// Parses the checkpoint, checks the log's signature (with the log's key hint and name) and that it commits to
    /// the inclusion proof's tree.
    func verifyCheckpoint() throws {
        guard let envelope, let key, let size = Self.int(proof?["treeSize"]), let root = Self.bytes(proof?["rootHash"])
        else { throw TransparencyLogError("test: no checkpoint or log key") }
        let cp = try Checkpoint(parsing: envelope)
        try cp.verify(key: key, keyHint: keyHint, origin: logName)
        try cp.verifyMatches(treeSize: UInt64(bitPattern: size), rootHash: root)
    }

    /// SignedEntryTimestamp.verify over the entry; nil when it has none.
    func verifySET() throws -> Bool {
        guard let promise = entry["inclusionPromise"] as? [String: Any] else { return false }
        guard let set = Self.bytes(promise["signedEntryTimestamp"]), let body = entry["canonicalizedBody"] as? String,
              let time = Self.int(entry["integratedTime"]), let index = Self.int(entry["logIndex"]), let logID,
              let key
        else { throw TransparencyLogError("test: incomplete entry or no log key") }
        try SignedEntryTimestamp.verify(set, body: body, integratedTime: time, logID: logID, logIndex: index, key: key)
        return true
    }
}

/// The error's text, or "ok".
fileprivate func outcome(_ body: () throws -> Void) -> String {
    do {
        try body()
        return "ok"
    } catch {
        return "\(error)"
    }
}

@Suite("transparency log: Merkle proofs, checkpoints, signed entry timestamps")
struct TransparencyLogTests {
    // MARK: the conformance cases

    /// The cases this part refuses: per check ("proof", "checkpoint", "set"), words its reason must carry. The first
    /// block are the cases it decides; the second, cases that fail for other reasons whose edited entries this part
    /// refuses too. Every check not named here must pass (or be absent).
    static let refused: [String: [String: String]] = [
        "inclusion-proof-corrupted-hash_fail": ["proof": "inclusion proof: computed root"],
        "invalid-inclusion-proof_fail": ["proof": "inclusion proof: computed root"],
        "checkpoint-wrong-roothash_fail": ["checkpoint": "tree size 75610772 is not the inclusion proof's 23083062"],
        "checkpoint-bad-keyhint_fail": ["checkpoint": "no signature from the origin has the log's key hint"],
        "invalid-checkpoint-signature_fail": ["checkpoint": "the log's signature does not verify"],
        "set-invalid-signature_fail": ["set": "signed entry timestamp: the log's signature does not verify"],
        "rekor2-checkpoint-missing-log-signature_fail": ["checkpoint": "no signature lines"],
        "rekor2-checkpoint-missing-origin_fail": ["checkpoint": "body has 2 lines"],
        "rekor2-checkpoint-missing-root-hash_fail": ["checkpoint": "body has 2 lines"],
        "rekor2-checkpoint-missing-size_fail": ["checkpoint": "body has 2 lines"],
        "rekor2-checkpoint-no-matching-signature_fail": ["checkpoint": "is not the log \"log2025-alpha1.rekor.sigstage.dev\""],
        "incorrect-public-key_fail": ["proof": "computed root", "set": "does not verify"],

        "bundle-empty-certificate-chain_fail": ["proof": "1 hashes where index 23083061 of 23083062 needs 10", "set": "does not verify"],
        "bundle-invalid-base64-signature_fail": ["proof": "computed root", "set": "does not verify"],
        "bundle-negative-log-index_fail": ["set": "does not verify"],
        "bundle-unknown-version_fail": ["set": "does not verify"],
    ]

    /// The outcome of each check on one case: "ok", "absent" or the refusal.
    fileprivate static func verdict(_ c: TLogCase) -> [String: String] {
        var set = "absent"
        let setOutcome = outcome { if try c.verifySET() { set = "ok" } }
        return [
            "proof": c.proof == nil ? "absent" : outcome(c.verifyInclusion),
            "checkpoint": c.envelope == nil ? "absent" : outcome(c.verifyCheckpoint),
            "set": setOutcome == "ok" ? set : setOutcome,
        ]
    }

    @Test("each case this part decides is refused for its reason; every other check of every case passes")
    func conformance() throws {
        let names = TLogCase.all()
        #expect(names.count == 70)
        var checked = 0
        for name in names {
            guard let c = TLogCase(name) else {
                #expect(name == "bundle-malformed-json_fail")
                continue
            }
            guard c.log != nil else {
                // The entry's log is not in the trusted root: the trusted-root lookup decides, not this part.
                #expect(name == "bundle-from-wrong-instance_fail")
                continue
            }
            checked += 1
            let expected = Self.refused[name] ?? [:]
            for (check, result) in Self.verdict(c) {
                if let reason = expected[check] {
                    #expect(result.contains(reason), "\(name) \(check): \(result)")
                } else {
                    #expect(result == "ok" || result == "absent", "\(name) \(check): \(result)")
                }
            }
        }
        #expect(checked == 68)
    }

    @Test("v1 and Rekor v2 happy paths: the inclusion proof, checkpoint and (v1) SET verify",
          arguments: ["happy-path-v0.1", "happy-path-v0.2", "happy-path-v0.3", "happy-path-v0.3-new-mediaType",
                      "happy-path-intoto-in-dsse-v3", "rekor2-happy-path", "rekor2-dsse-happy-path"])
    func happyPaths(_ name: String) throws {
        let c = try #require(TLogCase(name))
        if c.proof != nil {
            try c.verifyInclusion()
            try c.verifyCheckpoint()
        } else {
            #expect(name == "happy-path-v0.1")  // v0.1 bundles may carry only the SET
        }
        #expect(try c.verifySET() == !name.hasPrefix("rekor2"))
    }

    @Test("the Merkle proof cases fail on the root; the checkpoint cases pass the proof and fail on the checkpoint")
    func refusals() throws {
        for name in ["inclusion-proof-corrupted-hash_fail", "invalid-inclusion-proof_fail"] {
            let c = try #require(TLogCase(name))
            #expect(outcome(c.verifyInclusion).contains("computed root"), "\(name)")
        }
        for name in ["checkpoint-wrong-roothash_fail", "checkpoint-bad-keyhint_fail", "invalid-checkpoint-signature_fail"] {
            let c = try #require(TLogCase(name))
            #expect(outcome(c.verifyInclusion) == "ok", "\(name)")
            #expect(outcome(c.verifyCheckpoint) != "ok", "\(name)")
        }
        let bad = try #require(TLogCase("checkpoint-wrong-roothash_fail"))
        let cp = try Checkpoint(parsing: try #require(bad.envelope))
        // Self-consistent: the log signed it; it just commits to another tree.
        try cp.verify(key: try #require(bad.key), keyHint: bad.keyHint, origin: bad.logName)
        #expect(outcome { try cp.verifyMatches(treeSize: cp.size, rootHash: cp.rootHash) } == "ok")
        let set = try #require(TLogCase("set-invalid-signature_fail"))
        #expect(outcome { _ = try set.verifySET() }.contains("signed entry timestamp"))
    }

    @Test("rekor2 checkpoints: cosignatures and other keys of the origin are skipped; the log's line may come anywhere")
    func rekor2Checkpoints() throws {
        for name in ["rekor2-checkpoint-cosigned", "rekor2-checkpoint-multiple-cosigs", "rekor2-checkpoint-origin-not-first",
                     "rekor2-checkpoint-two-sigs-cosigned", "rekor2-checkpoint-two-sigs-from-origin"] {
            let c = try #require(TLogCase(name))
            #expect(outcome(c.verifyCheckpoint) == "ok", "\(name)")
            let envelope = try #require(c.envelope)
            #expect(try Checkpoint(parsing: envelope).signatures.count >= 2)
        }
        for name in ["rekor2-checkpoint-missing-log-signature_fail", "rekor2-checkpoint-missing-origin_fail",
                     "rekor2-checkpoint-missing-root-hash_fail", "rekor2-checkpoint-missing-size_fail"] {
            let c = try #require(TLogCase(name))
            let envelope = try #require(c.envelope)
            #expect(outcome { _ = try Checkpoint(parsing: envelope) } != "ok", "\(name)")
        }
        // Without the expected origin, the forged origin's line carries the log's hint but its signature fails.
        let forged = try #require(TLogCase("rekor2-checkpoint-no-matching-signature_fail"))
        let cp = try Checkpoint(parsing: try #require(forged.envelope))
        let forgedKey = try #require(forged.key)
        #expect(outcome { try cp.verify(key: forgedKey, keyHint: forged.keyHint, origin: nil) }
            .contains("does not verify"))
    }

    @Test("key hints: Rekor v1 is SHA-256(SPKI), Rekor v2 the note key ID; both are the log ID's first 4 bytes")
    func keyHints() throws {
        let v1 = try #require(TLogCase("happy-path-v0.3"))
        let v1Key = try #require(v1.key)
        let v1LogID = try #require(v1.logID)
        #expect(Checkpoint.keyHint(spki: v1Key.der) == Array(v1LogID.prefix(4)))
        #expect(Hex.encode(Checkpoint.keyHint(spki: v1Key.der)) == "c0d23d6a")
        #expect(Checkpoint.keyHint(name: "rekor.sigstore.dev", ed25519: v1Key) == nil)

        let v2 = try #require(TLogCase("rekor2-happy-path"))
        let v2Key = try #require(v2.key)
        let v2Name = try #require(v2.logName)
        let v2LogID = try #require(v2.logID)
        let hint = try #require(Checkpoint.keyHint(name: v2Name, ed25519: v2Key))
        #expect(Hex.encode(hint) == "f30d5a99")
        #expect(hint == Array(v2LogID.prefix(4)))
        let cp = try Checkpoint(parsing: try #require(v2.envelope))
        #expect(cp.signatures.map(\.keyHint) == [hint])
        #expect(cp.origin == "log2025-alpha1.rekor.sigstage.dev" && cp.size == 736 && cp.otherContent.isEmpty)
        #expect(Checkpoint.keyHint(spki: v2Key.der) != hint)
    }

    // MARK: Merkle trees built here

    /// RFC 6962 §2.1 MTH over leaf hashes.
    static func treeHash(_ leaves: ArraySlice<[UInt8]>) -> [UInt8] {
        if leaves.count == 1 { return leaves.first! }
        var k = 1
        while k * 2 < leaves.count { k *= 2 }
        let mid = leaves.startIndex + k
        return Merkle.nodeHash(treeHash(leaves[..<mid]), treeHash(leaves[mid...]))
    }

    /// RFC 6962 §2.1.1 PATH(m, D[n]).
    static func path(_ m: Int, _ leaves: ArraySlice<[UInt8]>) -> [[UInt8]] {
        if leaves.count == 1 { return [] }
        var k = 1
        while k * 2 < leaves.count { k *= 2 }
        let mid = leaves.startIndex + k
        if m < k { return path(m, leaves[..<mid]) + [treeHash(leaves[mid...])] }
        return path(m - k, leaves[mid...]) + [treeHash(leaves[..<mid])]
    }

    @Test("every leaf of every tree up to 40 leaves proves; a changed hash, index, size or length is refused")
    func builtTrees() throws {
        let all = (0..<40).map { Merkle.leafHash(Array("leaf \($0)".utf8)) }
        for n in 1...all.count {
            let leaves = all[..<n]
            let root = Self.treeHash(leaves)
            for m in 0..<n {
                let proof = Self.path(m, leaves)
                #expect(Merkle.inclusionProofLength(index: UInt64(m), treeSize: UInt64(n)) == proof.count)
                try Merkle.verifyInclusion(leafHash: leaves[m], index: UInt64(m), treeSize: UInt64(n), proof: proof, rootHash: root)
                if n > 1 {
                    var bent = proof
                    bent[m % proof.count][0] ^= 1
                    #expect(throws: TransparencyLogError.self) {
                        try Merkle.verifyInclusion(leafHash: leaves[m], index: UInt64(m), treeSize: UInt64(n), proof: bent, rootHash: root)
                    }
                    let other = (m + 1) % n
                    #expect(throws: TransparencyLogError.self) {
                        try Merkle.verifyInclusion(leafHash: leaves[m], index: UInt64(other), treeSize: UInt64(n),
                                                   proof: proof, rootHash: root)
                    }
                }
                // (The same proof under a larger size can still reach `root`: only a root the log signed binds the size.)
                if n < all.count {
                    #expect(throws: TransparencyLogError.self) {
                        try Merkle.verifyInclusion(leafHash: leaves[m], index: UInt64(m), treeSize: UInt64(n + 1), proof: proof,
                                                   rootHash: Self.treeHash(all[...n]))
                    }
                }
            }
        }
        func reason(_ index: UInt64, _ size: UInt64, _ proof: [[UInt8]]) -> String {
            outcome { try Merkle.verifyInclusion(leafHash: all[0], index: index, treeSize: size, proof: proof, rootHash: all[1]) }
        }
        #expect(reason(5, 5, []).contains("not below the tree size"))
        #expect(reason(0, 0, []).contains("not below the tree size"))
        #expect(reason(0, 4, [all[2]]).contains("1 hashes where index 0 of 4 needs 2"))
        #expect(reason(0, 2, [[1, 2, 3]]).contains("is 3 bytes"))
        #expect(reason(0, 1, []).contains("computed root"))
        #expect(Merkle.inclusionProofLength(index: UInt64.max - 1, treeSize: UInt64.max) == 63)
        #expect(Merkle.inclusionProofLength(index: 0, treeSize: UInt64.max) == 64)
        #expect(Merkle.inclusionProofLength(index: 0, treeSize: 1) == 0)
    }

    // MARK: checkpoints written here

    @Test("malformed checkpoints are refused with their reason")
    func malformedCheckpoints() {
        let root = Data(repeating: 7, count: 32).base64EncodedString()
        let sig = "— example.com/log " + Data([1, 2, 3, 4, 5, 6]).base64EncodedString() + "\n"
        func reason(_ s: String) -> String { outcome { _ = try Checkpoint(parsing: s) } }
        #expect(reason("example.com/log\n5\n\(root)\n\n\(sig)") == "ok")
        #expect(reason("example.com/log\n5\n\(root)\n\(sig)").contains("no blank line"))
        #expect(reason("example.com/log\n05\n\(root)\n\n\(sig)").contains("not a decimal"))
        #expect(reason("example.com/log\n-5\n\(root)\n\n\(sig)").contains("not a decimal"))
        #expect(reason("example.com/log\n5\nAAAA\n\n\(sig)").contains("root hash line"))
        #expect(reason("example.com/log\n\n5\n\(root)\n\n\(sig)").contains("blank line in the body"))
        #expect(reason("example.com/log\n5\n\(root)\n\n- example.com/log AQIDBAUG\n").contains("em dash"))
        #expect(reason("example.com/log\n5\n\(root)\n\n— example.com/log AQID\n").contains("not base64 of a key hint"))
        #expect(reason("example.com/log\n5\n\(root)\n\n— example.com/log AQIDBAUG").contains("newline"))
        #expect(reason("example.com/log\n5\n\(root)\n\n\(sig)\n").contains("blank line in the body"))
        #expect(reason("example.com/log\n5\n\(root)\n\n").contains("no signature lines"))
        let cp = try? Checkpoint(parsing: "example.com/log\n5\n\(root)\nTimestamp: 1\nmore\n\n\(sig)")
        #expect(cp?.otherContent == ["Timestamp: 1", "more"])
        #expect(cp?.body == "example.com/log\n5\n\(root)\nTimestamp: 1\nmore\n")
        #expect(cp?.signatures == [Checkpoint.Signature(name: "example.com/log", keyHint: [1, 2, 3, 4], signature: [5, 6])])
    }

    static func publicKey(_ key: SigningKey) throws -> PublicKey {
        try #require(PublicKey(spki: PEM(parsing: key.publicKey().pem(), file: "generated").der))
    }

    @Test("a checkpoint signed here verifies only with its origin's name, hint and key, over its exact body")
    func signedHere() throws {
        let key = try SigningKey.generate()
        let spki = try Self.publicKey(key)
        let hint = Checkpoint.keyHint(spki: spki.der)
        let body = "log.example - 42\n3\n\(Data(repeating: 9, count: 32).base64EncodedString())\n"
        let line = { (name: String, h: [UInt8], s: [UInt8]) in "— \(name) \(Data(h + s).base64EncodedString())\n" }
        let good = try key.sign(Array(body.utf8))
        let cp = try Checkpoint(parsing: body + "\n" + line("log.example", hint, good))
        try cp.verify(key: spki, keyHint: hint, origin: "log.example")
        try cp.verify(key: spki, keyHint: nil, origin: nil)
        #expect(outcome { try cp.verify(key: spki, keyHint: hint, origin: "other.example") }.contains("is not the log"))
        #expect(outcome { try cp.verify(key: spki, keyHint: [0, 0, 0, 0], origin: nil) }.contains("key hint"))
        let other = try Self.publicKey(SigningKey.generate())
        #expect(outcome { try cp.verify(key: other, keyHint: hint, origin: nil) }.contains("does not verify"))
        let witness = try Checkpoint(parsing: body + "\n" + line("witness.example", hint, good))
        #expect(outcome { try witness.verify(key: spki, keyHint: hint, origin: nil) }.contains("no signature line from the origin"))
        let tampered = try Checkpoint(parsing: body.replacingOccurrences(of: "\n3\n", with: "\n4\n") + "\n" + line("log.example", hint, good))
        #expect(outcome { try tampered.verify(key: spki, keyHint: hint, origin: nil) }.contains("does not verify"))
        #expect(outcome { try cp.verifyMatches(treeSize: 4, rootHash: cp.rootHash) }.contains("tree size 3"))
    }

    @Test("the SET payload is the sorted, spaceless JSON; a body that is not base64 is refused")
    func setPayload() throws {
        let p = try SignedEntryTimestamp.payload(body: "eyJ9+/==", integratedTime: 17, logID: [0xc0, 0xd2], logIndex: 5)
        #expect(String(decoding: p, as: UTF8.self) == #"{"body":"eyJ9+/==","integratedTime":17,"logID":"c0d2","logIndex":5}"#)
        #expect(throws: TransparencyLogError.self) {
            try SignedEntryTimestamp.payload(body: "a\"b", integratedTime: 1, logID: [], logIndex: 1)
        }
    }
}
