import Engine
import FoundationEssentials

/// How to talk to one registry.
public struct RegistryOptions: Sendable {
    /// Require HTTPS and verify certificates. `false` allows plain HTTP and self-signed certificates. Loopback
    /// registries (127.0.0.0/8, localhost, ::1) may use plain HTTP either way, as Docker allows.
    public var tlsVerify: Bool
    /// Folder of per-registry certificate folders (`<certDir>/<host[:port]>/`): `*.crt` are extra CAs,
    /// `*.cert` + `*.key` a client certificate.
    public var certDir: String
    /// Where credentials come from.
    public var credentials: CredentialStore
    /// Blob upload strategy.
    public var uploadMode: UploadMode
    /// Attempts to resume a broken blob download with a Range request.
    public var resumeAttempts: Int
    /// Admits each request (connection caps, pacing, backoff after 429/503), when set.
    public var gate: (any RequestGate)?
    /// The run's host profiles: a client applies its host's profile to these options when made (see
    /// `applying`), and the clients of one host made from copies of these options share what is learned.
    public var profiles = RegistryProfiles()
    /// `tlsVerify` and `certDir` were given by flags: they win over a profile's values.
    public var tlsVerifyFromFlag = false
    public var certDirFromFlag = false
    /// The host's profile, once applied: mounts, blob checks, tag pages, referrers, rate-limit minimum, API host.
    public internal(set) var profile = RegistryProfile()
    /// What the run learns about the host (shared by its clients; see `RegistryProfiles.learned`).
    public internal(set) var learned = LearnedFeatures()
    /// A `RateLimit-Remaining` window longer than this is not waited for: counted requests fail instead.
    public var rateLimitMaxWait: Duration = .seconds(300)

    public init(tlsVerify: Bool = true, certDir: String = "/etc/docker/certs.d",
                credentials: CredentialStore = CredentialStore(), uploadMode: UploadMode = .monolithic,
                resumeAttempts: Int = 3) {
        self.tlsVerify = tlsVerify
        self.certDir = certDir
        self.credentials = credentials
        self.uploadMode = uploadMode
        self.resumeAttempts = resumeAttempts
    }
}

/// How blobs are uploaded.
public enum UploadMode: Sendable, Hashable {
    /// POST to open a session, then one PUT carrying the whole blob with its Content-Length.
    case monolithic
    /// POST, then one PATCH streaming the blob without a Content-Length (chunked transfer encoding), then a
    /// closing PUT (Docker's way).
    case streamed
    /// POST, then PATCHes of at most `chunkSize` bytes with Content-Range, then a closing PUT.
    case chunked(chunkSize: Int)

    /// The chunk size when none is given.
    public static let defaultChunkSize = 16 << 20
}

extension RegistryOptions {
    /// These options with `registry`'s profile applied: values the caller's flags did not set come from the
    /// profile; `learned` is the host's shared record.
    func applying(profileOf registry: String) -> RegistryOptions {
        var o = self
        let p = profiles.resolve(registry).profile
        o.profile = p
        o.learned = profiles.learned(registry)
        if !tlsVerifyFromFlag, let v = p.tlsVerify { o.tlsVerify = v }
        if !certDirFromFlag, let d = p.certDir { o.certDir = d }
        if let mode = p.upload { o.uploadMode = mode }
        if let f = p.authFile { o.credentials.authFiles.insert(f, at: 0) }
        if let h = p.credentialHelper { o.credentials.helper = h }
        return o
    }
}

/// The TLS settings for a registry host from a Docker-style certificate folder.
enum CertificateFolder {
    static func tlsOptions(host: String, certDir: String, verify: Bool) -> TLSOptions {
        var tls = TLSOptions(verify: verify)
        let folder = "\(certDir)/\(host)"
        guard let files = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return tls }
        var pem = ""
        for f in files.sorted() where f.hasSuffix(".crt") {
            if let s = try? String(contentsOfFile: "\(folder)/\(f)", encoding: .utf8) { pem += s + "\n" }
        }
        if !pem.isEmpty { tls.extraCAPEM = pem }
        for f in files.sorted() where f.hasSuffix(".cert") {
            let key = "\(folder)/\(f.dropLast(5)).key"
            if FileManager.default.fileExists(atPath: key) {
                tls.clientCertificate = "\(folder)/\(f)"
                tls.clientKey = key
                break
            }
        }
        return tls
    }
}

/// Whether a registry host is on the loopback interface.
func isLoopbackHost(_ hostPort: String) -> Bool {
    var host = hostPort
    if host.hasPrefix("[") {
        host = String(host.dropFirst().prefix { $0 != "]" })
        return host == "::1"
    }
    if let colon = host.lastIndex(of: ":") { host = String(host[..<colon]) }
    if host == "localhost" { return true }
    let parts = host.split(separator: ".")
    return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
}
