import Foundation
import Synchronization

/// A TCP proxy on 127.0.0.1 that delays every byte by a fixed time in each direction, as a network link with
/// that one-way latency would; it also counts the bytes each way. Bandwidth is not limited unless
/// `bytesPerSecond` caps each direction of each connection (a flow's share of a slow link).
///
/// Each direction of each connection is a delay line: a reader thread stamps chunks with `now + delay` and a
/// writer thread sends them when due, so a stream keeps its throughput and only gains latency. The queue of a
/// direction is bounded (32 MiB), so a slow receiver slows the sender as TCP would.
public final class LatencyProxy: @unchecked Sendable {
    public let target: Int
    public let delay: Duration
    /// Bytes per second at most in each direction of each connection (nil: no cap).
    public let bytesPerSecond: Int?
    private let listener: LoopbackListener
    private let counters = Mutex((up: Int64(0), down: Int64(0), connections: 0))

    /// The address it listens on (127.0.0.1 unless told otherwise).
    public let address: String
    public var port: Int { listener.port }
    /// `ADDRESS:PORT`.
    public var host: String { "\(address):\(port)" }
    /// Bytes sent from clients to the target so far.
    public var bytesUp: Int64 { counters.withLock { $0.up } }
    /// Bytes sent from the target to clients so far.
    public var bytesDown: Int64 { counters.withLock { $0.down } }
    /// Connections accepted so far.
    public var connections: Int { counters.withLock { $0.connections } }

    /// Starts a proxy to `127.0.0.1:target` adding `delay` in each direction, listening on `address` (another
    /// interface's address puts a link such as a veth pair in front of it).
    public init(target: Int, delay: Duration, address: String = "127.0.0.1", bytesPerSecond: Int? = nil) throws {
        self.target = target
        self.delay = delay
        self.bytesPerSecond = bytesPerSecond
        self.address = address
        listener = try LoopbackListener(name: "latency-proxy", backlog: 512, address: address)
        listener.start { [self] client in accepted(client) }
    }

    deinit { stop() }

    /// Stops accepting; open connections end when their peers close.
    public func stop() { listener.stop() }

    private func accepted(_ client: Int32) {
        guard let upstream = LoopbackSocket.connect(port: target) else {
            close(client)
            return
        }
        var one: Int32 = 1
        for fd in [client, upstream] { setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size)) }
        counters.withLock { $0.connections += 1 }
        let pair = SocketPair(a: client, b: upstream)
        DelayLine(from: client, to: upstream, delay: delay, rate: bytesPerSecond, pair: pair) { [self] n in counters.withLock { $0.up += n } }.start()
        DelayLine(from: upstream, to: client, delay: delay, rate: bytesPerSecond, pair: pair) { [self] n in counters.withLock { $0.down += n } }.start()
    }
}

/// Two sockets closed together once both directions are done.
private final class SocketPair: @unchecked Sendable {
    let a: Int32, b: Int32
    private let remaining = Mutex(2)
    init(a: Int32, b: Int32) { (self.a, self.b) = (a, b) }
    /// One direction finished; the second closes both sockets.
    func finished() {
        if remaining.withLock({ $0 -= 1; return $0 }) == 0 {
            close(a)
            close(b)
        }
    }
    /// A direction failed: wake the other one too.
    func abort() {
        shutdown(a, Int32(SHUT_RDWR))
        shutdown(b, Int32(SHUT_RDWR))
    }
}

/// One direction of a proxied connection: read, hold for `delay`, write.
private final class DelayLine: @unchecked Sendable {
    let from: Int32, to: Int32
    let delay: Duration
    let rate: Int?
    let pair: SocketPair
    let count: @Sendable (Int64) -> Void
    private let cond = NSCondition()
    private var queue: [(due: ContinuousClock.Instant, bytes: [UInt8])] = []
    private var queued = 0
    private var ended = false
    private var failed = false
    static let limit = 32 << 20

    init(from: Int32, to: Int32, delay: Duration, rate: Int?, pair: SocketPair, count: @escaping @Sendable (Int64) -> Void) {
        (self.from, self.to, self.delay, self.rate, self.pair, self.count) = (from, to, delay, rate, pair, count)
    }

    func start() {
        if delay == .zero && rate == nil {
            Thread { [self] in pumpDirect() }.start()
        } else {
            Thread { [self] in readLoop() }.start()
            Thread { [self] in writeLoop() }.start()
        }
    }

    private func pumpDirect() {
        var buffer = [UInt8](repeating: 0, count: 256 << 10)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(from, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            guard Self.writeAll(to, buffer, n) else {
                pair.abort()
                break
            }
            count(Int64(n))
        }
        shutdown(to, Int32(SHUT_WR))
        pair.finished()
    }

    private func readLoop() {
        var buffer = [UInt8](repeating: 0, count: 256 << 10)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(from, $0.baseAddress, $0.count) }
            cond.lock()
            if n <= 0 || failed {
                ended = true
                cond.broadcast()
                cond.unlock()
                return
            }
            while queued >= Self.limit && !failed { cond.wait() }
            queue.append((ContinuousClock.now + delay, Array(buffer[0..<n])))
            queued += n
            cond.broadcast()
            cond.unlock()
        }
    }

    private func writeLoop() {
        let started = ContinuousClock.now
        var sent = 0
        while true {
            cond.lock()
            while queue.isEmpty && !ended { cond.wait() }
            if queue.isEmpty {
                cond.unlock()
                break
            }
            let (due, bytes) = queue.removeFirst()
            cond.unlock()
            // Due after its delay, and, under a cap, not before the bytes already sent have had their time.
            var when = due
            if let rate { when = max(when, started + .seconds(Double(sent) / Double(rate))) }
            let wait = when - ContinuousClock.now
            if wait > .zero { Thread.sleep(forTimeInterval: Double(wait.components.attoseconds) / 1e18 + Double(wait.components.seconds)) }
            let ok = Self.writeAll(to, bytes, bytes.count)
            sent += bytes.count
            cond.lock()
            queued -= bytes.count
            if !ok { failed = true }
            cond.broadcast()
            cond.unlock()
            if !ok {
                pair.abort()
                break
            }
            count(Int64(bytes.count))
        }
        shutdown(to, Int32(SHUT_WR))
        pair.finished()
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8], _ n: Int) -> Bool {
        var offset = 0
        while offset < n {
            let w = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + offset, n - offset, Int32(MSG_NOSIGNAL)) }
            if w < 0 && errno == EINTR { continue }
            if w <= 0 { return false }
            offset += w
        }
        return true
    }
}
