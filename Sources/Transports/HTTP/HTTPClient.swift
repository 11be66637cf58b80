import Engine
import FoundationEssentials
import Logging

/// An HTTP client over the shared libcurl loop.
///
/// Responses stream: `execute` returns once the head has arrived and the body is pulled chunk by chunk, with the
/// transfer paused whenever the consumer falls behind. Request bodies can stream too, through a producer closure
/// that writes into a bounded buffer. Redirects are followed only when a request asks, and `Authorization` is
/// never carried to another scheme, host or port.
public struct HTTPClient: Sendable {
    public let options: HTTPClientOptions
    public let logger: Logger

    public init(options: HTTPClientOptions = HTTPClientOptions(), logger: Logger = Logger(label: "dray.http")) {
        self.options = options
        self.logger = logger
    }

    /// Sends a request whose body (if any) is in memory.
    public func execute(_ request: HTTPRequest) async throws -> HTTPResponse {
        var request = request
        let origin = request.url
        var hops = 0
        while true {
            let response = try await send(request, bodyLength: nil) { _ in }
            guard request.followRedirects, [301, 302, 303, 307, 308].contains(response.status),
                  let location = response.headers["Location"]
            else { return response }
            response.discard()
            hops += 1
            guard hops <= 10 else { throw HTTPRedirectError.tooMany(HTTPRedaction.url(request.url)) }
            request = try Self.redirected(request, to: location, origin: origin)
        }
    }

    /// Sends a request with a streaming body of exactly `bodyLength` bytes written by `body` (-1: a length not
    /// known in advance, sent with chunked transfer encoding).
    ///
    /// If `body` throws, the upload is aborted (the server never sees a complete body) and that error is
    /// rethrown. If the server answers before the body is complete, the answer is returned.
    public func execute(
        _ request: HTTPRequest, bodyLength: Int64,
        body: @escaping @Sendable (HTTPBodyWriter) async throws -> Void
    ) async throws -> HTTPResponse {
        try await send(request, bodyLength: bodyLength, body: body)
    }

    /// Sends `request`: with `bodyLength`, its body streams from `body`; without, `request.body` is the body.
    private func send(
        _ request: HTTPRequest, bodyLength: Int64?,
        body: @escaping @Sendable (HTTPBodyWriter) async throws -> Void
    ) async throws -> HTTPResponse {
        let started = ContinuousClock.now
        let transfer = try CurlTransfer(request: request, bodyLength: bodyLength, options: options)
        transfer.start()
        let head: (status: Int, headers: HTTPHeaders)
        do {
            if bodyLength != nil {
                head = try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        do {
                            try await body(HTTPBodyWriter(transfer: transfer))
                            transfer.finishUpload()
                        } catch {
                            transfer.abortUpload(error)
                        }
                    }
                    defer { group.cancelAll() }
                    return try await transfer.head()
                }
            } else {
                head = try await transfer.head()
            }
        } catch {
            if options.logRequests {
                logger.debug("\(transfer.label) → error: \(error) (\(Self.ms(since: started)) ms)")
            }
            throw error
        }
        if options.logRequests {
            let sent = transfer.counters.sent
            let length = head.headers["Content-Length"].map { " \($0) bytes" } ?? ""
            logger.debug(
                "\(transfer.label) → \(head.status)\(length)\(sent > 0 ? ", sent \(sent) bytes" : "") (\(Self.ms(since: started)) ms)")
        }
        return HTTPResponse(status: head.status, headers: head.headers, url: request.url, transfer: transfer)
    }

    private static func ms(since start: ContinuousClock.Instant) -> Int64 {
        Int64(((ContinuousClock.now - start).inSeconds * 1000).rounded())
    }

    /// The request to send after a redirect to `location`; `origin` is the first URL of the chain, whose network
    /// decides where the chain may lead (see `AddressPolicy`).
    static func redirected(_ request: HTTPRequest, to location: String, origin: URL? = nil) throws -> HTTPRequest {
        guard let next = URL(string: location, relativeTo: request.url)?.absoluteURL,
              let scheme = next.scheme?.lowercased(), scheme == "http" || scheme == "https"
        else {
            let shown = URL(string: location).map(HTTPRedaction.url) ?? "(unparseable)"
            throw HTTPRedirectError.unsupportedTarget(String(shown.prefix(200)))
        }
        if request.url.scheme?.lowercased() == "https" && scheme == "http" {
            throw HTTPRedirectError.downgrade(HTTPRedaction.url(next))
        }
        if let why = AddressPolicy.refusal(to: next, from: origin ?? request.url) {
            throw HTTPRedirectError.privateTarget(HTTPRedaction.url(next), why)
        }
        var r = request
        r.url = next
        if !sameOrigin(request.url, next) {
            r.headers.remove("Authorization")
        }
        if request.method != "GET" && request.method != "HEAD" {
            r.method = "GET"
            r.body = nil
        }
        return r
    }

    /// Same scheme, host and port.
    static func sameOrigin(_ a: URL, _ b: URL) -> Bool {
        func port(_ u: URL) -> Int { u.port ?? (u.scheme?.lowercased() == "https" ? 443 : 80) }
        return a.scheme?.lowercased() == b.scheme?.lowercased() && a.host?.lowercased() == b.host?.lowercased()
            && port(a) == port(b)
    }
}

/// Writes a streaming request body.
public struct HTTPBodyWriter: Sendable {
    let transfer: CurlTransfer

    /// Appends bytes; waits while the send buffer is full.
    public func write(_ bytes: [UInt8]) async throws { try await transfer.write(bytes) }

    /// Forwards the rest of `response`'s body into this request body without handing it to a task: the bytes go
    /// from one transfer to the other on the HTTP loop's thread. The first `skip` bytes are dropped and at most
    /// `limit` forwarded (more fails with `BlobVerificationError.tooLong` for `digest`). Returns when the response
    /// body ends, with the count forwarded and, unless the body arrived whole, why it did not.
    func splice(from response: HTTPResponse, skip: Int64 = 0, limit: Int64, digest: Digest) async
        -> (forwarded: Int64, error: (any Error)?)
    {
        await transfer.splice(from: response.transfer, skip: skip, limit: limit, digest: digest)
    }
}

/// A redirect dray will not follow.
public enum HTTPRedirectError: Error, Sendable, CustomStringConvertible {
    case tooMany(String)
    case unsupportedTarget(String)
    case downgrade(String)
    case privateTarget(String, String)

    public var description: String {
        switch self {
        case .tooMany(let u): "too many redirects from \(u)"
        case .unsupportedTarget(let l): "refusing redirect to \"\(l)\": only http and https are followed"
        case .downgrade(let u): "refusing redirect from HTTPS to plain HTTP (\(u))"
        case .privateTarget(let u, let why): "refusing redirect to \(u): \(why)"
        }
    }
}

/// A response whose head has arrived; the body streams through `next()`.
public final class HTTPResponse: BlobStream, @unchecked Sendable {
    public let status: Int
    public let headers: HTTPHeaders
    /// The URL that produced this response (after redirects).
    public let url: URL
    let transfer: CurlTransfer

    init(status: Int, headers: HTTPHeaders, url: URL, transfer: CurlTransfer) {
        self.status = status
        self.headers = headers
        self.url = url
        self.transfer = transfer
    }

    deinit { transfer.abandon() }

    /// The next body chunk, nil at the end.
    public func next() async throws -> [UInt8]? { try await transfer.nextChunk() }

    /// Abandons the body.
    public func cancel() { transfer.cancel(CancellationError()) }

    /// Abandons the body. A short remainder (an error document, a manifest) is read and dropped, so the
    /// connection is reused and the exchange ends when the server is done with it; a long one closes the
    /// connection.
    public func discard() {
        let remaining = headers["Content-Length"].flatMap(Int64.init).map { $0 - transfer.counters.received }
        if let remaining, remaining > Self.drainLimit { return transfer.cancel(CancellationError()) }
        transfer.drain(budget: Self.drainLimit)
    }

    /// The longest remainder `discard()` reads rather than closing the connection.
    static let drainLimit = 64 << 10

    /// Runs `handler` once the exchange is over: the body received to its end, discarded, cancelled or broken.
    /// It runs on the HTTP loop's thread and must only hand work off (start a task, signal).
    public func whenFinished(_ handler: @escaping @Sendable () -> Void) { transfer.whenDone(handler) }

    /// The whole body, failing once it grows past `limit` bytes.
    public func collect(limit: Int) async throws -> [UInt8] {
        var out = [UInt8]()
        if let n = headers["Content-Length"].flatMap(Int.init), n > limit {
            discard()
            throw HTTPBodyTooLarge(limit: limit)
        }
        while let chunk = try await next() {
            out.append(contentsOf: chunk)
            if out.count > limit {
                discard()
                throw HTTPBodyTooLarge(limit: limit)
            }
        }
        return out
    }

    /// Bytes received and sent by this exchange.
    public var counters: (received: Int64, sent: Int64) { transfer.counters }
}

/// A response body bigger than the caller allows.
public struct HTTPBodyTooLarge: Error, Sendable, CustomStringConvertible {
    public let limit: Int
    public var description: String { "response body exceeds \(limit) bytes" }
}
