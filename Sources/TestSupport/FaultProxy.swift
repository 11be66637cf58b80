import Engine
import Foundation
import Synchronization

/// An HTTP/1.1 proxy on 127.0.0.1 that stands between a client and a real registry and injects faults by rule:
/// connection resets in the middle of a request or response body, error statuses (5xx bursts, 429 with or
/// without `Retry-After`), and stalls. Everything it does not fault is forwarded byte for byte.
///
/// Each client connection gets its own thread and upstream connection; requests on it are handled one at a
/// time (clients do not pipeline). The rule sees every request head and returns what to do with it; it may be
/// replaced while the proxy runs. The proxy counts requests, faults and the most requests in flight at once.
public final class FaultProxy: @unchecked Sendable {
    /// What the rule is asked about: one request.
    public struct Exchange: Sendable {
        /// 1 for the first request the proxy sees, and so on.
        public var sequence: Int
        /// 1 for the first request on its client connection, 2 for the next (a reused connection), and so on.
        public var onConnection: Int
        public var method: String
        /// The request target (path and query).
        public var target: String
        public var path: Substring { target.prefix { $0 != "?" } }
        /// A blob download, upload session step, manifest or other request, by path.
        public var isBlob: Bool { path.contains("/blobs/") && !path.contains("/uploads/") }
        public var isUpload: Bool { path.contains("/blobs/uploads/") }
        public var isManifest: Bool { path.contains("/manifests/") }
    }

    /// What to do with one request.
    public enum Fault: Sendable, Equatable {
        /// Forward it.
        case pass
        /// Answer with this status (and headers) without forwarding; the request body is read and dropped.
        case status(Int, headers: [String: String] = [:])
        /// Read this many bytes of the request body (or all of a shorter one), then reset the connection.
        case resetRequest(afterBytes: Int)
        /// Forward it, then reset the connection after this many bytes of the response body.
        case resetResponse(afterBytes: Int)
        /// Read the request and never answer (until the client gives up or the proxy stops).
        case stall
        /// Wait this long, then forward it (a slow link or a busy registry).
        case delay(Duration)
        /// Close the connection without answering, as soon as the request head has arrived: what an idle-timeout
        /// proxy or a restarting registry does to a kept-alive connection just as the client sends on it.
        case close
    }

    public typealias Rule = @Sendable (Exchange) -> Fault

    private struct Counters {
        var requests = 0
        var faults = 0
        var inFlight = 0
        var maxInFlight = 0
        var connections = 0
        var byFault: [String: Int] = [:]
    }

    public let port: Int
    public let target: Int
    private let listener: Int32
    private let rule: Mutex<Rule>
    private let counters = Mutex(Counters())
    private let stopped = Atomic<Bool>(false)
    private let moved = Atomic<Int>(0)

    /// `127.0.0.1:PORT`.
    public var host: String { "127.0.0.1:\(port)" }
    /// Requests seen so far.
    public var requests: Int { counters.withLock { $0.requests } }
    /// Requests that were faulted (anything but `.pass` and `.delay`).
    public var faults: Int { counters.withLock { $0.faults } }
    /// Faults injected, by kind (`reset-request`, `reset-response`, `status-503`, `stall`, …).
    public var faultsByKind: [String: Int] { counters.withLock { $0.byFault } }
    /// The most requests the proxy had in flight at once: from reading a request's head to just before the last
    /// byte of its response is sent.
    public var maxInFlight: Int { counters.withLock { $0.maxInFlight } }
    /// Client connections accepted so far.
    public var connections: Int { counters.withLock { $0.connections } }
    /// Bytes written to either side so far (heads and bodies, both directions): whether anything moves.
    public var bytesMoved: Int { moved.load(ordering: .relaxed) }

    /// Starts a proxy to the registry on `127.0.0.1:target`, faulting requests as `rule` says.
    public init(target: Int, rule: @escaping Rule = { _ in .pass }) throws {
        self.target = target
        self.rule = Mutex(rule)
        (listener, port) = try LoopbackSocket.bind(listen: 512)
        let thread = Thread { [self] in acceptLoop() }
        thread.name = "fault-proxy"
        thread.start()
    }

    deinit { stop() }

    /// Replaces the rule; requests already being handled keep the fault they were given.
    public func setRule(_ newRule: @escaping Rule) { rule.withLock { $0 = newRule } }

    /// Stops accepting; stalled requests are let go.
    public func stop() {
        guard !stopped.exchange(true, ordering: .relaxed) else { return }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private func acceptLoop() {
        LoopbackSocket.accept(on: listener, until: stopped) { client in
            counters.withLock { $0.connections += 1 }
            let t = Thread { [self] in serve(client) }
            t.name = "fault-proxy-conn"
            t.start()
        }
    }

    // MARK: One connection

    private func serve(_ client: Int32) {
        let count: @Sendable (Int) -> Void = { [self] n in moved.add(n, ordering: .relaxed) }
        let c = Peer(fd: client, counting: count)
        var upstream: Peer?
        defer {
            c.close()
            upstream?.close()
        }
        var onConnection = 0
        while !stopped.load(ordering: .relaxed) {
            guard let head = c.readHead() else { return }
            onConnection += 1
            guard let request = Head(parsing: head, isRequest: true) else { return }
            let exchange: Exchange = counters.withLock { k in
                k.requests += 1
                k.inFlight += 1
                k.maxInFlight = max(k.maxInFlight, k.inFlight)
                return Exchange(sequence: k.requests, onConnection: onConnection, method: request.method,
                                target: request.target)
            }
            // A request stops counting as in flight just before the last byte of its response is sent: the client
            // cannot have finished with it earlier, so the count never runs ahead of the client's own (a thread
            // descheduled after its final write would otherwise still count it while the client sends the next).
            var counted = true
            let finish = { if counted { counted = false; self.counters.withLock { $0.inFlight -= 1 } } }
            defer { finish() }
            let fault = rule.withLock { $0 }(exchange)
            if let kind = Self.kind(fault) {
                counters.withLock { k in
                    k.faults += 1
                    k.byFault[kind, default: 0] += 1
                }
            }
            switch fault {
            case .stall:
                c.drainUntilClosed(stopped: stopped)
                return
            case .close:
                return
            case .resetRequest(let n):
                _ = c.discardBody(request, limit: n)
                c.reset()
                return
            case .status(let code, let headers):
                guard c.discardBody(request, limit: nil) else { return }
                var lines = ["HTTP/1.1 \(code) Injected", "Content-Type: application/json"]
                // The distribution error code that goes with the status (a 403 is DENIED, not a temporary fault).
                let code = [401: "UNAUTHORIZED", 403: "DENIED", 404: "NAME_UNKNOWN", 405: "UNSUPPORTED", 429: "TOOMANYREQUESTS"][code] ?? "UNAVAILABLE"
                let body = Array(#"{"errors":[{"code":"\#(code)","message":"injected fault","detail":null}]}"#.utf8)
                for (k, v) in headers { lines.append("\(k): \(v)") }
                lines.append("Content-Length: \(body.count)")
                // A HEAD response announces the body's length but carries none.
                let payload = request.method == "HEAD" ? [] : body
                finish()
                guard c.write(Array((lines.joined(separator: "\r\n") + "\r\n\r\n").utf8) + payload) else { return }
                continue
            case .delay(let d):
                Thread.sleep(forTimeInterval: d.inSeconds)
            case .pass, .resetResponse:
                break
            }
            // Forward the request.
            if upstream == nil {
                guard let u = Peer.connect(port: target, counting: count) else {
                    _ = c.write(Array("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8))
                    return
                }
                upstream = u
            }
            let u = upstream!
            guard u.write(head), c.copyBody(request, to: u, limit: nil) == .complete else { return }
            guard let responseHeadBytes = u.readHead(), let response = Head(parsing: responseHeadBytes, isRequest: false)
            else { return }
            let bodyless = request.method == "HEAD" || response.status == 204 || response.status == 304
                || (100..<200).contains(response.status) || response.contentLength == 0
            if bodyless { finish() }
            guard c.write(responseHeadBytes) else { return }
            var limit: Int?
            if case .resetResponse(let n) = fault { limit = n }
            if !bodyless {
                switch u.copyBody(response, to: c, limit: limit, beforeFinalWrite: finish) {
                case .complete: break
                case .limitReached:
                    c.reset()
                    return
                case .failed:
                    return
                }
            } else if limit != nil {
                c.reset()
                return
            }
            if response.closes || request.closes {
                return
            }
        }
    }

    /// The name a fault is counted under; nil for the ones that are not faults (pass, delay).
    private static func kind(_ f: Fault) -> String? {
        switch f {
        case .pass, .delay: nil
        case .status(let s, let h): h["Retry-After"] != nil ? "status-\(s)-retry-after" : "status-\(s)"
        case .resetRequest: "reset-request"
        case .resetResponse: "reset-response"
        case .stall: "stall"
        case .close: "close"
        }
    }
}

// MARK: HTTP framing

/// A parsed request or response head.
struct Head {
    var method = ""
    var target = ""
    var status = 0
    var contentLength: Int?
    var chunked = false
    var closes = false
    var isRequest: Bool

    init?(parsing bytes: [UInt8], isRequest: Bool) {
        self.isRequest = isRequest
        let text = String(decoding: bytes, as: UTF8.self)
        var lines = text.components(separatedBy: "\r\n")
        guard !lines.isEmpty else { return nil }
        let first = lines.removeFirst().split(separator: " ", maxSplits: 2).map(String.init)
        guard first.count >= 2 else { return nil }
        if isRequest {
            method = first[0]
            target = first[1]
        } else {
            status = Int(first[1]) ?? 0
        }
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            switch name {
            case "content-length": contentLength = Int(value)
            case "transfer-encoding": chunked = value.lowercased().contains("chunked")
            case "connection": closes = value.lowercased() == "close"
            default: break
            }
        }
        // A response with neither length nor chunking runs until the connection closes.
        if !isRequest, contentLength == nil, !chunked { closes = true }
    }
}

/// One side of a proxied connection, with a read buffer.
final class Peer {
    let fd: Int32
    private var buffer: [UInt8] = []
    private var closed = false
    /// Told how many bytes each write sent.
    private let counting: @Sendable (Int) -> Void

    init(fd: Int32, counting: @escaping @Sendable (Int) -> Void) {
        self.fd = fd
        self.counting = counting
    }

    static func connect(port: Int, counting: @escaping @Sendable (Int) -> Void) -> Peer? {
        LoopbackSocket.connect(port: port).map { Peer(fd: $0, counting: counting) }
    }

    func close() {
        guard !closed else { return }
        closed = true
        Glibc.close(fd)
    }

    /// Closes with a TCP reset (SO_LINGER 0) instead of an orderly shutdown.
    func reset() {
        var l = linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, socklen_t(MemoryLayout<linger>.size))
        close()
    }

    private func fill() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        let n = recv(fd, &chunk, chunk.count, 0)
        guard n > 0 else { return false }
        buffer.append(contentsOf: chunk[0..<n])
        return true
    }

    /// The bytes of a head up to and including the blank line, or nil when the connection ends first.
    func readHead() -> [UInt8]? {
        while true {
            if let end = find([13, 10, 13, 10]) {
                let head = Array(buffer[0..<(end + 4)])
                buffer.removeFirst(end + 4)
                return head
            }
            guard buffer.count < 64 * 1024, fill() else { return nil }
        }
    }

    private func find(_ needle: [UInt8]) -> Int? {
        guard buffer.count >= needle.count else { return nil }
        for i in 0...(buffer.count - needle.count) where buffer[i] == needle[0] {
            if Array(buffer[i..<(i + needle.count)]) == needle { return i }
        }
        return nil
    }

    func write(_ bytes: [UInt8]) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return false }
            counting(n)
            sent += n
        }
        return true
    }

    enum CopyResult { case complete, limitReached, failed }

    /// Copies the body framed by `head` from this peer to `other` (nil: drop it), stopping after `limit` body
    /// bytes when given. `beforeFinalWrite` runs just before the write that completes the body, when that is known.
    func copyBody(_ head: Head, to other: Peer?, limit: Int?, beforeFinalWrite: () -> Void = {}) -> CopyResult {
        var copied = 0
        func pass(_ n: Int) -> CopyResult? {
            // Forwards n bytes of the buffer (after filling it), honouring the limit.
            var left = n
            while left > 0 {
                if buffer.isEmpty, !fill() { return .failed }
                var take = min(left, buffer.count)
                if let limit { take = min(take, limit - copied) }
                if take <= 0 { return .limitReached }
                if !head.chunked, copied + take == head.contentLength { beforeFinalWrite() }
                if let other, !other.write(Array(buffer[0..<take])) { return .failed }
                buffer.removeFirst(take)
                left -= take
                copied += take
                if let limit, copied >= limit, left > 0 { return .limitReached }
            }
            return nil
        }
        if head.chunked {
            // Chunk-size lines, chunks, and the last chunk with its (empty) trailer, forwarded as they are.
            while true {
                guard let line = readLine() else { return .failed }
                if let other, !other.write(line) { return .failed }
                let sizeText = String(decoding: line, as: UTF8.self).split(separator: ";")[0]
                    .trimmingCharacters(in: .whitespacesAndNewlines)
                guard let size = Int(sizeText, radix: 16) else { return .failed }
                if size == 0 {
                    while true {
                        guard let trailer = readLine() else { return .failed }
                        if trailer == [13, 10] { beforeFinalWrite() }
                        if let other, !other.write(trailer) { return .failed }
                        if trailer == [13, 10] { return .complete }
                    }
                }
                if let r = pass(size) { return r }
                guard let crlf = readLine() else { return .failed }
                if let other, !other.write(crlf) { return .failed }
            }
        }
        if let length = head.contentLength {
            if let r = pass(length) { return r }
            return .complete
        }
        if head.isRequest { return .complete }
        // Until the connection closes.
        while true {
            if buffer.isEmpty, !fill() { return .complete }
            if let r = pass(buffer.count) { return r }
        }
    }

    /// Reads and drops a request body; with `limit`, at most that many bytes. False when the connection failed.
    func discardBody(_ head: Head, limit: Int?) -> Bool {
        let r = copyBody(head, to: nil, limit: limit)
        return r != .failed
    }

    /// Exactly `n` bytes (a request body of known length), or nil when the connection ends first.
    func read(_ n: Int) -> [UInt8]? {
        while buffer.count < n { guard fill() else { return nil } }
        let out = Array(buffer[0..<n])
        buffer.removeFirst(n)
        return out
    }

    private func readLine() -> [UInt8]? {
        while true {
            if let i = find([13, 10]) {
                let line = Array(buffer[0..<(i + 2)])
                buffer.removeFirst(i + 2)
                return line
            }
            guard buffer.count < 64 * 1024, fill() else { return nil }
        }
    }

    /// Waits, reading and dropping whatever comes, until the peer closes or the proxy stops.
    func drainUntilClosed(stopped: borrowing Atomic<Bool>) {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        while !stopped.load(ordering: .relaxed) {
            let r = poll(&pfd, 1, 100)
            if r < 0 && errno != EINTR { return }
            if r > 0 {
                buffer.removeAll()
                if !fill() { return }
            }
        }
    }
}
