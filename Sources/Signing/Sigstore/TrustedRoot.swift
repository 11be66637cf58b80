import FoundationEssentials

/// A Sigstore `trusted_root.json`: the transparency logs, certificate authorities (Fulcio), CT logs and timestamp
/// authorities a verifier trusts, each with the window in which it is trusted. Read from a file, never fetched.
public struct TrustedRoot: Sendable {
    /// A log (Rekor or CT) and its key.
    public struct Log: Sendable {
        public var baseURL: String
        /// The key ID bundles and SCTs name the log by.
        public var logID: [UInt8]
        /// DER `SubjectPublicKeyInfo`.
        public var publicKey: [UInt8]
        public var keyDetails: String
        public var validFrom: Date?
        public var validUntil: Date?
    }

    /// A certificate authority (Fulcio) or timestamp authority: its chain, leaf-most first and root last.
    public struct Authority: Sendable {
        public var uri: String
        public var certificates: [[UInt8]]
        public var validFrom: Date?
        public var validUntil: Date?
    }

    public var transparencyLogs: [Log]
    public var certificateAuthorities: [Authority]
    public var ctLogs: [Log]
    public var timestampAuthorities: [Authority]

    /// A root that trusts nothing: for bundles checked with a key alone (dray's own, signed offline).
    public static let empty = TrustedRoot(transparencyLogs: [], certificateAuthorities: [], ctLogs: [], timestampAuthorities: [])

    init(transparencyLogs: [Log], certificateAuthorities: [Authority], ctLogs: [Log], timestampAuthorities: [Authority]) {
        self.transparencyLogs = transparencyLogs
        self.certificateAuthorities = certificateAuthorities
        self.ctLogs = ctLogs
        self.timestampAuthorities = timestampAuthorities
    }

    /// The largest trusted root read.
    public static let maxSize = 4 << 20

    /// Reads a trusted root's JSON.
    public init(json bytes: [UInt8]) throws {
        let root = try SigstoreJSON(parsing: bytes, limit: Self.maxSize, what: "the trusted root")
        let mediaType = try root.optionalString("mediaType") ?? ""
        guard mediaType.hasPrefix("application/vnd.dev.sigstore.trustedroot") else {
            throw SigstoreFormatError("mediaType \"\(mediaType.prefix(80))\" is not a Sigstore trusted root")
        }
        transparencyLogs = try root.objects("tlogs").map(Self.log)
        ctLogs = try root.objects("ctlogs").map(Self.log)
        certificateAuthorities = try root.objects("certificateAuthorities").map(Self.authority)
        timestampAuthorities = try root.objects("timestampAuthorities").map(Self.authority)
    }

    /// Reads the trusted root in `file`.
    public init(file: String) throws {
        guard let data = FileManager.default.contents(atPath: file) else { throw SigstoreFormatError("\(file): cannot be read") }
        do { try self.init(json: Array(data)) } catch let e as SigstoreFormatError { throw SigstoreFormatError("\(file): \(e)") }
    }

    static func log(_ l: SigstoreJSON) throws -> Log {
        let key = try l.object("publicKey")
        let window = try key.optionalObject("validFor")
        guard let start = try window?.optionalTime("start") else {
            throw SigstoreFormatError("\(key.name("validFor.start")) is missing: a log key is trusted from a stated time")
        }
        return Log(baseURL: try l.optionalString("baseUrl") ?? "", logID: try l.object("logId").bytes("keyId"),
                   publicKey: try key.bytes("rawBytes"), keyDetails: try key.optionalString("keyDetails") ?? "",
                   validFrom: start, validUntil: try window?.optionalTime("end"))
    }

    static func authority(_ a: SigstoreJSON) throws -> Authority {
        let certs = try a.object("certChain").objects("certificates").map { try $0.bytes("rawBytes") }
        guard !certs.isEmpty else { throw SigstoreFormatError("\(a.name("certChain.certificates")) is empty") }
        let window = try a.optionalObject("validFor")
        return Authority(uri: try a.optionalString("uri") ?? "", certificates: certs,
                         validFrom: try window?.optionalTime("start"), validUntil: try window?.optionalTime("end"))
    }
}

extension TrustedRoot {
    /// Whether `time` falls within a window (its end included; an open end is trusted still).
    static func within(_ time: Date, from: Date?, until: Date?) -> Bool {
        if let from, time < from { return false }
        if let until, time > until { return false }
        return true
    }
}
