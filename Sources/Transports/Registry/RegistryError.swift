import Engine
import FoundationEssentials

/// A distribution-API error code (`errors[].code` in a registry's error body).
public struct RegistryErrorCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    public static let blobUnknown = Self(rawValue: "BLOB_UNKNOWN")
    public static let blobUploadInvalid = Self(rawValue: "BLOB_UPLOAD_INVALID")
    public static let blobUploadUnknown = Self(rawValue: "BLOB_UPLOAD_UNKNOWN")
    public static let digestInvalid = Self(rawValue: "DIGEST_INVALID")
    public static let manifestBlobUnknown = Self(rawValue: "MANIFEST_BLOB_UNKNOWN")
    public static let manifestInvalid = Self(rawValue: "MANIFEST_INVALID")
    public static let manifestUnknown = Self(rawValue: "MANIFEST_UNKNOWN")
    public static let nameInvalid = Self(rawValue: "NAME_INVALID")
    public static let nameUnknown = Self(rawValue: "NAME_UNKNOWN")
    public static let sizeInvalid = Self(rawValue: "SIZE_INVALID")
    public static let unauthorized = Self(rawValue: "UNAUTHORIZED")
    public static let denied = Self(rawValue: "DENIED")
    public static let unsupported = Self(rawValue: "UNSUPPORTED")
    public static let tooManyRequests = Self(rawValue: "TOOMANYREQUESTS")
    public static let unavailable = Self(rawValue: "UNAVAILABLE")
    public static let unknown = Self(rawValue: "UNKNOWN")
    /// Harbor's non-standard code for anything missing (a project, an artifact).
    public static let notFound = Self(rawValue: "NOT_FOUND")
}

/// An error answer from a registry: HTTP status, distribution error codes, and whether retrying may help.
public struct RegistryError: Error, Sendable, CustomStringConvertible {
    public let status: Int
    public let codes: [RegistryErrorCode]
    /// The registry's messages, shortened.
    public let messages: [String]
    /// How long the registry asked us to wait (`Retry-After`).
    public let retryAfter: Duration?
    /// `registry/repository` the request concerned.
    public let target: String
    /// `METHOD url` with secrets redacted.
    public let request: String

    public init(status: Int, codes: [RegistryErrorCode] = [], messages: [String] = [], retryAfter: Duration? = nil,
                target: String, request: String) {
        self.status = status
        self.codes = codes
        self.messages = messages
        self.retryAfter = retryAfter
        self.target = target
        self.request = request
    }

    /// Whether retrying the request may succeed: 408, 429, 5xx (but 501), or a TOOMANYREQUESTS/UNAVAILABLE code.
    /// A manifest refused with MANIFEST_BLOB_UNKNOWN right after its blobs were placed is too: the distribution
    /// registry rewrites a blob's link file in place when another client commits the same blob to the same
    /// repository, and a manifest checked in that moment finds no link (seen with two mirrors writing one image).
    public var isTemporary: Bool {
        if codes.contains(.tooManyRequests) || codes.contains(.unavailable) || codes.contains(.manifestBlobUnknown) { return true }
        return status == 408 || status == 429 || (status >= 500 && status != 501)
    }

    /// Whether the error says the thing asked for does not exist.
    public var isNotFound: Bool {
        status == 404 || codes.contains(.manifestUnknown) || codes.contains(.blobUnknown)
            || codes.contains(.nameUnknown) || codes.contains(.notFound)
    }

    public var description: String {
        let detail = ([codes.map(\.rawValue).joined(separator: ", ")] + messages).filter { !$0.isEmpty }
            .joined(separator: ": ")
        let suffix = detail.isEmpty ? "" : " (\(detail))"
        switch status {
        case 401: return "authentication required for \(target)\(suffix)"
        case 403: return "access denied for \(target)\(suffix)"
        case 404: return "not found: \(target)\(suffix)"
        case 429: return "rate limited by \(target)'s registry\(suffix)"
        default: return "\(request) failed with HTTP \(status) for \(target)\(suffix)"
        }
    }

    /// Builds the error for a response, reading the distribution error body from `body`.
    static func from(status: Int, headers: HTTPHeaders, body: [UInt8], target: String, request: String)
        -> RegistryError
    {
        struct Body: Decodable {
            struct E: Decodable {
                var code: String?
                var message: String?
            }
            var errors: [E]?
        }
        var codes: [RegistryErrorCode] = []
        var messages: [String] = []
        if let decoded = try? JSONDecoder().decode(Body.self, from: Data(body)) {
            for e in decoded.errors ?? [] {
                if let c = e.code { codes.append(RegistryErrorCode(rawValue: String(c.prefix(64)))) }
                if let m = e.message, !m.isEmpty { messages.append(String(m.prefix(200))) }
            }
        }
        return RegistryError(status: status, codes: codes, messages: messages,
                             retryAfter: parseRetryAfter(headers["Retry-After"]), target: target, request: request)
    }

    /// `Retry-After` as seconds or an HTTP date.
    static func parseRetryAfter(_ value: String?) -> Duration? {
        guard let value = value?.trimmingSpaces(), !value.isEmpty else { return nil }
        if let s = Int(value) { return .seconds(max(0, min(s, 3600))) }
        if let d = InternetTime.parseHTTPDate(value) { return .seconds(max(0, min(Int(d.timeIntervalSinceNow), 3600))) }
        return nil
    }
}

/// The registry answered in a way the protocol does not allow.
public struct RegistryProtocolError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

extension RegistryError: TemporaryError {
    public var failedStep: String? { HTTPRedaction.step(request) }
}

extension RegistryError: DigestRefusal {
    /// DIGEST_INVALID: the registry hashed what it was sent and refused it.
    public var refusesDigest: Bool { codes.contains(.digestInvalid) }
}
