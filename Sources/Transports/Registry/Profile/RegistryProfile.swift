import Engine

/// What dray does for one registry host: connection and pacing limits, how blobs are uploaded and checked, how
/// tags and referrers are listed. Every field is optional; a resolved profile (`RegistryProfiles.resolve`) has
/// each value from the first source that sets it: flags, the user's file, built-in knowledge of the host's kind.
public struct RegistryProfile: Sendable, Equatable {
    /// The implementation the host runs (built in for well-known hosts, or from the user's file).
    public var kind: RegistryKind?
    /// The host that serves the API (`docker.io` → `registry-1.docker.io`).
    public var apiHost: String?
    /// Require HTTPS and verify certificates.
    public var tlsVerify: Bool?
    /// Folder of per-registry certificate folders.
    public var certDir: String?
    /// An auth file searched before the default ones.
    public var authFile: String?
    /// A `docker-credential-<name>` helper asked before the auth files.
    public var credentialHelper: String?
    /// Requests in flight at most.
    public var maxConnections: Int?
    /// Requests started per second at most.
    public var requestsPerSecond: Double?
    /// How blobs are uploaded.
    public var upload: UploadMode?
    /// Whether cross-repository mounts are tried.
    public var mount: MountPolicy?
    /// How referrers are written.
    public var referrers: ReferrersMode?
    /// Tags asked for per page (`n`).
    public var tagPageSize: Int?
    /// How a blob's presence is checked.
    public var blobCheck: BlobExistenceCheck?
    /// Requests left (`RateLimit-Remaining`) below which the host is paused rather than run into 429s.
    public var rateLimitMin: Int?

    public init() {}

    /// Every field, by its key in the profile file.
    public enum Field: String, Sendable, CaseIterable {
        case kind, apiHost, tlsVerify, certDir, authFile, credentialHelper, maxConnections, requestsPerSecond
        case upload, chunkSize, mount, referrers, tagPageSize, blobCheck, rateLimitMin
    }

    /// The fields this profile sets.
    public var fieldsSet: [Field] {
        Field.allCases.filter { value($0) != nil }
    }

    /// A field's value as text (nil when unset), as the profile file spells it.
    public func value(_ field: Field) -> String? {
        switch field {
        case .kind: kind?.rawValue
        case .apiHost: apiHost
        case .tlsVerify: tlsVerify.map { "\($0)" }
        case .certDir: certDir
        case .authFile: authFile
        case .credentialHelper: credentialHelper
        case .maxConnections: maxConnections.map { "\($0)" }
        case .requestsPerSecond: requestsPerSecond.map { "\($0)" }
        case .upload: upload.map(\.name)
        case .chunkSize: upload.flatMap { if case .chunked(let n) = $0 { "\(n)" } else { nil } }
        case .mount: mount?.rawValue
        case .referrers: referrers?.rawValue
        case .tagPageSize: tagPageSize.map { "\($0)" }
        case .blobCheck: blobCheck?.rawValue
        case .rateLimitMin: rateLimitMin.map { "\($0)" }
        }
    }

    /// This profile with every unset field taken from `other`; `origins` records where each taken value came from.
    func filled(from other: RegistryProfile, origin: ProfileOrigin, into origins: inout [Field: ProfileOrigin]) -> RegistryProfile {
        filled(from: other, origin: { _ in origin }, into: &origins)
    }

    /// This profile with every unset field taken from `other`, each field's origin given by `origin(field)` (a
    /// file names a line per key).
    func filled(from other: RegistryProfile, origin: (Field) -> ProfileOrigin,
                into origins: inout [Field: ProfileOrigin]) -> RegistryProfile {
        var p = self
        func take<T>(_ path: WritableKeyPath<RegistryProfile, T?>, _ field: Field) {
            if p[keyPath: path] == nil, let v = other[keyPath: path] {
                p[keyPath: path] = v
                origins[field] = origin(field)
                if field == .upload, case .chunked = v as? UploadMode { origins[.chunkSize] = origin(.chunkSize) }
            }
        }
        take(\.kind, .kind)
        take(\.apiHost, .apiHost)
        take(\.tlsVerify, .tlsVerify)
        take(\.certDir, .certDir)
        take(\.authFile, .authFile)
        take(\.credentialHelper, .credentialHelper)
        take(\.maxConnections, .maxConnections)
        take(\.requestsPerSecond, .requestsPerSecond)
        take(\.upload, .upload)
        take(\.mount, .mount)
        take(\.referrers, .referrers)
        take(\.tagPageSize, .tagPageSize)
        take(\.blobCheck, .blobCheck)
        take(\.rateLimitMin, .rateLimitMin)
        return p
    }
}

/// Whether cross-repository mounts are tried at a host.
public enum MountPolicy: String, Sendable, CaseIterable {
    /// Try them; stop after the registry answered 3 mounts with an upload session instead.
    case auto
    /// Never: upload.
    case never
}

/// How a blob's presence at a registry is checked.
public enum BlobExistenceCheck: String, Sendable, CaseIterable {
    /// `HEAD /v2/<name>/blobs/<digest>`.
    case head
    /// A one-byte ranged GET, for registries whose HEAD answers 200 for blobs they cannot serve.
    case get
}

/// Where a profile value came from.
public enum ProfileOrigin: Sendable, Equatable, CustomStringConvertible {
    case flag(String)
    case file(String, line: Int?)
    case builtIn(RegistryKind)
    case `default`

    public var description: String {
        switch self {
        case .flag(let f): "flag \(f)"
        case .file(let path, let line): "\(path)\(line.map { ":\($0)" } ?? "")"
        case .builtIn(let kind): "built in (\(kind.rawValue))"
        case .default: "default"
        }
    }
}

extension UploadMode {
    /// The mode's name in the profile file.
    public var name: String {
        switch self {
        case .monolithic: "monolithic"
        case .streamed: "streamed"
        case .chunked: "chunked"
        }
    }
}
