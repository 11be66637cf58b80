import Engine
import Foundation
import Testing
import TestSupport
import Transports

/// A long list against one registry: resources stay bounded, nothing hangs, the connection cap holds.
///
/// 1,000 images by default; `DRAY_LONG_TESTS=1` makes it 5,000.
@Suite("Load: a thousand small images with -j 20 against one registry")
struct LoadCLITests {
    static let count = ProcessInfo.processInfo.environment["DRAY_LONG_TESTS"] == "1" ? 5000 : 1000

    /// Peak and late readings of a process's open files and resident memory, sampled while it runs.
    struct Usage {
        var samples: [(fds: Int, rssKB: Int)] = []
        var peakFDs: Int { samples.map(\.fds).max() ?? 0 }
        var peakRSSMB: Double { Double(samples.map(\.rssKB).max() ?? 0) / 1024 }
        /// Peak RSS over the first and the second half of the run.
        var halves: (Double, Double) {
            let mid = samples.count / 2
            func peak(_ s: ArraySlice<(fds: Int, rssKB: Int)>) -> Double { Double(s.map(\.rssKB).max() ?? 0) / 1024 }
            return (peak(samples[..<mid]), peak(samples[mid...]))
        }
    }

    /// Runs dray to the end (or `deadline`), sampling `/proc/PID` every 20 ms.
    static func runSampled(_ args: [String], deadline: Duration) throws -> (status: Int32, stderr: String, usage: Usage, timedOut: Bool) {
        let dir = try TemporaryDirectory()
        _ = FileManager.default.createFile(atPath: dir.file("err"), contents: nil)
        let p = try Dray.start(args, stderr: try FileHandle(forWritingTo: URL(fileURLWithPath: dir.file("err"))))
        let pid = p.processIdentifier
        var usage = Usage()
        let end = ContinuousClock.now + deadline
        var timedOut = false
        while p.isRunning {
            if ContinuousClock.now > end {
                timedOut = true
                kill(pid, SIGKILL)
                break
            }
            let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? 0
            let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
            let rss = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }
                .flatMap { Int($0.split(separator: " ", omittingEmptySubsequences: true)[1]) } ?? 0
            if fds > 0 && rss > 0 { usage.samples.append((fds, rss)) }
            Thread.sleep(forTimeInterval: 0.02)
        }
        p.waitUntilExit()
        let err = (try? String(contentsOfFile: dir.file("err"), encoding: .utf8)) ?? ""
        return (p.terminationStatus, err, usage, timedOut)
    }

    @Test("bounded open files and memory, no stuck image, at most --max-connections requests in flight at the registry")
    func thousandImages() async throws {
        let registry = try RegistryServer()
        let proxy = try FaultProxy(target: Int(registry.host.split(separator: ":").last!)!)
        let client = RegistryClient(registry: registry.host, options: MirrorCLITests.noAuth)
        let n = Self.count
        // Seed straight into the registry, 16 pushes at a time; each image is a few hundred bytes.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<n {
                if i >= 16 { try await group.next() }
                group.addTask {
                    let tree = try SyntheticImage.single(layers: 1, layerSize: 200, seed: UInt64(60_000 + i))
                    try await SyntheticImage.push(tree, to: client, repository: "load/s\(i)", tag: "1")
                }
            }
            try await group.waitForAll()
        }
        let dir = try TemporaryDirectory()
        // Source and destination are the same registry, behind the counting proxy: `load/…` goes to `copy/…`.
        try (0..<n).map { "\(proxy.host)/load/s\($0):1" }.joined(separator: "\n")
            .write(toFile: dir.file("list.txt"), atomically: false, encoding: .utf8)
        let cap = 6
        let r = try Self.runSampled(["mirror", "-f", dir.file("list.txt"), "-d", proxy.host, "--destination-project", "copy",
                                     "-j", "20", "--max-connections", "\(proxy.host)=\(cap)", "--report", dir.file("r.json")],
                                    deadline: .seconds(n / 4))
        #expect(!r.timedOut, "the run did not finish within \(n / 4) s: \(r.stderr.suffix(1500))")
        #expect(r.status == 0, "\(r.stderr.suffix(1500))")
        let summary = try MirrorCLITests.report(dir.file("r.json"))["summary"] as! [String: Any]
        #expect(summary["copied"] as? Int == n, "\(summary)")

        // The cap holds at the registry, and connections are reused rather than opened per request.
        #expect(proxy.maxInFlight <= cap, "\(proxy.maxInFlight) requests in flight")
        #expect(proxy.requests >= 4 * n)
        #expect(proxy.connections <= 4 * cap, "\(proxy.connections) connections for \(proxy.requests) requests")
        // Open files stay near the connection cap; memory stays flat instead of growing with the list.
        let usage = r.usage
        #expect(usage.samples.count > 10)
        #expect(usage.peakFDs <= 40, "peak \(usage.peakFDs) open files")
        #expect(usage.peakRSSMB < 100, "peak RSS \(usage.peakRSSMB) MB")
        let (first, second) = usage.halves
        #expect(second < first + 12, "RSS grew from \(first) MB to \(second) MB")
        print("load: \(n) images in \(usage.samples.count * 20 / 1000) s, \(proxy.requests) requests on \(proxy.connections) connections, "
              + "peak \(proxy.maxInFlight) in flight, \(usage.peakFDs) fds, RSS \(first) → \(second) MB")

        // Spot-check the copies: every 50th image is byte-identical at its new name.
        for i in stride(from: 0, to: n, by: 50) {
            let original = try await client.manifest("load/s\(i)", .tag("1"))
            #expect(try await client.manifest("copy/s\(i)", .tag("1")).bytes == original.bytes)
        }
    }
}
