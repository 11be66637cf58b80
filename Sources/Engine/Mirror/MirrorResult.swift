/// What happened to one image of a mirror run.
public struct MirrorResult: Sendable, Codable, Hashable {
    public enum Status: String, Sendable, Codable { case copied, skipped, failed }

    public var id: Int
    public var source: String
    public var destination: String
    /// The input line (the failed list holds these).
    public var line: String
    public var status: Status
    /// Digest written under the destination tag (or found there when skipped).
    public var digest: String?
    /// The source's top-level digest.
    public var sourceDigest: String?
    /// Platforms copied from an index (with `merged`, every platform of the index written).
    public var platforms: [String]
    /// The index was rewritten to the selected platforms (a new digest).
    public var rewritten: Bool
    public var bytesCopied: Int64
    public var blobsCopied: Int
    public var blobsMounted: Int
    public var blobsPresent: Int
    public var seconds: Double
    public var error: String?
    public var warning: String?
    /// Signature attachments of the source copied (or merged) to the destination.
    public var signaturesCopied: Int
    /// Signatures added at the destination by `--sigstore-private-key`.
    public var signaturesAdded: Int
    /// The filtered index was merged into the destination's index, keeping its other platforms (nil otherwise).
    public var merged: Bool?
    /// Skipped because `--records` holds this source digest: the destination was not asked (nil otherwise).
    public var recorded: Bool?
    /// What happened to each attachment (referrer or cosign tag) of the image; nil when it has none.
    public var attachments: [AttachmentResult]?
    /// Which signature let the image through the gate (`--verify-key`, `--verify-certificate-identity`); nil without one.
    public var admittedBy: String?

    public init(id: Int, source: String, destination: String, line: String, status: Status, digest: String?,
                sourceDigest: String?, platforms: [String], rewritten: Bool, bytesCopied: Int64, blobsCopied: Int,
                blobsMounted: Int, blobsPresent: Int, seconds: Double, error: String?, warning: String?,
                signaturesCopied: Int = 0, signaturesAdded: Int = 0, merged: Bool? = nil, recorded: Bool? = nil,
                attachments: [AttachmentResult]? = nil, admittedBy: String? = nil) {
        self.id = id
        self.source = source
        self.destination = destination
        self.line = line
        self.status = status
        self.digest = digest
        self.sourceDigest = sourceDigest
        self.platforms = platforms
        self.rewritten = rewritten
        self.bytesCopied = bytesCopied
        self.blobsCopied = blobsCopied
        self.blobsMounted = blobsMounted
        self.blobsPresent = blobsPresent
        self.seconds = seconds
        self.error = error
        self.warning = warning
        self.signaturesCopied = signaturesCopied
        self.signaturesAdded = signaturesAdded
        self.merged = merged
        self.recorded = recorded
        self.attachments = attachments
        self.admittedBy = admittedBy
    }
}

/// Progress of a run, for logs and displays.
public enum MirrorEvent: Sendable {
    case started(MirrorTarget)
    case finished(MirrorResult)
    /// Blob bytes sent to a destination.
    case bytes(Int64)
}

/// Totals of a run.
public struct MirrorSummary: Sendable, Codable, Hashable {
    public var total: Int
    public var copied: Int
    public var skipped: Int
    public var failed: Int
    public var bytesCopied: Int64
    public var seconds: Double

    /// Totals of `results`; `invalidLines` (list lines that named no image) count as images that failed.
    public init(_ results: [MirrorResult], invalidLines: Int = 0, seconds: Double) {
        total = results.count + invalidLines
        copied = results.filter { $0.status == .copied }.count
        skipped = results.filter { $0.status == .skipped }.count
        failed = results.filter { $0.status == .failed }.count + invalidLines
        bytesCopied = results.reduce(0) { $0 + $1.bytesCopied }
        self.seconds = seconds
    }

    /// Bytes per second over the run.
    public var throughput: Double { seconds > 0 ? Double(bytesCopied) / seconds : 0 }
}
