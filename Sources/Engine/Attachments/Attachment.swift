/// How an attachment was found at its source.
public enum AttachmentOrigin: String, Sendable, Hashable, Codable {
    /// Listed by the registry's referrers API.
    case api
    /// Listed by the referrers fallback tag `sha256-<hex>`.
    case fallbackTag = "fallback-tag"
    /// A cosign legacy tag `sha256-<hex>.sig`, `.att` or `.sbom`.
    case legacyTag = "legacy-tag"
}

/// Something attached to a manifest: an OCI 1.1 referrer (a manifest whose `subject` names it) or a cosign legacy
/// tag's manifest.
public struct Attachment: Sendable, Hashable {
    /// The manifest it is attached to.
    public var subject: Digest
    /// The attachment manifest (digest, media type, size; `artifactType` and annotations as listed).
    public var descriptor: Descriptor
    /// The legacy kind when it lives under a cosign tag; nil for a referrer.
    public var legacy: AttachmentTag.Legacy?
    public var origin: AttachmentOrigin

    public init(subject: Digest, descriptor: Descriptor, legacy: AttachmentTag.Legacy? = nil, origin: AttachmentOrigin) {
        self.subject = subject
        self.descriptor = descriptor
        self.legacy = legacy
        self.origin = origin
    }

    /// What it is, for filters and reports: the listed `artifactType` of a referrer; for a legacy tag its kind's
    /// name (`cosign.sig`, `cosign.att`, `cosign.sbom`).
    public var type: String {
        if let legacy { return "cosign.\(legacy.rawValue)" }
        return descriptor.artifactType ?? descriptor.mediaType.rawValue
    }

    /// Whether it is a signature: cosign `.sig`, a Sigstore bundle, a notation signature or cosign's
    /// referrer-mode signature.
    public var isSignature: Bool { Self.isSignature(type: type) }

    /// Whether an attachment of `type` (see `type`) is a signature.
    public static func isSignature(type: String) -> Bool {
        type == "cosign.sig" || signatureTypes.contains { type.hasPrefix($0) }
    }

    /// Artifact types that are signatures (prefixes: bundle media types carry a version).
    public static let signatureTypes = [
        "application/vnd.dev.sigstore.bundle",
        "application/vnd.cncf.notary.signature",
        "application/vnd.dev.cosign.artifact.sig",
    ]
}

/// What happened to one attachment of an image, for the run's report.
public struct AttachmentResult: Sendable, Hashable, Codable {
    public enum Status: String, Sendable, Hashable, Codable {
        /// Written to the destination now.
        case copied
        /// Already at the destination (and listed for its subject).
        case present
        /// Left out: by a filter, or because its subject was not written (a filtered index).
        case skipped
        case failed
    }

    public var digest: String
    public var subject: String
    /// The artifact type, or the legacy kind (`cosign.sig`).
    public var type: String
    /// How it was found: `api`, `fallback-tag` or `legacy-tag`.
    public var found: AttachmentOrigin
    public var status: Status
    /// Why it was skipped or failed.
    public var reason: String?

    /// Whether it is a signature (see `Attachment.isSignature`).
    public var isSignature: Bool { Attachment.isSignature(type: type) }

    public init(_ a: Attachment, status: Status, reason: String? = nil) {
        digest = a.descriptor.digest.description
        subject = a.subject.description
        type = a.type
        found = a.origin
        self.status = status
        self.reason = reason
    }
}
