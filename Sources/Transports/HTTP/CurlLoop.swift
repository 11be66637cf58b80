import CCurl
import Foundation
import Synchronization

/// One libcurl multi handle, driven by its own thread, that runs every HTTP transfer in the process.
///
/// All calls into curl for active transfers happen on this thread; other threads talk to it through a command
/// queue and `curl_multi_wakeup`. Sharing one multi handle gives connection reuse across all requests.
final class CurlLoop: @unchecked Sendable {
    /// The process-wide loop.
    static let shared = CurlLoop()

    enum Command {
        case add(CurlTransfer)
        case unpause(CurlTransfer)
        case cancel(CurlTransfer, any Error)
    }

    private let multi: UnsafeMutableRawPointer
    private let commands = Mutex<[Command]>([])
    /// Transfers in the multi handle; touched only on the loop thread.
    private var active: [UnsafeMutableRawPointer: CurlTransfer] = [:]

    private init() {
        _ = curl_global_init(dray_CURL_GLOBAL_DEFAULT)
        multi = curl_multi_init()!
        // Keep a generous connection cache: many registries, many parallel transfers.
        _ = dray_curl_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, 128)
        // Multiplex HTTP/2 streams over one connection when the server offers it.
        _ = dray_curl_multi_setopt_long(multi, CURLMOPT_PIPELINING, 2)  // CURLPIPE_MULTIPLEX
        let thread = Thread { [unowned self] in self.run() }
        thread.name = "dray-curl"
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// Queues a command for the loop thread and wakes it.
    func submit(_ command: Command) {
        commands.withLock { $0.append(command) }
        curl_multi_wakeup(multi)
    }

    private func run() {
        var running: Int32 = 0
        while true {
            let batch = commands.withLock { q -> [Command] in
                defer { q.removeAll(keepingCapacity: true) }
                return q
            }
            for command in batch { apply(command) }

            curl_multi_perform(multi, &running)
            var left: Int32 = 0
            while let msg = curl_multi_info_read(multi, &left) {
                guard msg.pointee.msg == CURLMSG_DONE, let easy = msg.pointee.easy_handle else { continue }
                let code = msg.pointee.data.result
                finish(easy, code: code)
            }
            // Sleep until a socket is ready, a command wakes us, or curl's own timers need service.
            curl_multi_poll(multi, nil, 0, 1000, nil)
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
            curl_multi_add_handle(multi, t.easy)
        case .unpause(let t):
            guard active[t.easy] != nil else { return }
            curl_easy_pause(t.easy, dray_CURLPAUSE_CONT)
        case .cancel(let t, let error):
            guard active.removeValue(forKey: t.easy) != nil else { return }
            curl_multi_remove_handle(multi, t.easy)
            t.complete(error: error)
        }
    }

    private func finish(_ easy: UnsafeMutableRawPointer, code: CURLcode) {
        guard let t = active.removeValue(forKey: easy) else { return }
        curl_multi_remove_handle(multi, easy)
        if code == CURLE_OK {
            t.complete(error: nil)
        } else {
            t.complete(error: t.transportError(code))
        }
    }
}
