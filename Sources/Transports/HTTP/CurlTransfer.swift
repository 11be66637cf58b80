import CCurl
import Engine
import DequeModule
import FoundationEssentials
import Synchronization

/// One HTTP exchange on the shared curl loop: an easy handle plus the buffers that bridge its callbacks (on the
/// loop thread) to the async tasks that consume the response and produce the request body.
///
/// Back-pressure: when the response buffer is full the write callback pauses the transfer, and the consumer
/// unpauses it after draining; when the request buffer is empty the read callback pauses the upload, and the
/// producer unpauses it after writing. A producer waits while the request buffer is full.
final class CurlTransfer: @unchecked Sendable {
    private struct State {
        var status = 0
        var headers = HTTPHeaders()
        var headComplete = false
        var headWaiter: CheckedContinuation<Void, any Error>?

        /// Received body bytes not yet handed out: one buffer, so handing them out copies nothing.
        var body: [UInt8] = []
        var bodyWaiter: CheckedContinuation<[UInt8]?, any Error>?
        var recvPaused = false
        var discarded = false
        /// Bytes a drained body may still deliver before the transfer is cut instead (see `drain(budget:)`).
        var drainBudget: Int?

        var upload = Deque<[UInt8]>()
        var uploadOffset = 0
        var uploadBytes = 0
        var uploadFinished = false
        var uploadAborted = false
        var uploadWaiter: CheckedContinuation<Void, any Error>?
        var sendPaused = false

        var cancelled: (any Error)?
        var done = false
        /// Run once the transfer has ended (see `whenDone`).
        var doneHandlers: [@Sendable () -> Void] = []
        var error: (any Error)?
        var received: Int64 = 0
        var sent: Int64 = 0
    }

    let easy: UnsafeMutableRawPointer
    private var slist: UnsafeMutablePointer<curl_slist>?
    private let errorBuffer: UnsafeMutablePointer<CChar>
    private let state = Mutex(State())
    private let responseLimit: Int
    private let requestLimit: Int
    private let method: String
    private let url: URL
    /// An in-memory request body, kept so curl can send it again when a reused connection turns out dead.
    private let replayBody: [UInt8]?
    /// `METHOD url` with secrets redacted, for errors and logs (made when asked: parsing the URL for redaction on
    /// every request was 3% of a run of small images).
    var label: String { Self.label(method, url) }

    /// A request's method and URL (query secrets redacted), for errors.
    static func label(_ method: String, _ url: URL) -> String { "\(method) \(HTTPRedaction.url(url))" }

    /// Loop thread only: the splice this transfer's response body feeds.
    var spliceOut: CurlSplice?
    /// Loop thread only: the latest splice feeding this transfer's request body.
    private var spliceIn: CurlSplice?
    /// Loop thread only: spliced request-body bytes waiting to be sent, after whatever `write` queued. Kept
    /// across splices, so a resumed download's bytes follow the earlier ones.
    private(set) var spliceRing: ByteRing?
    /// A paused spliced download resumes once the ring has this much room (curl's largest write).
    private static let spliceResumeRoom = 128 * 1024

    /// Prepares a transfer; `bodyLength` non-nil means the request has a streamed body of exactly that many bytes,
    /// written through `write`. Without it, `request.body` (if any) is the whole body, queued here and replayable.
    init(request: HTTPRequest, bodyLength: Int64?, options: HTTPClientOptions) throws {
        // libcurl is loaded by the first transfer (Sources/CCurl/include/shim.h); code 2 is curl's CURLE_FAILED_INIT.
        if let failure = dray_curl_load() {
            throw TransportError(code: 2, message: String(cString: failure), request: Self.label(request.method, request.url))
        }
        guard let easy = dray_curl_easy_init() else {
            throw TransportError(code: 2, message: "curl_easy_init failed", request: Self.label(request.method, request.url))
        }
        self.easy = easy
        self.responseLimit = options.responseBufferLimit
        self.requestLimit = options.requestBufferLimit
        self.method = request.method
        self.url = request.url
        self.replayBody = bodyLength == nil ? request.body : nil
        let bodyLength = bodyLength ?? request.body.map { Int64($0.count) }
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)

        let me = Unmanaged.passUnretained(self).toOpaque()
        func set(_ o: CURLoption, _ v: Int) { _ = dray_curl_easy_setopt_long(easy, o, v) }
        func set(_ o: CURLoption, _ v: String) { _ = dray_curl_easy_setopt_string(easy, o, v) }

        set(CURLOPT_URL, request.url.absoluteString)
        set(CURLOPT_NOSIGNAL, 1)
        set(CURLOPT_PROTOCOLS_STR, "http,https")
        _ = dray_curl_easy_setopt_pointer(easy, CURLOPT_ERRORBUFFER, errorBuffer)
        let connectTimeout = request.connectTimeout ?? options.connectTimeout
        set(CURLOPT_CONNECTTIMEOUT_MS, Int((connectTimeout.inSeconds * 1000).rounded()))
        set(CURLOPT_LOW_SPEED_LIMIT, 1)
        set(CURLOPT_LOW_SPEED_TIME, Int(options.lowSpeedTime.components.seconds))
        // curl's own buffers, per transfer: 64 KiB each for blobs. 128 KiB cost 1.5-3 MB more at the peak of a
        // cold mirror (-j 4 and -j 20) for the same wall time and CPU; 256 KiB more again. Everything else
        // (manifests, HEADs, tokens, tag lists) keeps curl's 16 KiB: with -j 20 dozens of them are in flight.
        // A blob goes one way: an upload's answer is small, and a download sends nothing.
        if request.bulk {
            if bodyLength == nil {
                set(CURLOPT_BUFFERSIZE, 64 * 1024)
            } else {
                set(CURLOPT_UPLOAD_BUFFERSIZE, 64 * 1024)
            }
        }
        set(CURLOPT_TCP_KEEPALIVE, 1)
        set(CURLOPT_FOLLOWLOCATION, 0)  // redirects are followed by HTTPClient, which controls credentials
        set(CURLOPT_HTTP_VERSION, Int(dray_CURL_HTTP_VERSION_2TLS))
        set(CURLOPT_USERAGENT, "dray/\(DrayVersion.string)")
        // TLS
        set(CURLOPT_SSL_VERIFYPEER, request.tls.verify ? 1 : 0)
        set(CURLOPT_SSL_VERIFYHOST, request.tls.verify ? 2 : 0)
        if let pem = request.tls.extraCAPEM {
            // The system bundle plus the extra CAs, handed to curl in memory (it copies the blob).
            var bundle = (try? String(contentsOfFile: TLSBundle.systemCAFile, encoding: .utf8)) ?? ""
            bundle += "\n" + pem
            var bytes = Array(bundle.utf8)
            bytes.withUnsafeMutableBytes { buf in
                var blob = curl_blob(data: buf.baseAddress, len: buf.count, flags: UInt32(CURL_BLOB_COPY))
                _ = dray_curl_easy_setopt_blob(easy, CURLOPT_CAINFO_BLOB, &blob)
            }
        }
        if let cert = request.tls.clientCertificate { set(CURLOPT_SSLCERT, cert) }
        if let key = request.tls.clientKey { set(CURLOPT_SSLKEY, key) }

        // Method and body.
        switch (request.method, bodyLength) {
        case ("GET", nil): break
        case ("HEAD", nil): set(CURLOPT_NOBODY, 1)
        case (let m, nil) where m != "POST" && m != "PUT" && m != "PATCH":
            set(CURLOPT_CUSTOMREQUEST, m)
        default:
            // Every body (even an empty one) goes through the read callback with an exact Content-Length.
            set(CURLOPT_UPLOAD, 1)
            _ = dray_curl_easy_setopt_off(easy, CURLOPT_INFILESIZE_LARGE, curl_off_t(bodyLength ?? 0))
            set(CURLOPT_CUSTOMREQUEST, request.method)
            if replayBody != nil || bodyLength == nil {
                state.withLock { s in
                    if let body = replayBody, !body.isEmpty {
                        s.upload.append(body)
                        s.uploadBytes = body.count
                    }
                    s.uploadFinished = true
                }
            }
            // Curl sends a request again when the reused connection it went out on turns out closed (an
            // idle-timeout proxy, a restarted registry); a body must then be rewound, or the request fails with
            // "necessary data rewind wasn't possible".
            _ = dray_curl_easy_setopt_seekfn(easy, curlSeekCallback)
            _ = dray_curl_easy_setopt_pointer(easy, CURLOPT_SEEKDATA, me)
        }

        var headers = request.headers
        headers.set("Expect", "")  // never wait for 100-continue
        for field in headers {
            let line = field.value.isEmpty ? "\(field.name):" : "\(field.name): \(field.value)"
            slist = dray_curl_slist_append(slist, line)
        }
        _ = dray_curl_easy_setopt_slist(easy, CURLOPT_HTTPHEADER, slist)

        _ = dray_curl_easy_setopt_datafn(easy, CURLOPT_HEADERFUNCTION, curlHeaderCallback)
        _ = dray_curl_easy_setopt_pointer(easy, CURLOPT_HEADERDATA, me)
        _ = dray_curl_easy_setopt_datafn(easy, CURLOPT_WRITEFUNCTION, curlWriteCallback)
        _ = dray_curl_easy_setopt_pointer(easy, CURLOPT_WRITEDATA, me)
        _ = dray_curl_easy_setopt_datafn(easy, CURLOPT_READFUNCTION, curlReadCallback)
        _ = dray_curl_easy_setopt_pointer(easy, CURLOPT_READDATA, me)
    }

    deinit {
        dray_curl_easy_cleanup(easy)
        dray_curl_slist_free_all(slist)
        errorBuffer.deallocate()
    }

    // MARK: Loop-thread side

    /// Header line from curl. A status line starts a new header block; the blank line after a final (≥ 200)
    /// status completes the response head.
    fileprivate func onHeader(_ line: UnsafeBufferPointer<UInt8>) {
        // Parsed on bytes: this runs for every header of every response, on the loop thread.
        let trimmed = Self.trim(line[...])
        let waiter: CheckedContinuation<Void, any Error>? = state.withLock { s in
            if trimmed.starts(with: Self.httpPrefix) {
                let fields = trimmed.split(separator: 0x20, maxSplits: 2)
                s.status = fields.count > 1 ? Int(String(decoding: fields[1], as: UTF8.self)) ?? 0 : 0
                s.headers = HTTPHeaders()
                return nil
            }
            if trimmed.isEmpty {
                guard s.status >= 200, !s.headComplete else { return nil }
                s.headComplete = true
                defer { s.headWaiter = nil }
                return s.headWaiter
            }
            if let colon = trimmed.firstIndex(of: 0x3a) {
                let name = String(decoding: trimmed[..<colon], as: UTF8.self)
                let value = String(decoding: Self.trim(trimmed[(colon + 1)...]), as: UTF8.self)
                s.headers.add(name, value)
            }
            return nil
        }
        waiter?.resume()
    }

    private static let httpPrefix = Array("HTTP/".utf8)

    /// `bytes` without leading and trailing spaces, tabs, CR and LF.
    private static func trim(_ bytes: Slice<UnsafeBufferPointer<UInt8>>) -> Slice<UnsafeBufferPointer<UInt8>> {
        func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0d || b == 0x0a }
        var lo = bytes.startIndex, hi = bytes.endIndex
        while lo < hi, isSpace(bytes[lo]) { lo += 1 }
        while hi > lo, isSpace(bytes[hi - 1]) { hi -= 1 }
        return bytes[lo..<hi]
    }

    /// Body bytes from curl. Returns false to pause (the buffer is full; curl keeps the bytes).
    fileprivate func onBody(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool? {
        if let sp = spliceOut, let ring = sp.upload.spliceRing {
            switch sp.accept(UnsafeRawBufferPointer(bytes), ring: ring) {
            case .some(true): return true
            case .some(false): return nil
            case .none: return false
            }
        }
        var handoff: (CheckedContinuation<[UInt8]?, any Error>, [UInt8])?
        var resumeHead: CheckedContinuation<Void, any Error>?
        let result: Bool? = state.withLock { s in
            if s.discarded { return nil }
            if let budget = s.drainBudget {
                // Draining: the bytes are dropped; a body longer than the budget is cut after all.
                guard bytes.count <= budget else { return nil }
                s.drainBudget = budget - bytes.count
                s.received += Int64(bytes.count)
                return true
            }
            if !s.headComplete {
                s.headComplete = true
                resumeHead = s.headWaiter
                s.headWaiter = nil
            }
            if s.body.count >= responseLimit {
                s.recvPaused = true
                return false
            }
            if s.body.isEmpty { s.body.reserveCapacity(max(responseLimit, bytes.count) + (256 << 10)) }
            s.body.append(contentsOf: bytes)
            s.received += Int64(bytes.count)
            if let w = s.bodyWaiter {
                s.bodyWaiter = nil
                handoff = (w, Self.takeAll(&s))
            }
            return true
        }
        resumeHead?.resume()
        if let (w, chunk) = handoff { w.resume(returning: chunk) }
        return result
    }

    /// Fills curl's upload buffer. Returns the byte count, 0 at the end, or nil to pause (nothing buffered yet).
    fileprivate func onRead(_ out: UnsafeMutableRawBufferPointer) -> Int? {
        var wake: CheckedContinuation<Void, any Error>?
        var resumeDownload: CurlTransfer?
        let n: Int? = state.withLock { s in
            if s.uploadAborted { return -1 }
            var written = 0
            while written < out.count, let first = s.upload.first {
                let available = first.count - s.uploadOffset
                let n = min(available, out.count - written)
                first.withUnsafeBytes { src in
                    out.baseAddress!.advanced(by: written).copyMemory(
                        from: src.baseAddress!.advanced(by: s.uploadOffset), byteCount: n)
                }
                written += n
                s.uploadOffset += n
                if s.uploadOffset == first.count {
                    s.upload.removeFirst()
                    s.uploadOffset = 0
                }
            }
            s.uploadBytes -= written
            if s.uploadBytes < requestLimit, let w = s.uploadWaiter {
                s.uploadWaiter = nil
                wake = w
            }
            // Spliced bytes come after everything `write` queued (the queue is empty here unless `out` is full).
            if let ring = spliceRing {
                written += ring.read(into: UnsafeMutableRawBufferPointer(rebasing: out[written...]))
                if let sp = spliceIn, sp.downloadPaused, ring.free >= Self.spliceResumeRoom || ring.isEmpty {
                    sp.downloadPaused = false
                    resumeDownload = sp.download
                }
            }
            s.sent += Int64(written)
            if written > 0 { return written }
            if s.uploadFinished { return 0 }
            s.sendPaused = true
            return nil
        }
        wake?.resume()
        if let resumeDownload { CurlLoop.shared.unpauseSoon(resumeDownload) }
        return n
    }

    /// Rewinds the request body to `offset` from its start. An in-memory body is queued again from there; a
    /// streamed one can only "rewind" to where it already is (nothing sent yet). False: curl fails the request
    /// (`CURLE_SEND_FAIL_REWIND`, temporary), and the caller re-opens the body and sends it again.
    fileprivate func onSeek(_ offset: Int64, origin: Int32) -> Bool {
        guard origin == SEEK_SET, offset >= 0 else { return false }
        return state.withLock { s in
            if s.uploadAborted { return false }
            if let body = replayBody, offset <= Int64(body.count) {
                s.upload.removeAll()
                s.uploadOffset = 0
                let rest = Array(body[Int(offset)...])
                if !rest.isEmpty { s.upload.append(rest) }
                s.uploadBytes = rest.count
                s.sent = offset
                return true
            }
            return offset == s.sent
        }
    }

    // MARK: Splicing (loop thread)

    /// Attaches `sp`, which feeds this transfer's request body from `sp.download`'s response body. What the
    /// download had buffered for a reader goes first, after any bytes an earlier splice left in the ring; a
    /// download already over ends the splice at once.
    func beginSplice(_ sp: CurlSplice) {
        let uploadOver: (any Error)?? = state.withLock { s in
            s.done ? .some(s.error ?? TransportError(code: 55, message: "the server ended the request before its body was sent", request: label)) : .none
        }
        if let uploadOver {
            sp.end(uploadOver)
            sp.download.cancel(CancellationError())
            return
        }
        if spliceRing == nil { spliceRing = ByteRing(capacity: max(requestLimit, 2 * Self.spliceResumeRoom)) }
        spliceIn = sp
        let (buffered, wasPaused, over) = sp.download.takeBodyForSplice()
        // A download still running hands its next bytes to the splice (and lets go of it when it ends); one that
        // is over has nothing more to hand.
        if over == nil { sp.download.spliceOut = sp }
        var chunk = buffered
        let dropped = sp.skipping(chunk.count)
        if dropped > 0 { chunk.removeFirst(dropped) }
        if !chunk.isEmpty, let ring = spliceRing {
            guard sp.count(chunk.count) else {
                sp.end(nil)
                sp.download.cancel(CancellationError())
                return
            }
            // Into the ring, behind what an earlier splice left there (a resumed download continues it), and
            // growing it if need be: this happens once per splice.
            ring.reserve(chunk.count)
            chunk.withUnsafeBytes { ring.write($0) }
            spliceDataArrived()
        }
        if let over { sp.end(over) } else if wasPaused { CurlLoop.shared.unpauseSoon(sp.download) }
    }

    /// Takes the response bytes buffered for a reader, ahead of a splice: the bytes, whether the transfer was
    /// paused (and should now resume), and, when the transfer is over, how it ended (`.some(nil)`: complete).
    private func takeBodyForSplice() -> (body: [UInt8], wasPaused: Bool, over: (any Error)??) {
        state.withLock { s in
            let body = Self.takeAll(&s)
            defer { s.recvPaused = false }
            return (body, s.recvPaused, s.done ? .some(s.error) : .none)
        }
    }

    /// Spliced bytes arrived in the ring: resumes the upload if it was waiting for them.
    func spliceDataArrived() {
        let resume = state.withLock { s in
            defer { s.sendPaused = false }
            return s.sendPaused
        }
        if resume { CurlLoop.shared.unpauseSoon(self) }
    }

    /// Called once by the loop when the transfer ends, successfully (nil) or not.
    func complete(error: (any Error)?) {
        let (head, body, upload, err, handlers) = state.withLock { s in
            s.done = true
            s.error = s.cancelled ?? error
            defer { s.headWaiter = nil; s.bodyWaiter = nil; s.uploadWaiter = nil; s.doneHandlers = [] }
            return (s.headWaiter, s.bodyWaiter, s.uploadWaiter, s.error, s.doneHandlers)
        }
        for h in handlers { h() }
        // A splice and its two transfers refer to each other: letting go here, once each side is over, is what
        // frees them (and the ring).
        spliceOut?.end(err)
        spliceOut = nil
        if let sp = spliceIn, !sp.ended { sp.download.cancel(err ?? CancellationError()) }
        spliceIn = nil
        spliceRing = nil
        if let head {
            if let err { head.resume(throwing: err) } else {
                // A response with no final header block (e.g. cut off): treat as a broken transfer.
                let ok = state.withLock { $0.headComplete }
                if ok { head.resume() } else {
                    head.resume(throwing: TransportError(code: 52, message: "no response", request: label))
                }
            }
        }
        if let body {
            if let err { body.resume(throwing: err) } else { body.resume(returning: nil) }
        }
        upload?.resume(throwing: err ?? TransportError(code: 55, message: "the server ended the request before its body was sent", request: label))
    }

    /// The cancellation error when the transfer was cancelled before the loop added it.
    func failedBeforeStart() -> (any Error)? { state.withLock { $0.cancelled } }

    func transportError(_ code: CURLcode) -> TransportError {
        let buffered = String(cString: errorBuffer)
        let message = buffered.isEmpty ? String(cString: dray_curl_easy_strerror(code)) : buffered
        return TransportError(code: Int(code.rawValue), message: message, request: label)
    }

    // MARK: Task side

    /// Starts the transfer on the shared loop.
    func start() { CurlLoop.shared.submit(.add(self)) }

    /// Waits for the final response head.
    func head() async throws -> (status: Int, headers: HTTPHeaders) {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
                let ready: Result<Void, any Error>? = state.withLock { s in
                    if s.headComplete { return .success(()) }
                    if s.done {
                        return .failure(s.error ?? TransportError(code: 52, message: "no response", request: label))
                    }
                    s.headWaiter = c
                    return nil
                }
                if let ready { c.resume(with: ready) }
            }
            return state.withLock { ($0.status, $0.headers) }
        } onCancel: {
            cancel(CancellationError())
        }
    }

    private static func takeAll(_ s: inout State) -> [UInt8] {
        defer { s.body = [] }
        return s.body
    }

    /// The next chunk of the response body, or nil at its end.
    func nextChunk() async throws -> [UInt8]? {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<[UInt8]?, any Error>) in
                var unpause = false
                let ready: Result<[UInt8]?, any Error>? = state.withLock { s in
                    if !s.body.isEmpty {
                        let chunk = Self.takeAll(&s)
                        if s.recvPaused { s.recvPaused = false; unpause = true }
                        return .success(chunk)
                    }
                    if s.done {
                        if let e = s.error { return .failure(e) }
                        return .success(nil)
                    }
                    s.bodyWaiter = c
                    if s.recvPaused { s.recvPaused = false; unpause = true }
                    return nil
                }
                if unpause { CurlLoop.shared.submit(.unpause(self)) }
                if let ready { c.resume(with: ready) }
            }
        } onCancel: {
            cancel(CancellationError())
        }
    }

    /// Appends request-body bytes, waiting while the buffer is over its limit.
    func write(_ chunk: [UInt8]) async throws {
        guard !chunk.isEmpty else { return }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
                var unpause = false
                let ready: Result<Void, any Error>? = state.withLock { s in
                    if s.done {
                        return .failure(s.error ?? TransportError(code: 55, message: "the server ended the request before its body was sent", request: label))
                    }
                    s.upload.append(chunk)
                    s.uploadBytes += chunk.count
                    if s.sendPaused { s.sendPaused = false; unpause = true }
                    if s.uploadBytes < requestLimit { return .success(()) }
                    s.uploadWaiter = c
                    return nil
                }
                if unpause { CurlLoop.shared.submit(.unpause(self)) }
                if let ready { c.resume(with: ready) }
            }
        } onCancel: {
            cancel(CancellationError())
        }
    }

    /// Forwards `download`'s response body (after dropping `skip` bytes) into this request body on the loop
    /// thread, until the download ends; at most `limit` bytes. Returns how many were forwarded and, if the
    /// download did not complete, why. Cancelling the task cancels the download.
    func splice(from download: CurlTransfer, skip: Int64, limit: Int64, digest: Digest) async
        -> (forwarded: Int64, error: (any Error)?)
    {
        await withTaskCancellationHandler {
            await withCheckedContinuation { c in
                CurlLoop.shared.submit(.splice(CurlSplice(download: download, upload: self, skip: skip, limit: limit,
                                                          digest: digest, waiter: c)))
            }
        } onCancel: {
            download.cancel(CancellationError())
        }
    }

    /// Marks the request body complete.
    func finishUpload() {
        let unpause = state.withLock { s in
            s.uploadFinished = true
            defer { s.sendPaused = false }
            return s.sendPaused
        }
        if unpause { CurlLoop.shared.submit(.unpause(self)) }
    }

    /// Aborts the upload: curl fails the request instead of sending a short body.
    func abortUpload(_ error: any Error) {
        state.withLock { $0.uploadAborted = true; $0.cancelled = $0.cancelled ?? error }
        cancel(error)
    }

    /// Reads the rest of the body and drops it, so the connection stays open for the next request and the
    /// transfer ends when the server has sent its whole answer; a body longer than `budget` is cut instead.
    func drain(budget: Int) {
        let unpause = state.withLock { s -> Bool? in
            if s.done || s.discarded { return false }
            // Only once the request is all sent: a half-sent upload is aborted, not waited for.
            let sent = method == "GET" || method == "HEAD" || (s.uploadFinished && s.upload.isEmpty)
            guard s.body.count <= budget, sent else { return nil }
            s.drainBudget = budget - s.body.count
            s.body = []
            defer { s.recvPaused = false }
            return s.recvPaused
        }
        switch unpause {
        case .none: cancel(CancellationError())
        case .some(true): CurlLoop.shared.submit(.unpause(self))
        case .some(false): break
        }
    }

    /// Stops the transfer if it is still running, unless its body is being drained (its owner let go of it).
    func abandon() {
        if state.withLock({ $0.drainBudget != nil }) { return }
        cancel(CancellationError())
    }

    /// Stops the transfer if it is still running.
    func cancel(_ error: any Error) {
        let running = state.withLock { s -> Bool in
            if s.done { return false }
            s.cancelled = s.cancelled ?? error
            s.discarded = true
            return true
        }
        if running { CurlLoop.shared.submit(.cancel(self, error)) }
    }

    /// Runs `handler` once the transfer has ended, however it ended (at once if it already has). It runs on the
    /// loop thread and must not block.
    func whenDone(_ handler: @escaping @Sendable () -> Void) {
        let now = state.withLock { s -> Bool in
            if s.done { return true }
            s.doneHandlers.append(handler)
            return false
        }
        if now { handler() }
    }

    /// Bytes received and sent so far.
    var counters: (received: Int64, sent: Int64) { state.withLock { ($0.received, $0.sent) } }
    var isDone: Bool { state.withLock { $0.done } }
}

// MARK: C callbacks (loop thread)

private let curlHeaderCallback: dray_curl_data_cb = { ptr, size, n, userdata in
    let t = Unmanaged<CurlTransfer>.fromOpaque(userdata!).takeUnretainedValue()
    let len = size * n
    ptr!.withMemoryRebound(to: UInt8.self, capacity: len) {
        t.onHeader(UnsafeBufferPointer(start: $0, count: len))
    }
    return len
}

private let curlWriteCallback: dray_curl_data_cb = { ptr, size, n, userdata in
    let t = Unmanaged<CurlTransfer>.fromOpaque(userdata!).takeUnretainedValue()
    let len = size * n
    let accepted = ptr!.withMemoryRebound(to: UInt8.self, capacity: len) {
        t.onBody(UnsafeBufferPointer(start: $0, count: len))
    }
    switch accepted {
    case .some(true): return len
    case .some(false): return dray_CURL_WRITEFUNC_PAUSE
    case .none: return 0  // discarded: abort
    }
}

private let curlSeekCallback: dray_curl_seek_cb = { userdata, offset, origin in
    let t = Unmanaged<CurlTransfer>.fromOpaque(userdata!).takeUnretainedValue()
    return t.onSeek(Int64(offset), origin: origin) ? dray_CURL_SEEKFUNC_OK : dray_CURL_SEEKFUNC_CANTSEEK
}

private let curlReadCallback: dray_curl_data_cb = { ptr, size, n, userdata in
    let t = Unmanaged<CurlTransfer>.fromOpaque(userdata!).takeUnretainedValue()
    let len = size * n
    switch t.onRead(UnsafeMutableRawBufferPointer(start: ptr, count: len)) {
    case .some(-1): return dray_CURL_READFUNC_ABORT
    case .some(let k): return k
    case .none: return dray_CURL_READFUNC_PAUSE
    }
}

/// Where the system's CA bundle lives.
enum TLSBundle {
    static let systemCAFile: String = {
        for path in ["/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem"]
        where FileManager.default.fileExists(atPath: path) { return path }
        return "/etc/ssl/certs/ca-certificates.crt"
    }()
}
