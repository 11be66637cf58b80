import CCurl
import Engine
import FoundationEssentials
import Glibc
import Synchronization

/// One libcurl multi handle, driven by its own thread, that runs every HTTP transfer in the process.
///
/// All calls into curl for active transfers happen on this thread; other threads talk to it through a command
/// queue and an eventfd. Sharing one multi handle gives connection reuse across all requests. The loop uses curl's
/// event interface (`curl_multi_socket_action`) over epoll: curl names the sockets to watch and its next timeout,
/// and each wake-up handles only the sockets that are ready, where `poll` over every open connection (and a pass
/// over every transfer) cost a run of many small images a tenth of its CPU time.
final class CurlLoop: @unchecked Sendable {
    /// The process-wide loop.
    static let shared = CurlLoop()

    enum Command {
        case add(CurlTransfer)
        case unpause(CurlTransfer)
        case cancel(CurlTransfer, any Error)
        case splice(CurlSplice)
    }

    private let multi: UnsafeMutableRawPointer
    private let commands = Mutex<[Command]>([])
    /// Transfers in the multi handle; touched only on the loop thread.
    private var active: [UnsafeMutableRawPointer: CurlTransfer] = [:]
    private let epoll: Int32
    /// Written to wake the loop for new commands.
    private let wake: Int32
    /// Sockets curl asked the loop to watch; loop thread only.
    fileprivate var watched: Set<Int32> = []
    /// When curl wants `CURL_SOCKET_TIMEOUT` handled next (nil: no timer); loop thread only.
    fileprivate var deadline: ContinuousClock.Instant?
    /// Transfers to unpause before the loop next waits; loop thread only. Callbacks queue here rather than call
    /// `curl_easy_pause` on another transfer from inside curl.
    private var unpauseQueue: [CurlTransfer] = []

    private init() {
        // The first transfer loaded libcurl before it reached the loop.
        precondition(dray_curl_load() == nil, "the HTTP event loop started before libcurl was loaded")
        multi = dray_curl_multi_init()!
        epoll = dray_epoll_create()
        wake = dray_eventfd()
        precondition(epoll >= 0 && wake >= 0, "cannot create the HTTP event loop: \(String(cString: strerror(errno)))")
        _ = dray_epoll_watch(epoll, wake, 1, 0, 0)
        // Keep a generous connection cache: many registries, many parallel transfers.
        _ = dray_curl_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, 128)
        // Multiplex HTTP/2 streams over one connection when the server offers it.
        _ = dray_curl_multi_setopt_long(multi, CURLMOPT_PIPELINING, 2)  // CURLPIPE_MULTIPLEX
        let me = Unmanaged.passUnretained(self).toOpaque()
        _ = dray_curl_multi_setopt_socketfn(multi, curlSocketCallback)
        _ = dray_curl_multi_setopt_pointer(multi, CURLMOPT_SOCKETDATA, me)
        _ = dray_curl_multi_setopt_timerfn(multi, curlTimerCallback)
        _ = dray_curl_multi_setopt_pointer(multi, CURLMOPT_TIMERDATA, me)
        OSThread.start(name: "dray-curl", stackSize: 1 << 20) { [unowned self] in self.run() }
    }

    /// Queues a command for the loop thread and wakes it.
    func submit(_ command: Command) {
        commands.withLock { $0.append(command) }
        var one: UInt64 = 1
        _ = Glibc.write(wake, &one, 8)
    }

    /// Unpauses a transfer once the current curl call has returned; loop thread only.
    func unpauseSoon(_ transfer: CurlTransfer) {
        unpauseQueue.append(transfer)
    }

    /// curl's socket callback: start, change or stop watching a socket.
    fileprivate func watch(_ fd: Int32, what: Int32) {
        if what == dray_CURL_POLL_REMOVE {
            if watched.remove(fd) != nil { _ = dray_epoll_unwatch(epoll, fd) }
            return
        }
        let input: Int32 = what & dray_CURL_POLL_IN != 0 ? 1 : 0
        let output: Int32 = what & dray_CURL_POLL_OUT != 0 ? 1 : 0
        let known = watched.contains(fd)
        if dray_epoll_watch(epoll, fd, input, output, known ? 1 : 0) != 0 {
            // The set and the kernel disagree (a socket closed and reopened under the same number): try the other way.
            _ = dray_epoll_watch(epoll, fd, input, output, known ? 0 : 1)
        }
        watched.insert(fd)
    }

    private func run() {
        var running: Int32 = 0
        let capacity: Int32 = 64
        var fds = [Int32](repeating: 0, count: Int(capacity))
        var flags = [Int32](repeating: 0, count: Int(capacity))
        while true {
            let batch = commands.withLock { q -> [Command] in
                defer { q.removeAll(keepingCapacity: true) }
                return q
            }
            for command in batch { apply(command) }
            // Unpausing can run callbacks that queue more.
            while !unpauseQueue.isEmpty {
                let queue = unpauseQueue
                unpauseQueue.removeAll(keepingCapacity: true)
                for t in queue where active[t.easy] != nil { dray_curl_easy_pause(t.easy, dray_CURLPAUSE_CONT) }
            }

            // Sleep until a socket is ready, a command arrives, or curl's timer is due (at most a second).
            var timeout: Int32 = 1000
            if let deadline {
                let left = (deadline - .now).inSeconds * 1000
                timeout = left <= 0 ? 0 : Int32(min(1000, left.rounded(.up)))
            }
            let n = dray_epoll_wait(epoll, &fds, &flags, capacity, timeout)
            if n > 0 {
                for i in 0..<Int(n) {
                    if fds[i] == wake {
                        var count: UInt64 = 0
                        _ = Glibc.read(wake, &count, 8)
                        continue
                    }
                    dray_curl_multi_socket_action(multi, fds[i], flags[i], &running)
                }
            }
            if let d = deadline, d <= .now {
                deadline = nil
                dray_curl_multi_socket_action(multi, dray_CURL_SOCKET_TIMEOUT, 0, &running)
            }
            var left: Int32 = 0
            while let msg = dray_curl_multi_info_read(multi, &left) {
                guard msg.pointee.msg == CURLMSG_DONE, let easy = msg.pointee.easy_handle else { continue }
                let code = msg.pointee.data.result
                finish(easy, code: code)
            }
        }
    }

    private func apply(_ command: Command) {
        switch command {
        case .add(let t):
            if let err = t.failedBeforeStart() {
                t.complete(error: err)
                return
            }
            active[t.easy] = t
            dray_curl_multi_add_handle(multi, t.easy)
        case .unpause(let t):
            guard active[t.easy] != nil else { return }
            dray_curl_easy_pause(t.easy, dray_CURLPAUSE_CONT)
        case .splice(let sp):
            sp.upload.beginSplice(sp)
        case .cancel(let t, let error):
            guard active.removeValue(forKey: t.easy) != nil else { return }
            dray_curl_multi_remove_handle(multi, t.easy)
            t.complete(error: error)
        }
    }

    private func finish(_ easy: UnsafeMutableRawPointer, code: CURLcode) {
        guard let t = active.removeValue(forKey: easy) else { return }
        dray_curl_multi_remove_handle(multi, easy)
        if code == CURLE_OK {
            t.complete(error: nil)
        } else {
            t.complete(error: t.transportError(code))
        }
    }
}

// MARK: C callbacks (loop thread)

private let curlSocketCallback: dray_curl_socket_cb = { _, socket, what, userp, _ in
    Unmanaged<CurlLoop>.fromOpaque(userp!).takeUnretainedValue().watch(socket, what: what)
    return 0
}

private let curlTimerCallback: dray_curl_timer_cb = { _, timeoutMs, userp in
    let loop = Unmanaged<CurlLoop>.fromOpaque(userp!).takeUnretainedValue()
    loop.deadline = timeoutMs < 0 ? nil : .now + .milliseconds(Int64(timeoutMs))
    return 0
}
