import Foundation

/// A bandwidth-limited link for the `wan` scenario: a network namespace joined to this one by a veth pair, with
/// a `tbf` qdisc on each end (the kernel here has `tbf` and `htb`, not `netem`; delay comes from the harness's
/// `LatencyProxy` delay line). The client runs inside the namespace (`run(_:)` prefixes `ip netns exec`) and
/// reaches the registries' delay lines on the host end's address, so every byte crosses the link.
///
/// Needs root. Namespaces are named `dray-wan-*`: ones left by a killed run are removed at the next start, and
/// this one is removed when the harness exits, is interrupted, or is terminated.
final class WANLink {
    let name: String
    let hostAddress: String
    let rateMbit: Int
    private let hostSide: String

    /// Creates the namespace, the veth pair (`10.77.<n>.1` here, `.2` inside) and a `tbf` of `rateMbit` on each end.
    init(index: Int, rateMbit: Int) throws {
        name = "dray-wan-\(getpid())-\(index)"
        hostSide = "dwh\(getpid() % 100_000)\(index)"
        let inside = "dwn\(getpid() % 100_000)\(index)"
        hostAddress = "10.77.\(index).1"
        self.rateMbit = rateMbit
        Self.removeStale()
        let burst = max(32, rateMbit * 1000 / 8 / 250)  // about 4 ms of the rate, in KB
        let steps: [[String]] = [
            ["ip", "netns", "add", name],
            ["ip", "link", "add", hostSide, "type", "veth", "peer", "name", inside],
            ["ip", "link", "set", inside, "netns", name],
            ["ip", "addr", "add", "\(hostAddress)/24", "dev", hostSide],
            ["ip", "link", "set", hostSide, "up"],
            ["ip", "-n", name, "addr", "add", "10.77.\(index).2/24", "dev", inside],
            ["ip", "-n", name, "link", "set", inside, "up"],
            ["ip", "-n", name, "link", "set", "lo", "up"],
            ["tc", "qdisc", "add", "dev", hostSide, "root", "tbf", "rate", "\(rateMbit)mbit", "burst", "\(burst)kb", "latency", "100ms"],
            ["ip", "netns", "exec", name, "tc", "qdisc", "add", "dev", inside, "root", "tbf", "rate", "\(rateMbit)mbit",
             "burst", "\(burst)kb", "latency", "100ms"],
        ]
        WANLink.live.insert(name)
        for step in steps {
            let r = Runner.run(step, log: "/dev/null")
            if !r.failures.isEmpty {
                close()
                throw HarnessError("\(step.joined(separator: " ")) failed (the wan scenario needs root, ip and tc)")
            }
        }
        Self.installCleanup()
    }

    /// `command` run inside the namespace.
    func run(_ command: [String]) -> [String] { ["ip", "netns", "exec", name] + command }

    /// Removes the namespace (and with it the veth pair).
    func close() {
        _ = Runner.run(["ip", "link", "del", hostSide], log: "/dev/null")
        _ = Runner.run(["ip", "netns", "del", name], log: "/dev/null")
        WANLink.live.remove(name)
    }

    deinit { close() }

    /// Namespaces this process made and has not removed yet.
    nonisolated(unsafe) static var live = Set<String>()

    /// Namespaces of runs that were killed.
    static func removeStale() {
        let list = Process()
        list.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        list.arguments = ["netns", "list"]
        let pipe = Pipe()
        list.standardOutput = pipe
        list.standardError = FileHandle.nullDevice
        guard (try? list.run()) != nil else { return }
        list.waitUntilExit()
        let names = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            .split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) }
        for n in names where n.hasPrefix("dray-wan-") {
            let pid = n.split(separator: "-").dropFirst(2).first.flatMap { Int32($0) } ?? 0
            // Still running: not stale.
            if pid > 0, pid != getpid(), kill(pid, 0) == 0 { continue }
            if pid == getpid() { continue }
            _ = Runner.run(["ip", "netns", "del", n], log: "/dev/null")
        }
    }

    nonisolated(unsafe) private static var installed = false

    /// At exit, on Ctrl-C and on SIGTERM: the namespaces this process made are removed.
    static func installCleanup() {
        guard !installed else { return }
        installed = true
        atexit { WANLink.removeLive() }
        for sig in [SIGINT, SIGTERM] {
            signal(sig) { s in
                WANLink.removeLive()
                signal(s, SIG_DFL)
                raise(s)
            }
        }
    }

    static func removeLive() {
        for n in live { _ = Runner.run(["ip", "netns", "del", n], log: "/dev/null") }
        live.removeAll()
    }
}

/// A failure of the harness's own set-up.
struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
