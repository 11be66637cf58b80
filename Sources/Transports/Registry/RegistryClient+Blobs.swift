import Engine
import FoundationEssentials
import Synchronization

/// The outcome of a cross-repository mount request.
public enum MountOutcome: Sendable {
    /// The registry linked the blob into the repository.
    case mounted
    /// The registry refused the mount and opened an upload session instead.
    case uploadSession(URL)
    /// The registry refused the mount outright (401/403/400/404/405: Harbor answers 401 for a project the token
    /// cannot read, harbor #17097), or mounts are off at this host: upload instead.
    case refused
}

extension RegistryClient {
    private func blobPath(_ repository: String, _ digest: Digest) -> String { "v2/\(repository)/blobs/\(digest)" }

    /// The size of a blob the repository holds, or nil when it holds none: a HEAD, or a one-byte GET where the
    /// profile says HEAD cannot be trusted (`blobCheck: get`). A 404 for a blob this run uploaded moments ago is
    /// asked again briefly: S3-backed registries are eventually consistent.
    public func headBlob(_ repository: String, _ digest: Digest) async throws -> Int64? {
        var delay = Duration.milliseconds(100)
        while true {
            if let size = try await checkBlob(repository, digest) { return size }
            guard learned.uploadedRecently(digest, to: repository), delay <= .seconds(2) else { return nil }
            logger.debug("\(registry)/\(repository)@\(digest): not found right after its upload; asking again")
            try await Task.sleep(for: delay)
            delay *= 2
        }
    }

    private func checkBlob(_ repository: String, _ digest: Digest) async throws -> Int64? {
        let url = try await url(blobPath(repository, digest))
        let byGet = options.profile.blobCheck == .get
        let response = try await send(request(byGet ? "GET" : "HEAD", url, headers: byGet ? ["Range": "bytes=0-0"] : [:],
                                              followRedirects: true), scope: .pull(repository))
        response.discard()
        let refused = await readRefusedWithToken(response, method: "HEAD")
        if response.status == 404 || refused { return nil }
        // An empty blob has no byte 0 to send.
        if byGet && response.status == 416 { return 0 }
        guard response.status == 200 || (byGet && response.status == 206) else {
            throw RegistryError.from(status: response.status, headers: response.headers, body: [],
                                     target: "\(registry)/\(repository)@\(digest)",
                                     request: "\(byGet ? "GET" : "HEAD") \(HTTPRedaction.url(url))")
        }
        if response.status == 206, let total = response.headers["Content-Range"]?.split(separator: "/").last {
            return Int64(total) ?? -1
        }
        return Int64(response.headers["Content-Length"] ?? "") ?? -1
    }

    /// Opens a blob for streaming, from `offset` on. Redirects to storage back-ends are followed without the
    /// registry's credentials. The download holds a bulk slot of the rate limiter until its body ends; a resumed
    /// download (`resuming`) is a continuation, admitted without waiting for a slot.
    func openBlob(_ repository: String, _ descriptor: Descriptor, offset: Int64, resuming: Bool = false) async throws
        -> HTTPResponse
    {
        let url = try await url(blobPath(repository, descriptor.digest))
        var headers = HTTPHeaders()
        if offset > 0 { headers.set("Range", "bytes=\(offset)-") }
        let response = try await send(request("GET", url, headers: headers, followRedirects: true),
                                      scope: .pull(repository), gated: resuming ? .continuation : .bulk)
        let target = "\(registry)/\(repository)@\(descriptor.digest)"
        switch response.status {
        case 200:
            return response
        case 206 where offset > 0:
            let range = response.headers["Content-Range"] ?? ""
            guard range.hasPrefix("bytes \(offset)-") else {
                response.discard()
                throw RegistryProtocolError("\(target): asked for bytes from \(offset), got range \"\(range.prefix(60))\"")
            }
            return response
        default:
            throw await error(from: response, target: target, method: "GET")
        }
    }

    /// A stream of a blob's bytes that resumes a broken download with a Range request.
    public func blob(_ repository: String, _ descriptor: Descriptor) -> any BlobStream {
        RegistryBlobReader(client: self, repository: repository, descriptor: descriptor,
                           attempts: options.resumeAttempts)
    }

    /// Whether mounts are tried at this host: the profile allows them and the host has not been seen answering
    /// them with upload sessions.
    public var mountsEnabled: Bool { options.profile.mount != .never && !learned.mountsOff }

    /// Asks the registry to link a blob from another repository (or, from the same repository, whether it is
    /// there, opening an upload session when not).
    ///
    /// A registry that answers cross-repository mounts with an upload session (ECR without BLOB_MOUNTING, Quay's
    /// anonymous mounts: containers-roadmap #2860) is learned after `LearnedFeatures.mountSessionsToGiveUp`
    /// such answers; mounts then stop at that host.
    public func mountBlob(_ repository: String, _ digest: Digest, from source: String) async throws -> MountOutcome {
        guard mountsEnabled || source == repository else { return .refused }
        let url = try await url("v2/\(repository)/blobs/uploads/", query: [
            URLQueryItem(name: "mount", value: digest.description), URLQueryItem(name: "from", value: source),
        ])
        let response = try await send(request("POST", url), scope: .push(repository, mountingFrom: [source]))
        switch response.status {
        case 201:
            response.discard()
            return .mounted
        case 202:
            response.discard()
            noteChunkMinLength(response)
            if source != repository { learned.mountAnsweredWithSession() }
            return .uploadSession(try location(of: response, target: "\(registry)/\(repository)"))
        case 400, 401, 403, 404, 405:
            let e = await error(from: response, target: "\(registry)/\(repository)", method: "POST")
            logger.debug("\(registry)/\(repository): mount of \(digest) from \(source) refused (\(e)); uploading instead")
            return .refused
        default:
            throw await error(from: response, target: "\(registry)/\(repository)", method: "POST")
        }
    }

    /// Learns `OCI-Chunk-Min-Length` from an answer that opened an upload session.
    private func noteChunkMinLength(_ response: HTTPResponse) {
        if let n = response.headers["OCI-Chunk-Min-Length"].flatMap(Int.init), n > 0 { learned.learnChunkMinLength(n) }
    }

    /// Opens an upload session and returns its URL.
    public func startUpload(_ repository: String) async throws -> URL {
        let url = try await url("v2/\(repository)/blobs/uploads/")
        let response = try await send(request("POST", url), scope: .push(repository))
        guard response.status == 202 else {
            throw await error(from: response, target: "\(registry)/\(repository)", method: "POST")
        }
        response.discard()
        noteChunkMinLength(response)
        return try location(of: response, target: "\(registry)/\(repository)")
    }

    /// Abandons an upload session (best effort).
    public func cancelUpload(_ repository: String, _ session: URL) async {
        if let response = try? await send(request("DELETE", session), scope: .push(repository)) {
            response.discard()
        }
    }

    /// Uploads a blob. `open` supplies the bytes; it is called again if the upload must restart (the registry
    /// refused the upload mode, and the one it takes is learned for the host). A failed upload's session is deleted.
    ///
    /// Modes fall back once per host: a refused monolithic PUT goes chunked; a refused streamed PATCH (no
    /// Content-Length) or chunked PATCH goes monolithic (Google Artifact Registry takes only monolithic uploads,
    /// crane #1393). Chunks are at least the host's `OCI-Chunk-Min-Length`.
    public func uploadBlob(
        _ repository: String, _ descriptor: Descriptor, session: URL? = nil,
        open: @escaping @Sendable () async throws -> any BlobStream
    ) async throws {
        var mode = learned.uploadMode ?? options.uploadMode
        var session = session
        var reauthorized = false
        while true {
            let location: URL
            if let s = session { location = s } else { location = try await startUpload(repository) }
            session = nil
            do {
                switch mode {
                case .monolithic:
                    try await putMonolithic(repository, descriptor, location, open: open)
                case .streamed:
                    try await putStreamed(repository, descriptor, location, open: open)
                case .chunked(let size):
                    try await putChunked(repository, descriptor, location, chunkSize: max(size, learned.chunkMinLength ?? 0), open: open)
                }
                learned.uploaded(descriptor.digest, to: repository)
                return
            } catch let e as RetryableUploadError where e.staleCredentials && !reauthorized {
                // The token expired between authorising and sending: once more with a fresh one (the session is
                // gone with the failed PUT). A source that cannot be reopened fails here and the caller retries.
                await cancelUpload(repository, location)
                logger.debug("\(e.message)")
                reauthorized = true
            } catch let e as RegistryError where mode == .monolithic && Self.refusesUploadMode(e.status, patch: false) {
                await cancelUpload(repository, location)
                mode = .chunked(chunkSize: UploadMode.defaultChunkSize)
                learned.learnUploadMode(mode, because: "a monolithic PUT was refused with HTTP \(e.status)")
                logger.debug("\(registry): monolithic upload refused (HTTP \(e.status)); falling back to chunked")
            } catch let e as PatchRefused {
                await cancelUpload(repository, location)
                mode = .monolithic
                learned.learnUploadMode(mode, because: "a \(e.streamed ? "streamed" : "chunked") PATCH was refused with HTTP \(e.error.status)")
                logger.debug("\(registry): \(e.streamed ? "streamed" : "chunked") upload refused (HTTP \(e.error.status)); falling back to monolithic")
            } catch {
                await cancelUpload(repository, location)
                throw error
            }
        }
    }

    /// Whether an answer to an upload's first PUT (or PATCH) refuses the upload mode rather than the blob: the
    /// method or the framing is not supported there. A PATCH answered 400 counts too (registries that take no
    /// PATCH at all say so).
    static func refusesUploadMode(_ status: Int, patch: Bool) -> Bool {
        [405, 411, 413, 415, 501].contains(status) || (patch && status == 400)
    }

    /// One PATCH carrying the whole blob without a Content-Length, then the closing PUT.
    private func putStreamed(_ repository: String, _ d: Descriptor, _ location: URL,
                             open: @escaping @Sendable () async throws -> any BlobStream) async throws {
        let target = "\(registry)/\(repository)@\(d.digest)"
        let stream = try await open()
        defer { stream.cancel() }
        let patch = request("PATCH", location, headers: ["Content-Type": "application/octet-stream"])
        let http = self.http
        let response = try await authorized(patch, scope: .push(repository), retryUnauthorized: false, gated: .bulk) { req in
            try await http.execute(req, bodyLength: -1) { writer in
                while let chunk = try await stream.next() { try await writer.write(chunk) }
                await TransferScheduler.bodySent()
            }
        }
        guard response.status == 202 else {
            let e = await error(from: response, target: target, method: "PATCH")
            if Self.refusesUploadMode(e.status, patch: true) { throw PatchRefused(error: e, streamed: true) }
            throw e
        }
        response.discard()
        try await closeUpload(repository, d, try self.location(of: response, target: target))
    }

    /// The PUT that ends an upload session with the blob's digest.
    private func closeUpload(_ repository: String, _ d: Descriptor, _ location: URL) async throws {
        let url = try Self.appendingDigest(location, d.digest)
        let response = try await send(request("PUT", url, headers: ["Content-Type": "application/octet-stream"], body: []),
                                      scope: .push(repository))
        guard response.status == 201 || response.status == 204 || response.status == 200 else {
            throw await error(from: response, target: "\(registry)/\(repository)@\(d.digest)", method: "PUT")
        }
        response.discard()
    }

    private func putMonolithic(_ repository: String, _ d: Descriptor, _ location: URL,
                               open: @escaping @Sendable () async throws -> any BlobStream) async throws {
        let url = try Self.appendingDigest(location, d.digest)
        let target = "\(registry)/\(repository)@\(d.digest)"
        let put = request("PUT", url, headers: ["Content-Type": "application/octet-stream"])
        let http = self.http
        // The source answers first: a PUT opened before its body can flow would sit idle on a destination
        // connection (and time out) while the source is slow, paused or failing.
        let stream = try await open()
        // Registry to registry with no hashing here, the bytes go from download to upload on the HTTP loop's
        // thread (the reader counts them); otherwise each chunk passes through this task.
        let reader = (stream as? VerifyingStream)?.forwardableInner as? RegistryBlobReader
        let first: [UInt8]?
        do {
            first = try await (reader ?? stream).next()
            if let first, Int64(first.count) > d.size { throw BlobVerificationError.tooLong(digest: d.digest, expected: d.size) }
        } catch {
            stream.cancel()
            throw error
        }
        let response: HTTPResponse
        do {
            response = try await authorized(put, scope: .push(repository), retryUnauthorized: false, gated: .bulk) { req in
                try await http.execute(req, bodyLength: d.size) { writer in
                    if let first { try await writer.write(first) }
                    if let reader {
                        try await reader.forward(into: writer)
                    } else {
                        while let chunk = try await stream.next() { try await writer.write(chunk) }
                    }
                    await TransferScheduler.bodySent()
                }
            }
        } catch {
            stream.cancel()
            throw error
        }
        if response.status == 401 {
            // The token went stale between authorising and sending; the body is spent, so the caller retries.
            let challenges = AuthChallenge.parse(response.headers.values("WWW-Authenticate").joined(separator: ", "))
            response.discard()
            await auth.unauthorized(scope: .push(repository), challenges: challenges)
            throw RetryableUploadError(message: "\(target): the registry rejected the upload's credentials; retrying with new ones",
                                       staleCredentials: true)
        }
        guard response.status == 201 || response.status == 204 || response.status == 200 else {
            throw await error(from: response, target: target, method: "PUT")
        }
        response.discard()
    }

    private func putChunked(_ repository: String, _ d: Descriptor, _ location: URL, chunkSize: Int,
                            open: @escaping @Sendable () async throws -> any BlobStream) async throws {
        let target = "\(registry)/\(repository)@\(d.digest)"
        let stream = try await open()
        defer { stream.cancel() }
        var location = location
        var offset: Int64 = 0
        var buffer: [UInt8] = []
        var streamEnded = false
        while true {
            while !streamEnded && buffer.count < chunkSize {
                if let chunk = try await stream.next() { buffer.append(contentsOf: chunk) } else { streamEnded = true }
            }
            if buffer.isEmpty { break }
            let piece = Array(buffer.prefix(chunkSize))
            buffer.removeFirst(piece.count)
            let headers: HTTPHeaders = [
                "Content-Type": "application/octet-stream",
                "Content-Range": "\(offset)-\(offset + Int64(piece.count) - 1)",
            ]
            // A chunk is a blob's body: curl's large upload buffer, though it enters the host gate as a request.
            var patch = request("PATCH", location, headers: headers, body: piece)
            patch.bulk = true
            let response = try await send(patch, scope: .push(repository))
            guard response.status == 202 else {
                let e = await error(from: response, target: target, method: "PATCH")
                if offset == 0, Self.refusesUploadMode(e.status, patch: true) { throw PatchRefused(error: e, streamed: false) }
                throw e
            }
            response.discard()
            location = try self.location(of: response, target: target)
            offset += Int64(piece.count)
        }
        await TransferScheduler.bodySent()
        try await closeUpload(repository, d, location)
    }

    /// The response's `Location`, resolved against the request URL: HTTP(S) only, never from HTTPS down to plain
    /// HTTP, and never into a network the registry is not on (see `AddressPolicy`).
    func location(of response: HTTPResponse, target: String) throws -> URL {
        guard let value = response.headers["Location"], !value.isEmpty,
              let url = URL(string: value, relativeTo: response.url)?.absoluteURL,
              let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https"
        else { throw RegistryProtocolError("\(target): the registry answered without a usable Location") }
        if response.url.scheme?.lowercased() == "https" && scheme == "http" {
            throw RegistryProtocolError("\(target): refusing upload Location \(HTTPRedaction.url(url)): it leaves HTTPS for plain HTTP")
        }
        if let why = AddressPolicy.refusal(to: url, from: response.url) {
            throw RegistryProtocolError("\(target): refusing upload Location \(HTTPRedaction.url(url)): \(why)")
        }
        return url
    }

    /// The upload URL with `digest=` added to whatever query it already carries.
    static func appendingDigest(_ url: URL, _ digest: Digest) throws -> URL {
        let s = url.absoluteString
        guard let u = URL(string: s + (s.contains("?") ? "&" : "?") + "digest=" + digest.description) else {
            throw RegistryProtocolError("cannot add the digest to upload URL")
        }
        return u
    }
}

/// Reads a blob from a registry, resuming with `Range: bytes=N-` when the stream breaks.
final class RegistryBlobReader: BlobStream, @unchecked Sendable {
    private struct State {
        var response: HTTPResponse?
        var offset: Int64 = 0
        var attemptsLeft: Int
        var cancelled = false
        /// A download broke and is being resumed: later opens continue an admitted transfer.
        var resumed = false
    }

    private let client: RegistryClient
    private let repository: String
    private let descriptor: Descriptor
    private let state: Mutex<State>

    init(client: RegistryClient, repository: String, descriptor: Descriptor, attempts: Int) {
        self.client = client
        self.repository = repository
        self.descriptor = descriptor
        self.state = Mutex(State(attemptsLeft: attempts))
    }

    func next() async throws -> [UInt8]? {
        while true {
            let (current, offset) = try state.withLock { s -> (HTTPResponse?, Int64) in
                if s.cancelled { throw CancellationError() }
                return (s.response, s.offset)
            }
            let response: HTTPResponse
            var skip: Int64 = 0
            if let current { response = current } else { (response, skip) = try await open(at: offset) }
            do {
                while true {
                    guard var chunk = try await response.next() else { return nil }
                    if skip > 0 {
                        if Int64(chunk.count) <= skip { skip -= Int64(chunk.count); continue }
                        chunk.removeFirst(Int(skip))
                        skip = 0
                    }
                    state.withLock { $0.offset += Int64(chunk.count) }
                    return chunk
                }
            } catch let e as TransportError where e.isTemporary {
                guard resumes(after: e) else { throw e }
            }
        }
    }

    /// Forwards the rest of the blob into an upload body on the HTTP loop's thread (see `HTTPBodyWriter.splice`),
    /// resuming a broken download with a Range request as `next()` does, and checks that exactly
    /// `descriptor.size` bytes arrived in all.
    func forward(into writer: HTTPBodyWriter) async throws {
        var current = state.withLock { $0.response }
        while true {
            let offset = state.withLock { $0.offset }
            let response: HTTPResponse
            var skip: Int64 = 0
            if let current { response = current } else { (response, skip) = try await open(at: offset) }
            let (n, error) = await writer.splice(from: response, skip: skip, limit: descriptor.size - offset,
                                                 digest: descriptor.digest)
            state.withLock { $0.offset += n }
            guard let error else { break }
            if case BlobVerificationError.tooLong = error {
                throw BlobVerificationError.tooLong(digest: descriptor.digest, expected: descriptor.size)
            }
            if let e = error as? TransportError, e.isTemporary, resumes(after: e) {
                current = nil
                continue
            }
            throw error
        }
        let got = state.withLock { $0.offset }
        guard got == descriptor.size else {
            throw BlobVerificationError.tooShort(digest: descriptor.digest, expected: descriptor.size, got: got)
        }
    }

    /// Opens the blob from `offset` as the current response. `skip` is what to drop from it: a server that ignored
    /// Range starts again from byte 0.
    private func open(at offset: Int64) async throws -> (response: HTTPResponse, skip: Int64) {
        let resuming = state.withLock { $0.resumed }
        let response = try await client.openBlob(repository, descriptor, offset: offset, resuming: resuming)
        try state.withLock { s in
            if s.cancelled { response.cancel(); throw CancellationError() }
            s.response = response
        }
        return (response, response.status == 200 ? offset : 0)
    }

    /// Whether to resume after the stream broke with `e`: attempts are left, bytes are missing and nobody
    /// cancelled. Drops the broken response and logs the resumption.
    private func resumes(after e: TransportError) -> Bool {
        let (retry, offset) = state.withLock { s -> (Bool, Int64) in
            guard s.attemptsLeft > 0, s.offset < descriptor.size, !s.cancelled else { return (false, s.offset) }
            s.attemptsLeft -= 1
            s.resumed = true
            s.response = nil
            return (true, s.offset)
        }
        if retry {
            client.logger.debug("\(client.registry)/\(repository)@\(descriptor.digest): stream broke at byte \(offset) (\(e.message)); resuming")
        }
        return retry
    }

    func cancel() {
        let r = state.withLock { s -> HTTPResponse? in
            s.cancelled = true
            return s.response
        }
        r?.cancel()
    }
}

/// A registry refused an upload's first PATCH: it takes no streamed or chunked uploads.
struct PatchRefused: Error {
    let error: RegistryError
    let streamed: Bool
}

/// An upload that failed in a way a fresh attempt can fix (stale credentials, a restart needing the source again).
public struct RetryableUploadError: Error, TemporaryError, CustomStringConvertible {
    public let message: String
    /// The registry answered 401 to an upload whose token had just been checked.
    public var staleCredentials = false

    public init(message: String, staleCredentials: Bool = false) {
        self.message = message
        self.staleCredentials = staleCredentials
    }

    public var isTemporary: Bool { true }
    public var description: String { message }
}
