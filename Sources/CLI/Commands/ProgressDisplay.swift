import Engine
import FoundationEssentials
import Glibc
import Synchronization

/// A one-line live progress display on standard error (images done/total, bytes, throughput, ETA), shown only
/// when standard error is a terminal (and logs are text, without --quiet); log lines clear it before they print,
/// and it is redrawn after them. Elsewhere progress is the log's plain lines.
final class ProgressDisplay: @unchecked Sendable {
    /// Whether standard error is a terminal.
    static let isTerminal = isatty(STDERR_FILENO) != 0

    private let lock = Mutex(())
    private let total: Int
    private let started = ContinuousClock.now
    private var done = 0
    private var failed = 0
    private var bytes: Int64 = 0
    private var ticker: Task<Void, Never>?

    init(total: Int) { self.total = total }

    /// Counts an engine event.
    func record(_ event: MirrorEvent) {
        lock.withLock { _ in
            switch event {
            case .started: break
            case .bytes(let n): bytes += n
            case .finished(let r):
                done += 1
                if r.status == .failed { failed += 1 }
            }
        }
    }

    /// Starts redrawing, when on a terminal.
    func start() {
        guard LogSettings.showsProgress else { return }
        ticker = Task.detached { [weak self] in
            while !Task.isCancelled {
                self?.draw()
                try? await Task.sleep(for: .milliseconds(500))
            }
        }
    }

    /// Stops and clears the line.
    func stop() {
        ticker?.cancel()
        if ticker != nil { OutputFile.standardError.write("\r\u{1b}[K") }
    }

    /// The status text, e.g. `[12/20 images, 1 failed] 340.2 MB at 85.1 MB/s, ETA 4s`.
    func line() -> String {
        let (done, failed, bytes) = lock.withLock { _ in (self.done, self.failed, self.bytes) }
        let elapsed = (ContinuousClock.now - started).inSeconds
        var s = "[\(done)/\(total) images\(failed > 0 ? ", \(failed) failed" : "")] \(bytes.humanBytes)"
        if elapsed > 0 { s += " at \(Int64(Double(bytes) / elapsed).humanBytes)/s" }
        if done > 0 && done < total {
            s += ", ETA \(Int((elapsed / Double(done) * Double(total - done)).rounded()))s"
        }
        return s
    }

    private func draw() {
        OutputFile.standardError.write("\r\u{1b}[K\(line())")
    }
}
