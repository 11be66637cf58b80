import Engine
import FoundationEssentials

/// Verifies a Sigstore bundle offline, as Sigstore clients do, against a trusted root read from a file.
///
/// In order: the transparency-log entries (each from a log of the trusted root whose key was valid then; the signed
/// entry timestamp, or the inclusion proof with its signed checkpoint; the body recording this very signature,
/// signer and artifact); the RFC 3161 timestamps (from a trusted TSA); at least one verified time; then, for a
/// certificate, its chain to a Fulcio CA valid at every verified time, its embedded SCTs and the expected identity
/// and issuer; and last the signature itself over the artifact, or the DSSE envelope and its in-toto subject.
public struct BundleVerifier: Sendable {
    /// Who must have signed.
    public enum Policy: Sendable {
        /// A key the verifier holds (a managed key; the bundle names it by hint only).
        case key(PublicKey)
        /// A keyless signature by this identity.
        case identity(CertificateIdentity)
    }

    /// What was signed: the bytes, or their SHA-256 digest.
    public enum Artifact: Sendable {
        case bytes([UInt8])
        case sha256([UInt8])

        var digest: [UInt8] {
            switch self {
            case .bytes(let b): SigstoreHash.sha256(b)
            case .sha256(let d): d
            }
        }
    }

    /// What a verification established.
    public struct Verified: Sendable {
        /// The key's fingerprint, or the certificate's identity and issuer.
        public var signer: String
        /// The times the signature is known to have existed by (log entries, timestamps).
        public var times: [Date]
        /// The log indices of the entries checked.
        public var logIndices: [Int64]
    }

    public let trustedRoot: TrustedRoot
    public let policy: Policy
    /// Entries whose integrated time is later than this many seconds ahead of the clock are refused.
    public var clockSkew: TimeInterval = 60
    /// The in-toto predicate type a DSSE bundle must have (an image signature: `BundleSigner.predicateType`); nil
    /// takes any statement naming the artifact.
    public var requiredPredicateType: String?
    /// With a key policy, leave the transparency log and timestamps unchecked (cosign's `--insecure-ignore-tlog`):
    /// the key is the trust, and bundles signed offline, as dray signs them, have neither. Keyless bundles are
    /// always checked through the log.
    public var ignoresTransparencyLog = false

    public init(trustedRoot: TrustedRoot, policy: Policy) {
        self.trustedRoot = trustedRoot
        self.policy = policy
    }

    /// Verifies `bundle` for `artifact`; throws `BundleVerificationError` with the reason.
    public func verify(_ bundle: SigstoreBundle, artifact: Artifact) throws -> Verified {
        // Who signed, as the bundle says and the policy allows.
        var leaf: Certificate?
        var intermediates: [Certificate] = []
        switch (policy, bundle.material.signer) {
        case (.key, .publicKey):
            break
        case (.identity, .certificate(let der)):
            leaf = try certificate(der)
        case (.identity, .chain(let ders)):
            let certs = try ders.map(certificate)
            if CertificateChain.includesRoot(certs, authorities: try authorities(trustedRoot.certificateAuthorities)) {
                throw BundleVerificationError("the bundle's chain includes a root certificate; a root comes only from the trusted root")
            }
            leaf = certs[0]
            intermediates = Array(certs.dropFirst())
        case (.key, _):
            throw BundleVerificationError("the bundle is signed with a certificate, not with a key")
        case (.identity, .publicKey):
            throw BundleVerificationError("the bundle is signed with a key; give it with --key")
        }
        let signerKey: PublicKey
        let entrySigner: LogEntryBody.Signer
        if let leaf {
            signerKey = leaf.publicKey
            entrySigner = .certificate(leaf.der)
        } else if case .key(let key) = policy {
            signerKey = key
            entrySigner = .publicKey(key.der)
        } else {
            throw BundleVerificationError("no key or certificate to verify with")
        }

        let signature: [UInt8]
        switch bundle.content {
        case .message(_, let s): signature = s
        case .dsse(let envelope): signature = try LogEntryBody.single(envelope)
        }

        // The transparency log (left unchecked for a key the caller trusts as it is).
        let offline = ignoresTransparencyLog && leaf == nil
        guard !bundle.material.tlogEntries.isEmpty || offline else { throw BundleVerificationError("the bundle has no transparency-log entry") }
        var times: [Date] = []
        var indices: [Int64] = []
        var untimed: [(index: Int64, log: TrustedRoot.Log)] = []
        for entry in offline ? [] : bundle.material.tlogEntries {
            guard let log = trustedRoot.transparencyLogs.first(where: { $0.logID == entry.logID }) else {
                throw BundleVerificationError("log entry \(entry.logIndex) is from a log the trusted root does not name")
            }
            guard let key = PublicKey(spki: log.publicKey) else { throw BundleVerificationError("the trusted root's log key \(log.baseURL) cannot be read") }
            do { try LogEntryBody.check(entry, content: bundle.content, artifactDigest: artifact.digest, signer: entrySigner) } catch {
                throw BundleVerificationError("log entry \(entry.logIndex): \(error)")
            }
            if bundle.version >= .v02, entry.inclusionProof == nil {
                throw BundleVerificationError("log entry \(entry.logIndex) has no inclusion proof (required from bundle v0.2)")
            }
            if let proof = entry.inclusionProof {
                do {
                    try Merkle.verifyInclusion(leafHash: Merkle.leafHash(entry.canonicalizedBody), index: UInt64(proof.logIndex),
                                               treeSize: UInt64(proof.treeSize), proof: proof.hashes, rootHash: proof.rootHash)
                    let checkpoint = try Checkpoint(parsing: proof.checkpoint)
                    // The key hint is the first four bytes of the log's key ID, for Rekor v1 and v2 alike.
                    try checkpoint.verify(key: key, keyHint: Array(log.logID.prefix(4)), origin: nil)
                    try checkpoint.verifyMatches(treeSize: UInt64(proof.treeSize), rootHash: proof.rootHash)
                } catch {
                    throw BundleVerificationError("log entry \(entry.logIndex): \(error)")
                }
            }
            if let integrated = entry.integratedTime, integrated > 0 {
                let time = Date(timeIntervalSince1970: TimeInterval(integrated))
                guard time <= Date().addingTimeInterval(clockSkew) else {
                    throw BundleVerificationError("log entry \(entry.logIndex) was integrated in the future (\(time))")
                }
                guard TrustedRoot.within(time, from: log.validFrom, until: log.validUntil) else {
                    throw BundleVerificationError("log entry \(entry.logIndex) is outside its log key's validity")
                }
                // The integrated time is a verified time only when the log signed it (the inclusion proof covers the
                // body alone, so without the promise the time is whatever the bundle says).
                if let set = entry.signedEntryTimestamp {
                    do {
                        try SignedEntryTimestamp.verify(set, body: entry.canonicalizedBodyText, integratedTime: integrated,
                                                        logID: entry.logID, logIndex: entry.logIndex, key: key)
                    } catch {
                        throw BundleVerificationError("log entry \(entry.logIndex): \(error)")
                    }
                    times.append(time)
                } else if entry.inclusionProof == nil {
                    throw BundleVerificationError("log entry \(entry.logIndex) has neither a signed entry timestamp nor an inclusion proof")
                }
            } else {
                // No time from the log (Rekor v2): its key must have been valid at a time a timestamp proves.
                untimed.append((entry.logIndex, log))
            }
            if bundle.version == .v01, entry.signedEntryTimestamp == nil {
                throw BundleVerificationError("log entry \(entry.logIndex) has no signed entry timestamp (bundle v0.1 needs one)")
            }
            indices.append(entry.logIndex)
        }

        // RFC 3161 timestamps.
        let tsas = try authorities(trustedRoot.timestampAuthorities)
        for der in offline ? [] : bundle.material.timestamps {
            do {
                let token = try TimestampToken(der: der)
                guard ["SHA256", "SHA384", "SHA512"].contains(token.hashAlgorithm.uppercased()) else {
                    throw BundleVerificationError("its message imprint uses \(token.hashAlgorithm), not SHA-256, SHA-384 or SHA-512")
                }
                let time = try token.verify(over: signature, authorities: tsas).time
                guard time <= Date().addingTimeInterval(clockSkew) else { throw BundleVerificationError("it is dated in the future (\(time))") }
                times.append(time)
            } catch {
                throw BundleVerificationError("timestamp: \(error)")
            }
        }
        for (index, log) in untimed where !times.contains(where: { TrustedRoot.within($0, from: log.validFrom, until: log.validUntil) }) {
            throw BundleVerificationError("log entry \(index): its log key is not valid at any verified time")
        }
        // A Rekor v2 entry carries no time: a timestamp must say when.
        guard !times.isEmpty || offline else { throw BundleVerificationError("no verified time: the bundle needs a signed entry timestamp or an RFC 3161 timestamp") }

        // The certificate, at every verified time.
        var signer: String
        switch policy {
        case .key(let key):
            signer = "key sha256:\(Hex.encode(SigstoreHash.sha256(key.der)))"
        case .identity(let identity):
            guard let leaf else { throw BundleVerificationError("no certificate") }
            let cas = try authorities(trustedRoot.certificateAuthorities)
            let logs = trustedRoot.ctLogs.compactMap { l in
                PublicKey(spki: l.publicKey).map { CTLog(keyID: l.logID, key: $0, validFrom: l.validFrom, validUntil: l.validUntil) }
            }
            for time in times {
                let authority: Authority
                do { authority = try CertificateChain.verify(leaf: leaf, intermediates: intermediates, authorities: cas, at: time) } catch {
                    throw BundleVerificationError("certificate: \(error)")
                }
                guard let issuer = CertificateChain.issuer(of: leaf, among: intermediates + authority.certificates) else {
                    throw BundleVerificationError("certificate: its issuer is not in the chain")
                }
                do { _ = try SignedCertificateTimestamps.verify(leaf: leaf, issuer: issuer, logs: logs, at: time) } catch {
                    throw BundleVerificationError("certificate timestamps (SCT): \(error)")
                }
            }
            guard identity.matches(sans: leaf.sans, issuer: leaf.oidcIssuer) else {
                throw BundleVerificationError("the certificate is for \(leaf.sans.joined(separator: ", ")) (issuer \(leaf.oidcIssuer ?? "none")), not \(identity)")
            }
            signer = "\(leaf.sans.first ?? "?") (issuer \(leaf.oidcIssuer ?? "?"))"
        }

        // The signature itself.
        switch bundle.content {
        case .message(let digest, let sig):
            if let digest {
                guard digest.algorithm == "SHA2_256", digest.digest == artifact.digest else {
                    throw BundleVerificationError("the bundle's message digest is not the artifact's")
                }
            }
            let ok = switch artifact {
            case .bytes(let b): signerKey.verify(sig, over: b)
            case .sha256(let d): signerKey.verify(sig, digest: d, hash: .sha256)
            }
            guard ok else { throw BundleVerificationError("the signature does not verify over the artifact") }
        case .dsse(let envelope):
            guard signerKey.verify(signature, over: envelope.preAuthenticationEncoding) else {
                throw BundleVerificationError("the DSSE envelope's signature does not verify")
            }
            // The envelope must say what it signs: an in-toto statement naming the artifact (and, when asked, of
            // one predicate type: an image signature is not any attestation).
            guard envelope.payloadType == "application/vnd.in-toto+json" else {
                throw BundleVerificationError("the DSSE payload is \(envelope.payloadType.prefix(80)), not an in-toto statement")
            }
            try InTotoStatement.require(envelope.payload, sha256: artifact.digest, predicateType: requiredPredicateType)
        }
        return Verified(signer: signer, times: times, logIndices: indices)
    }

    /// The bytes a lower-case hex string spells, or nil.
    public static func bytes(ofHex hex: String) -> [UInt8]? {
        guard hex.utf8.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(hex.utf8.count / 2)
        var high: UInt8?
        for c in hex.utf8 {
            guard let v = Hex.value(of: c) else { return nil }
            if let h = high { out.append(h << 4 | v); high = nil } else { high = v }
        }
        return out
    }

    func certificate(_ der: [UInt8]) throws -> Certificate {
        do { return try Certificate(der: der) } catch { throw BundleVerificationError("certificate: \(error)") }
    }

    func authorities(_ list: [TrustedRoot.Authority]) throws -> [Authority] {
        try list.map { a in
            Authority(certificates: try a.certificates.map(certificate), validFrom: a.validFrom, validUntil: a.validUntil)
        }
    }
}

/// An in-toto statement's type, predicate and subjects.
enum InTotoStatement {
    static let types: Set<String> = ["https://in-toto.io/Statement/v1", "https://in-toto.io/Statement/v0.1"]

    /// Throws unless the payload is an in-toto statement naming a subject with this SHA-256 digest (and of
    /// `predicateType`, when given).
    static func require(_ payload: [UInt8], sha256: [UInt8], predicateType: String?) throws {
        let statement = try SigstoreJSON(parsing: payload, limit: SigstoreBundle.maxSize, what: "the in-toto statement")
        guard let type = try statement.optionalString("_type"), types.contains(type) else {
            throw BundleVerificationError("the DSSE payload is not an in-toto statement (no known _type)")
        }
        if let predicateType, try statement.optionalString("predicateType") != predicateType {
            throw BundleVerificationError("the statement's predicate type is \((try? statement.optionalString("predicateType")).flatMap { $0 } ?? "none"), not \(predicateType)")
        }
        let hex = Hex.encode(sha256)
        for s in try statement.objects("subject") {
            if try s.optionalObject("digest")?.optionalString("sha256")?.lowercased() == hex { return }
        }
        throw BundleVerificationError("the in-toto statement has no subject with the artifact's digest sha256:\(hex)")
    }
}

/// Why a bundle did not verify.
public struct BundleVerificationError: Error, Sendable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
