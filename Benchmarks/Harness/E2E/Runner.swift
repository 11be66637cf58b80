import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// What one measured step cost: wall time, the CPU time of every process it ran, the largest peak RSS among
/// them, and whether they all succeeded.
struct Cost: Sendable {
    var wall: Double = 0
    var cpu: Double = 0
    var peakRSS: Int64 = 0
    var failures: [String] = []

    /// Two steps run one after the other.
    static func + (a: Cost, b: Cost) -> Cost {
        Cost(wall: a.wall + b.wall, cpu: a.cpu + b.cpu, peakRSS: max(a.peakRSS, b.peakRSS), failures: a.failures + b.failures)
    }
}

/// Runs commands with `posix_spawn` and collects each one's resource usage with `wait4`.
enum Runner {
    /// Runs one command; its output goes to `log` (appended).
    static func run(_ argv: [String], log: String) -> Cost {
        let start = ContinuousClock.now
        var cost = spawnAndWait(argv, log: log)
        cost.wall = (ContinuousClock.now - start).seconds
        return cost
    }

    /// Runs commands `parallel` at a time (like `xargs -P`), as one step.
    static func runAll(_ commands: [[String]], parallel: Int, log: String) -> Cost {
        let start = ContinuousClock.now
        let state = Mutex((next: 0, total: Cost()))
        let group = DispatchGroup()
        for _ in 0..<max(1, parallel) {
            group.enter()
            Thread {
                while true {
                    let i: Int? = state.withLock { s in
                        guard s.next < commands.count else { return nil }
                        defer { s.next += 1 }
                        return s.next
                    }
                    guard let i else { break }
                    let c = spawnAndWait(commands[i], log: log)
                    state.withLock { s in
                        s.total.cpu += c.cpu
                        s.total.peakRSS = max(s.total.peakRSS, c.peakRSS)
                        s.total.failures += c.failures
                    }
                }
                group.leave()
            }.start()
        }
        group.wait()
        var total = state.withLock { $0.total }
        total.wall = (ContinuousClock.now - start).seconds
        return total
    }

    /// Runs `argv` under GNU time, which reports the child's own CPU time and peak RSS (a child spawned straight
    /// from this process would count this process's peak RSS as its own: Linux carries it across exec).
    private static func spawnAndWait(_ argv: [String], log: String) -> Cost {
        let stats = NSTemporaryDirectory() + "dray-e2e-time-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: stats) }
        var cost = spawn(["/usr/bin/time", "-f", "%U %S %M", "-o", stats] + argv, log: log)
        let fields = ((try? String(contentsOfFile: stats, encoding: .utf8)) ?? "").split(separator: "\n").last?
            .split(separator: " ").compactMap { Double($0) } ?? []
        if fields.count == 3 {
            cost.cpu = fields[0] + fields[1]
            cost.peakRSS = Int64(fields[2]) * 1024
        }
        return cost
    }

    /// Process groups of the commands running now.
    private static let running = Mutex(Set<pid_t>())
    /// At the harness's exit (also on Ctrl-C and SIGTERM, which end it through `exit`), the commands still
    /// running are ended with their children: a dray left inside a removed WAN namespace would otherwise wait
    /// out its stall timeouts.
    private static let cleanup: Void = { atexit { Runner.killRunning() } }()

    private static func killRunning() {
        for group in running.withLock({ $0 }) { kill(-group, SIGTERM) }
    }

    private static func spawn(_ argv: [String], log: String) -> Cost {
        _ = cleanup
        // Each command leads a process group of its own, so it can be ended with everything it started. It starts
        // with no signal blocked and SIGINT/SIGTERM at their defaults: the spawning thread's mask and the
        // handlers TestSupport installs here would otherwise pass to it, and a SIGTERM would wait forever.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t(), defaults = sigset_t()
        sigemptyset(&none)
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGINT)
        sigaddset(&defaults, SIGTERM)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        posix_spawnattr_setpgroup(&attributes, 0)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        var cargs = argv.map { strdup($0) } + [nil]
        defer { for p in cargs { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, argv[0], &actions, &attributes, &cargs, environ)
        guard rc == 0 else { return Cost(failures: ["\(argv[0]): spawn failed (\(rc))"]) }
        running.withLock { _ = $0.insert(pid) }
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
        running.withLock { _ = $0.remove(pid) }
        let cpu = Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
        let exited = (status & 0x7f) == 0 && ((status >> 8) & 0xff) == 0
        return Cost(wall: 0, cpu: cpu, peakRSS: Int64(usage.ru_maxrss) * 1024,
                    failures: exited ? [] : ["\(argv.prefix(3).joined(separator: " ")) … exited with status \(status)"])
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
