import Foundation

// HTTP/1.1 framing for `RegistryImitation`: whole messages read off a socket (bodies buffered, chunked ones
// decoded), forwarded as they came or re-framed with `Content-Length`, and answers made up by the imitation.

/// One HTTP message as read: its head as sent, the parsed head, its header fields, its body decoded and as sent.
struct ImitationMessage {
    var headBytes: [UInt8]
    var head: Head
    var fields: [(name: String, value: String)]
    /// The body with any chunked framing removed.
    var body: [UInt8]
    /// The body exactly as it came over the wire.
    var wireBody: [UInt8]

    /// The first value of a header field (names compare case-insensitively).
    func field(_ name: String) -> String? {
        fields.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }

    /// Whether the body came with `Transfer-Encoding: chunked` and no `Content-Length`.
    var streamed: Bool { head.chunked && field("Content-Length") == nil }

    /// The first line of the head (request line or status line).
    var firstLine: String {
        String(decoding: headBytes.prefix { $0 != 13 }, as: UTF8.self)
    }

    /// The message as it came (head and body untouched), when nothing asks for a change; otherwise with the
    /// request target replaced, `Expect` dropped and a buffered chunked body re-framed with `Content-Length`.
    func forwardable(target: String? = nil) -> [UInt8] {
        let expects = field("Expect") != nil
        if target == nil, !head.chunked, !expects { return headBytes + wireBody }
        var first = firstLine
        if let target, head.isRequest {
            first = "\(head.method) \(target) " + (first.split(separator: " ").last.map(String.init) ?? "HTTP/1.1")
        }
        let dropped: Set<String> = ["transfer-encoding", "content-length", "expect"]
        var kept = fields.filter { !dropped.contains($0.name.lowercased()) }
        if head.chunked || head.contentLength != nil || !body.isEmpty { kept.append(("Content-Length", "\(body.count)")) }
        return Self.encode(first, kept, body)
    }

    /// This response with more header fields, its body and framing untouched.
    func adding(_ extra: [(String, String)]) -> ImitationMessage {
        var m = self
        let lines = extra.map { "\($0.0): \($0.1)\r\n" }.joined()
        m.headBytes = Array(headBytes.dropLast(2)) + Array(lines.utf8) + [13, 10]
        m.fields += extra.map { (name: $0.0, value: $0.1) }
        return m
    }

    /// This response with another body, framed by a fresh `Content-Length`.
    func replacingBody(_ newBody: [UInt8]) -> ImitationMessage {
        let dropped: Set<String> = ["transfer-encoding", "content-length"]
        let kept = fields.filter { !dropped.contains($0.name.lowercased()) } + [("Content-Length", "\(newBody.count)")]
        var m = self
        m.headBytes = Self.encode(firstLine, kept, [])
        m.fields = kept
        m.body = newBody
        m.wireBody = newBody
        m.head.chunked = false
        m.head.contentLength = newBody.count
        return m
    }

    /// A response made up by the imitation: `status`, the fields, a `Content-Length` (the body's, or `length`
    /// for a HEAD answer) and (unless answering a HEAD) the body.
    static func made(_ status: Int, _ fields: [(String, String)] = [], body: [UInt8] = [], forHEAD: Bool = false,
                     length: Int? = nil) -> ImitationMessage {
        let all = fields.map { (name: $0.0, value: $0.1) }
            + [(name: "Content-Length", value: "\(length ?? body.count)"), (name: "Docker-Distribution-API-Version", value: "registry/2.0")]
        let headBytes = encode("HTTP/1.1 \(status) \(reason(status))", all, [])
        var head = Head(parsing: headBytes, isRequest: false)!
        head.closes = false
        let sent = forHEAD ? [] : body
        return ImitationMessage(headBytes: headBytes, head: head, fields: all, body: sent, wireBody: sent)
    }

    /// A JSON error answer in the distribution format: `{"errors":[{"code":…,"message":…}]}`.
    static func error(_ status: Int, _ code: String, _ message: String, detail: Any? = nil,
                      headers: [(String, String)] = [], forHEAD: Bool = false) -> ImitationMessage {
        var entry: [String: Any] = ["code": code, "message": message]
        if let detail { entry["detail"] = detail }
        return made(status, [("Content-Type", "application/json; charset=utf-8")] + headers,
                    body: json(["errors": [entry]]), forHEAD: forHEAD)
    }

    /// JSON bytes with sorted keys and unescaped slashes.
    static func json(_ object: Any) -> [UInt8] {
        Array((try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data())
    }

    static func encode(_ first: String, _ fields: [(name: String, value: String)], _ body: [UInt8]) -> [UInt8] {
        let text = ([first] + fields.map { "\($0.name): \($0.value)" }).joined(separator: "\r\n") + "\r\n\r\n"
        return Array(text.utf8) + body
    }

    static func reason(_ status: Int) -> String {
        [100: "Continue", 200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 400: "Bad Request",
         401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 409: "Conflict",
         411: "Length Required", 416: "Requested Range Not Satisfiable", 429: "Too Many Requests",
         502: "Bad Gateway"][status] ?? "Status"
    }
}

/// A connection with a read buffer, reading whole messages.
final class ImitationWire {
    let fd: Int32
    private var buffer: [UInt8] = []
    private var start = 0
    private var closed = false

    init(fd: Int32) { self.fd = fd }

    /// A connection to `127.0.0.1:port`, or nil when nothing accepts there.
    static func connect(port: Int) -> ImitationWire? { LoopbackSocket.connect(port: port).map(ImitationWire.init) }

    func close() {
        guard !closed else { return }
        closed = true
        Glibc.close(fd)
    }

    func write(_ bytes: [UInt8]) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return false }
            sent += n
        }
        return true
    }

    /// A request with its whole body, or nil when the connection ends or the head is malformed. A request that
    /// expects `100 Continue` is told to go on before its body is read.
    func readRequest() -> ImitationMessage? {
        guard let (bytes, head, fields) = readHead(isRequest: true) else { return nil }
        let expects = fields.contains { $0.name.lowercased() == "expect" && $0.value.lowercased() == "100-continue" }
        if expects, !write(Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)) { return nil }
        guard let (body, wire) = readBody(head, bodyless: false) else { return nil }
        return ImitationMessage(headBytes: bytes, head: head, fields: fields, body: body, wireBody: wire)
    }

    /// The response to a request with `method`, skipping interim (1xx) answers; nil when the connection fails.
    func readResponse(method: String) -> ImitationMessage? {
        while true {
            guard let (bytes, head, fields) = readHead(isRequest: false) else { return nil }
            if (100..<200).contains(head.status) { continue }
            let bodyless = method == "HEAD" || head.status == 204 || head.status == 304
            guard let (body, wire) = readBody(head, bodyless: bodyless) else { return nil }
            return ImitationMessage(headBytes: bytes, head: head, fields: fields, body: body, wireBody: wire)
        }
    }

    private func readHead(isRequest: Bool) -> ([UInt8], Head, [(name: String, value: String)])? {
        while true {
            if let end = find([13, 10, 13, 10]) {
                let bytes = take(end - start + 4)
                guard let head = Head(parsing: bytes, isRequest: isRequest) else { return nil }
                let lines = String(decoding: bytes, as: UTF8.self).components(separatedBy: "\r\n").dropFirst()
                let fields = lines.compactMap { line -> (name: String, value: String)? in
                    guard let colon = line.firstIndex(of: ":") else { return nil }
                    return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
                }
                return (bytes, head, fields)
            }
            guard buffer.count - start < 256 * 1024, fill() else { return nil }
        }
    }

    /// The body framed by `head`: decoded, and as it came.
    private func readBody(_ head: Head, bodyless: Bool) -> ([UInt8], [UInt8])? {
        if bodyless { return ([], []) }
        if head.chunked {
            var body: [UInt8] = []
            var wire: [UInt8] = []
            while true {
                guard let line = readLine() else { return nil }
                wire += line
                let text = String(decoding: line, as: UTF8.self).split(separator: ";").first ?? ""
                guard let size = Int(text.trimmingCharacters(in: .whitespacesAndNewlines), radix: 16) else { return nil }
                if size == 0 {
                    while true {
                        guard let trailer = readLine() else { return nil }
                        wire += trailer
                        if trailer == [13, 10] { return (body, wire) }
                    }
                }
                guard let chunk = read(size), let crlf = readLine() else { return nil }
                body += chunk
                wire += chunk + crlf
            }
        }
        if let length = head.contentLength {
            guard let b = read(length) else { return nil }
            return (b, b)
        }
        if head.isRequest { return ([], []) }
        // A response without framing runs until the connection closes.
        while fill() {}
        let rest = take(buffer.count - start)
        return (rest, rest)
    }

    private func fill() -> Bool {
        if start > 0, start >= buffer.count / 2 {
            buffer.removeFirst(start)
            start = 0
        }
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        let n = recv(fd, &chunk, chunk.count, 0)
        guard n > 0 else { return false }
        buffer.append(contentsOf: chunk[0..<n])
        return true
    }

    private func take(_ n: Int) -> [UInt8] {
        let out = Array(buffer[start..<(start + n)])
        start += n
        return out
    }

    private func read(_ n: Int) -> [UInt8]? {
        while buffer.count - start < n { guard fill() else { return nil } }
        return take(n)
    }

    private func readLine() -> [UInt8]? {
        while true {
            if let i = find([13, 10]) { return take(i - start + 2) }
            guard buffer.count - start < 64 * 1024, fill() else { return nil }
        }
    }

    private func find(_ needle: [UInt8]) -> Int? {
        guard buffer.count - start >= needle.count else { return nil }
        var i = start
        while i <= buffer.count - needle.count {
            if buffer[i] == needle[0], Array(buffer[i..<(i + needle.count)]) == needle { return i }
            i += 1
        }
        return nil
    }
}
