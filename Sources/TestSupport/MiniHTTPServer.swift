import Foundation

/// A small HTTP/1.1 server for tests: a thread per connection, keep-alive, `Content-Length` bodies.
/// Listens on a loopback address; every request is recorded for assertions.
public final class MiniHTTPServer: @unchecked Sendable {
    /// A received request.
    public struct Request: Sendable {
        public var method: String
        public var target: String
        public var headers: [String: String]  // lower-cased names
        public var body: [UInt8]
        public var path: String { String(target.prefix { $0 != "?" }) }
        public var query: [(String, String)] {
            guard let q = target.split(separator: "?", maxSplits: 1).dropFirst().first else { return [] }
            return q.split(separator: "&").map { kv in
                let parts = kv.split(separator: "=", maxSplits: 1).map { String($0).removingPercentEncoding ?? String($0) }
                return (parts[0], parts.count > 1 ? parts[1] : "")
            }
        }
    }

    /// A response to send.
    public struct Response: Sendable {
        public var status: Int
        public var headers: [(String, String)]
        public var body: [UInt8]
        /// Close the connection after sending (with a `Content-Length` header larger than `body`, this is a
        /// response broken mid-body).
        public var closeConnection: Bool
        /// A pause between the head and the body, so the client has the head well before the body.
        public var bodyDelay: Duration?
        public init(status: Int, headers: [(String, String)] = [], body: [UInt8] = [], closeConnection: Bool = false,
                    bodyDelay: Duration? = nil) {
            self.status = status
            self.headers = headers
            self.body = body
            self.closeConnection = closeConnection
            self.bodyDelay = bodyDelay
        }
    }

    public let address: String
    public let port: Int
    private let fd: Int32
    private let handler: @Sendable (Request) -> Response
    private let lock = NSLock()
    private var _requests: [Request] = []
    private var _connections = 0
    private var stopped = false

    /// `address:port`.
    public var host: String { "\(address):\(port)" }
    /// Every request received so far.
    public var requests: [Request] { lock.withLock { _requests } }
    /// Connections accepted so far.
    public var connections: Int { lock.withLock { _connections } }

    public init(address: String = "127.0.0.1", handler: @escaping @Sendable (Request) -> Response) throws {
        self.address = address
        self.handler = handler
        (fd, port) = try LoopbackSocket.bind(address, listen: 64)
        let t = Thread { [self] in acceptLoop() }
        t.start()
    }

    deinit { stop() }

    /// Stops accepting connections.
    public func stop() {
        let wasStopped = lock.withLock { () -> Bool in defer { stopped = true }; return stopped }
        if !wasStopped {
            shutdown(fd, Int32(SHUT_RDWR))
            close(fd)
        }
    }

    private func acceptLoop() {
        while true {
            let c = accept(fd, nil, nil)
            if c < 0 {
                if lock.withLock({ stopped }) { return }
                continue
            }
            lock.withLock { _connections += 1 }
            let t = Thread { [self] in serve(c) }
            t.start()
        }
    }

    private func serve(_ c: Int32) {
        defer { close(c) }
        var buffer = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 65536)
        func fill() -> Bool {
            let n = recv(c, &chunk, chunk.count, 0)
            if n <= 0 { return false }
            buffer.append(contentsOf: chunk[0..<n])
            return true
        }
        while true {
            // Read the head.
            var headEnd: Int?
            while headEnd == nil {
                if let r = Self.find(buffer, [13, 10, 13, 10]) { headEnd = r; break }
                if !fill() { return }
                // Not HTTP (e.g. a TLS ClientHello, which starts with 0x16): hang up, as real servers do.
                if let first = buffer.first, !(first >= 0x41 && first <= 0x5a) { return }
            }
            let head = String(decoding: buffer[0..<headEnd!], as: UTF8.self)
            buffer.removeFirst(headEnd! + 4)
            var lines = head.components(separatedBy: "\r\n")
            let requestLine = lines.removeFirst().split(separator: " ")
            guard requestLine.count >= 2 else { return }
            var headers: [String: String] = [:]
            for l in lines {
                guard let colon = l.firstIndex(of: ":") else { continue }
                headers[l[..<colon].lowercased()] = l[l.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
            let length = Int(headers["content-length"] ?? "0") ?? 0
            while buffer.count < length { if !fill() { return } }
            let body = Array(buffer[0..<length])
            buffer.removeFirst(length)
            let request = Request(method: String(requestLine[0]), target: String(requestLine[1]), headers: headers,
                                  body: body)
            lock.withLock { _requests.append(request) }
            let response = handler(request)
            var out = "HTTP/1.1 \(response.status) X\r\n"
            var hasLength = false
            for (k, v) in response.headers {
                out += "\(k): \(v)\r\n"
                if k.lowercased() == "content-length" { hasLength = true }
            }
            if !hasLength { out += "Content-Length: \(response.body.count)\r\n" }
            out += "\r\n"
            var bytes = Array(out.utf8)
            let payload = request.method == "HEAD" ? [] : response.body
            if response.bodyDelay == nil { bytes += payload }
            func sendAll(_ bytes: [UInt8]) -> Bool {
                var sent = 0
                while sent < bytes.count {
                    let n = bytes[sent...].withUnsafeBytes { send(c, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                    if n <= 0 { return false }
                    sent += n
                }
                return true
            }
            guard sendAll(bytes) else { return }
            if let delay = response.bodyDelay {
                Thread.sleep(forTimeInterval: Double(delay.components.seconds) + Double(delay.components.attoseconds) / 1e18)
                guard sendAll(payload) else { return }
            }
            if response.closeConnection { return }
        }
    }

    private static func find(_ haystack: [UInt8], _ needle: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for i in 0...(haystack.count - needle.count) where haystack[i] == needle[0] {
            if Array(haystack[i..<(i + needle.count)]) == needle { return i }
        }
        return nil
    }
}
