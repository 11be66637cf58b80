import Foundation
import Synchronization

/// A listening socket on 127.0.0.1 whose accept loop runs on its own thread (for the tests' proxies): `start`
/// hands every connection to a handler, `stop` closes the socket and ends the loop.
final class LoopbackListener: @unchecked Sendable {
    let port: Int
    private let fd: Int32
    private let name: String
    private let stopped = Atomic<Bool>(false)

    /// Whether `stop` was called.
    var isStopped: Bool { stopped.load(ordering: .relaxed) }

    /// Listens on a free port of `address` (127.0.0.1 unless told otherwise).
    init(name: String, backlog: Int32, address: String = "127.0.0.1") throws {
        self.name = name
        (fd, port) = try LoopbackSocket.bind(address, listen: backlog)
    }

    deinit { stop() }

    /// Accepts connections on a thread named after the listener, each passed to `handle` on that thread.
    func start(_ handle: @escaping @Sendable (Int32) -> Void) {
        let thread = Thread { [self] in LoopbackSocket.accept(on: fd, until: stopped, handle) }
        thread.name = name
        thread.start()
    }

    /// Stops accepting; connections already accepted are their handlers' to end.
    func stop() {
        guard !stopped.exchange(true, ordering: .relaxed) else { return }
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
    }
}
