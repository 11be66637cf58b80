import Foundation
import TestSupport

/// A bandwidth-limited link for the `wan` scenario: a network namespace joined to this one by a veth pair, with
/// a `tbf` qdisc on each end (the kernel here has `tbf` and `htb`, not `netem`; delay comes from the harness's
/// `LatencyProxy` delay line). The client runs inside the namespace (`run(_:)` prefixes `ip netns exec`) and
/// reaches the registries' delay lines on the host end's address, so every byte crosses the link.
///
/// Needs root. Namespaces are named `dray-wan-*`: ones left by a killed run are removed at the next start, and
/// this one is removed when the harness exits, is interrupted, or is terminated (see `installCleanup`).
final class WANLink {
    let name: String
    let hostAddress: String
    let rateMbit: Int
    private let hostSide: String

    /// Creates the namespace, the veth pair (`10.77.<n>.1` here, `.2` inside) and a `tbf` of `rateMbit` on each end.
    init(index: Int, rateMbit: Int) throws {
        name = "dray-wan-\(getpid())-\(index)"
        // At most 15 characters: "dwh", a pid of up to 7 digits, "x", the index.
        hostSide = "dwh\(getpid())x\(index)"
        let inside = "dwn\(getpid())x\(index)"
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
        WANLink.liveLinks.insert(hostSide)
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
        WANLink.liveLinks.remove(hostSide)
    }

    deinit { close() }

    /// Namespaces this process made and has not removed yet.
    nonisolated(unsafe) static var live = Set<String>()
    /// Host ends of this process's veth pairs (a namespace still held by a process keeps its pair alive after
    /// the namespace's name is gone, and with it the host end's address).
    nonisolated(unsafe) static var liveLinks = Set<String>()

    /// Output lines of a command, or none.
    private static func lines(_ command: [String]) -> [Substring] {
        (try? Shell.run(command[0], Array(command.dropFirst())))?.stdoutText.split(separator: "\n") ?? []
    }

    /// Whether a run of process `pid` (not this one) is still going.
    private static func isRunning(_ pid: Int32) -> Bool { pid > 0 && (pid == getpid() || kill(pid, 0) == 0) }

    /// Namespaces and host-side links of runs that were killed.
    static func removeStale() {
        let names = lines(["/usr/sbin/ip", "netns", "list"]).compactMap { $0.split(separator: " ").first.map(String.init) }
        for n in names where n.hasPrefix("dray-wan-") {
            let pid = n.split(separator: "-").dropFirst(2).first.flatMap { Int32($0) } ?? 0
            if isRunning(pid) { continue }
            _ = Runner.run(["ip", "netns", "del", n], log: "/dev/null")
        }
        // "7: dwh1234x1@if6: <...>": links named dwh<pid>x<index>.
        let links = lines(["/usr/sbin/ip", "-o", "link", "show"]).compactMap { line -> String? in
            let fields = line.split(separator: ":", maxSplits: 2)
            guard fields.count > 1 else { return nil }
            let name = fields[1].trimmingCharacters(in: .whitespaces).split(separator: "@").first.map(String.init) ?? ""
            return name.hasPrefix("dwh") ? name : nil
        }
        for link in links {
            let pid = link.dropFirst(3).split(separator: "x").first.flatMap { Int32($0) } ?? 0
            if isRunning(pid) { continue }
            _ = Runner.run(["ip", "link", "del", link], log: "/dev/null")
        }
    }

    nonisolated(unsafe) private static var installed = false

    /// At exit the namespaces and links this process made are removed. Ctrl-C and SIGTERM end the harness
    /// through `exit` too: TestSupport's registries catch them (killing the registries first), so the links
    /// go at that exit. (A handler of its own here replaced theirs, and a killed run left its registries.)
    static func installCleanup() {
        guard !installed else { return }
        installed = true
        atexit { WANLink.removeLive() }
    }

    static func removeLive() {
        for link in liveLinks { _ = Runner.run(["ip", "link", "del", link], log: "/dev/null") }
        for n in live { _ = Runner.run(["ip", "netns", "del", n], log: "/dev/null") }
        liveLinks.removeAll()
        live.removeAll()
    }
}

/// A failure of the harness's own set-up.
struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
