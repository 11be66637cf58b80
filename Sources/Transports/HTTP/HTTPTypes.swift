import Engine
import FoundationEssentials

/// HTTP header fields in order, looked up case-insensitively.
public struct HTTPHeaders: Sendable, Sequence, ExpressibleByDictionaryLiteral, CustomStringConvertible {
    public private(set) var fields: [(name: String, value: String)] = []

    public init() {}
    public init(dictionaryLiteral elements: (String, String)...) {
        fields = elements.map { (name: $0.0, value: $0.1) }
    }

    /// Appends a field.
    public mutating func add(_ name: String, _ value: String) { fields.append((name, value)) }

    /// Replaces every field of that name with one.
    public mutating func set(_ name: String, _ value: String) {
        remove(name)
        add(name, value)
    }

    /// Removes every field of that name.
    public mutating func remove(_ name: String) {
        fields.removeAll { Self.sameName($0.name, name) }
    }

    /// The first value of a field.
    public subscript(_ name: String) -> String? {
        fields.first { Self.sameName($0.name, name) }?.value
    }

    /// All values of a field.
    public func values(_ name: String) -> [String] {
        fields.filter { Self.sameName($0.name, name) }.map(\.value)
    }

    public func makeIterator() -> IndexingIterator<[(name: String, value: String)]> { fields.makeIterator() }

    /// Header names compare ASCII case-insensitively (on bytes: no locale, no ICU, on every lookup of every
    /// response).
    static func sameName(_ a: String, _ b: String) -> Bool {
        let (x, y) = (a.utf8, b.utf8)
        guard x.count == y.count else { return false }
        for (p, q) in zip(x, y) where p != q {
            let lp = p >= 0x41 && p <= 0x5a ? p | 0x20 : p
            let lq = q >= 0x41 && q <= 0x5a ? q | 0x20 : q
            if lp != lq { return false }
        }
        return true
    }

    /// Headers for logs: credentials and tokens replaced by `[redacted]`.
    public var description: String {
        fields.map { f in
            "\(f.name): \(HTTPRedaction.isSecretHeader(f.name) ? "[redacted]" : f.value)"
        }.joined(separator: ", ")
    }
}

/// TLS settings for one request.
public struct TLSOptions: Sendable, Hashable {
    /// Verify the server's certificate and host name.
    public var verify: Bool = true
    /// Extra trusted CA certificates (PEM), added to the system's.
    public var extraCAPEM: String?
    /// Client certificate and key files (PEM).
    public var clientCertificate: String?
    public var clientKey: String?

    public init(verify: Bool = true, extraCAPEM: String? = nil, clientCertificate: String? = nil,
                clientKey: String? = nil) {
        self.verify = verify
        self.extraCAPEM = extraCAPEM
        self.clientCertificate = clientCertificate
        self.clientKey = clientKey
    }
}

/// One HTTP request.
public struct HTTPRequest: Sendable {
    public var method: String
    public var url: URL
    public var headers: HTTPHeaders
    /// A body held in memory; streaming bodies are given to `HTTPClient.execute(_:bodyLength:body:)` instead.
    public var body: [UInt8]?
    public var tls: TLSOptions
    /// Follow 3xx redirects (up to 10), dropping `Authorization` whenever the scheme, host or port changes.
    public var followRedirects: Bool
    /// Overrides the client's connect timeout for this request.
    public var connectTimeout: Duration?
    /// The body is bulk (a blob): curl gets 128 KiB buffers for it instead of its default 16 KiB.
    public var bulk = false

    public init(method: String = "GET", url: URL, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8]? = nil,
                tls: TLSOptions = TLSOptions(), followRedirects: Bool = false) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.tls = tls
        self.followRedirects = followRedirects
    }
}

/// Client-wide settings.
public struct HTTPClientOptions: Sendable {
    /// Time allowed to establish a connection (TCP + TLS).
    public var connectTimeout: Duration = .seconds(30)
    /// A transfer slower than 1 byte/s for this long is aborted (paused transfers are exempt).
    public var lowSpeedTime: Duration = .seconds(60)
    /// Bytes of a response body buffered before the transfer is paused.
    public var responseBufferLimit: Int = 256 * 1024
    /// Bytes of a request body buffered before the producer waits.
    public var requestBufferLimit: Int = 256 * 1024
    /// Log each request at debug level.
    public var logRequests: Bool = true

    public init() {}
}

/// A failure below HTTP: connection, TLS, timeout, broken stream.
public struct TransportError: Error, Sendable, CustomStringConvertible {
    /// libcurl's error code.
    public let code: Int
    /// What libcurl said, with the URL's secrets removed.
    public let message: String
    /// The request's method and URL (query secrets redacted).
    public let request: String

    /// Whether retrying may help (network errors, timeouts, broken streams).
    public var isTemporary: Bool {
        switch code {
        // couldn't resolve proxy/host, couldn't connect, partial file, timeouts, send/recv errors, got nothing,
        // HTTP/2 stream errors, TLS connect error, HTTP/3, and a body curl could not rewind to send again on a
        // new connection (the reused one had been closed): a fresh attempt re-opens the body.
        case 5, 6, 7, 18, 28, 52, 55, 56, 16, 92, 35, 95, 65: true
        default: false
        }
    }

    public var isTimeout: Bool { code == 28 }

    /// Whether TLS failed: the handshake, the peer's certificate or name, or a local certificate or CA file.
    public var isTLS: Bool { [35, 51, 53, 58, 59, 60, 64, 66, 77, 80, 82, 83, 90, 91, 98].contains(code) }

    public var description: String { "\(request): \(message)" }
}

/// Redaction rules shared by logs and errors.
public enum HTTPRedaction {
    /// Header names whose values are secrets.
    public static func isSecretHeader(_ name: String) -> Bool {
        let n = name.lowercased()
        return n == "authorization" || n == "proxy-authorization" || n == "cookie" || n == "set-cookie"
    }

    /// A request's step for retry backoff: `METHOD url` without the query, and an upload session's URL cut
    /// to `…/blobs/uploads/` (every session has its own id, yet a PUT failing again is the same step failing).
    static func step(_ request: String) -> String {
        var s = Substring(request)
        if let q = s.firstIndex(of: "?") { s = s[..<q] }
        if let r = s.firstRange(of: "/blobs/uploads/") { s = s[..<r.upperBound] }
        return String(s)
    }

    private static let secretQueryKeys = ["signature", "token", "credential", "password", "secret", "sig", "key"]

    /// A URL for logs: no user info, and values of signature/token-like query parameters replaced.
    public static func url(_ url: URL) -> String {
        guard var c = URLComponents(url: url, resolvingAgainstBaseURL: false) else { return "(url)" }
        c.user = nil
        c.password = nil
        if let items = c.queryItems {
            c.queryItems = items.map { item in
                let k = item.name.lowercased()
                if secretQueryKeys.contains(where: { k.contains($0) }) {
                    return URLQueryItem(name: item.name, value: "redacted")
                }
                return item
            }
        }
        return c.string ?? "(url)"
    }
}

extension TransportError: TemporaryError {
    public var failedStep: String? { HTTPRedaction.step(request) }
}
