import Foundation
import Synchronization

/// TCP sockets for the test servers and proxies, on 127.0.0.1 unless told otherwise (IPv4 only).
enum LoopbackSocket {
    /// The address `host:port`.
    static func address(_ host: String = "127.0.0.1", port: Int) -> sockaddr_in {
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = UInt16(port).bigEndian
        addr.sin_addr.s_addr = inet_addr(host)
        return addr
    }

    /// A socket bound to a free port of `host`, listening with `backlog` when one is given; and the port.
    static func bind(_ host: String = "127.0.0.1", listen backlog: Int32?) throws -> (fd: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestSupportError("socket: errno \(errno)") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = address(host, port: 0)
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.bind(fd, $0, len) == 0 && (backlog.map { Glibc.listen(fd, $0) == 0 } ?? true)
                    && getsockname(fd, $0, &len) == 0
            }
        }
        guard ok else {
            let code = errno
            close(fd)
            throw TestSupportError("cannot \(backlog == nil ? "bind" : "listen") on \(host): errno \(code)")
        }
        return (fd, Int(UInt16(bigEndian: addr.sin_port)))
    }

    /// A socket connected to `host:port`, or nil when nothing accepts there.
    static func connect(port: Int, host: String = "127.0.0.1") -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var addr = address(host, port: port)
        let ok = withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
        guard ok else {
            close(fd)
            return nil
        }
        return fd
    }

    /// Accepts connections on `listener` and hands each to `handle`, until `stopped` or the listener closes.
    static func accept(on listener: Int32, until stopped: borrowing Atomic<Bool>, _ handle: (Int32) -> Void) {
        while !stopped.load(ordering: .relaxed) {
            let client = Glibc.accept(listener, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                return
            }
            handle(client)
        }
    }
}
