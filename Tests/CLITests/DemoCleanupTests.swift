import Foundation
import Testing
import TestSupport

/// `scripts/demo.sh` stops everything it started and removes its folder: when it ends normally and on Ctrl-C.
@Suite("The demo script cleans up after itself", .serialized)
struct DemoCleanupTests {
    static let script: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.appendingPathComponent("scripts/demo.sh").path
    }()

    /// The folder of the dray binary under test (dray-testkit is built beside it).
    static var binaries: String { URL(fileURLWithPath: Dray.path).deletingLastPathComponent().path }

    /// The work folder and registry processes the demo printed.
    static func started(_ output: String) -> (folder: String, pids: [pid_t], hosts: [String])? {
        guard let workLine = output.split(separator: "\n").first(where: { $0.hasPrefix("==> work folder ") }),
              let regLine = output.split(separator: "\n").first(where: { $0.hasPrefix("==> registries: ") })
        else { return nil }
        let words = workLine.split(separator: " ")
        let folder = String(words[3].dropLast())  // "/tmp/dray-demo-XXXX,"
        let pids = words.drop { $0 != "pids" }.dropFirst().compactMap { pid_t($0) }
        let hosts = regLine.split(separator: " ").filter { $0.hasPrefix("127.0.0.1:") }.map { String($0.trimmingCharacters(in: [","])) }
        return (folder, pids, hosts)
    }

    /// Nothing the demo started is left: no process, no listener, no folder.
    static func expectNothingLeft(_ s: (folder: String, pids: [pid_t], hosts: [String]), _ label: String) {
        #expect(s.pids.count == 2 && s.hosts.count == 2, "\(label): \(s)")
        for pid in s.pids {
            // Signal 0 probes: ESRCH once the process is gone (and reaped).
            #expect(kill(pid, 0) != 0 && errno == ESRCH, "\(label): registry process \(pid) is still running")
        }
        for host in s.hosts {
            let port = Int(host.split(separator: ":")[1])!
            #expect(!Self.accepts(port: port), "\(label): \(host) still accepts connections")
        }
        #expect(!FileManager.default.fileExists(atPath: s.folder), "\(label): \(s.folder) is still there")
    }

    /// Starts `program` with its stdout on a pipe and `signal` deliverable: a child inherits its parent thread's
    /// signal mask, and the test runner's threads block SIGINT, which a terminal's Ctrl-C would deliver.
    static func start(_ program: String, _ arguments: [String], receiving signal: Int32,
                      environment: [String: String] = [:]) throws -> (Process, Pipe) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: program)
        p.arguments = arguments
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, signal)
        var old = sigset_t()
        pthread_sigmask(SIG_UNBLOCK, &set, &old)
        defer { pthread_sigmask(SIG_SETMASK, &old, nil) }
        try p.run()
        return (p, out)
    }

    /// Whether something listens on 127.0.0.1:`port`.
    static func accepts(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }

    @Test("after a normal end, the registries are stopped and the work folder is gone")
    func normalEnd() throws {
        let r = try Shell.run("bash", [Self.script, "--registries-only"], environment:
            ProcessInfo.processInfo.environment.merging(["DRAY_DEMO_BIN": Self.binaries]) { $1 })
        #expect(r.status == 0, "\(r.stderr)")
        let started = try #require(Self.started(r.stdoutText), "\(r.stdoutText)")
        Self.expectNothingLeft(started, "normal end")
    }

    @Test("Ctrl-C (SIGINT) while it runs: exit 130, the registries are stopped and the work folder is gone")
    func interrupted() throws {
        let (p, out) = try Self.start("/bin/bash", [Self.script, "--registries-only"], receiving: SIGINT,
                                      environment: ["DRAY_DEMO_BIN": Self.binaries, "DRAY_DEMO_HOLD": "1"])
        let output = Dray.read(out, until: "holding")
        let started = try #require(Self.started(output), "\(output)")
        for pid in started.pids { #expect(kill(pid, 0) == 0, "the registry \(pid) runs while the demo holds") }
        kill(p.processIdentifier, SIGINT)
        p.waitUntilExit()
        #expect(p.terminationStatus == 130)
        Self.expectNothingLeft(started, "Ctrl-C")
    }
}

/// The registries of the test support code (the benchmark harness, `dray-testkit serve`, the test suite) are
/// stopped and their folders removed on Ctrl-C and SIGTERM too, not only at a normal exit.
@Suite("Registries of the harness are cleaned up on signals", .serialized)
struct HarnessCleanupTests {
    @Test("dray-testkit serve: SIGINT and SIGTERM stop its registry and remove its folder", arguments: [SIGINT, SIGTERM])
    func signalled(_ sig: Int32) throws {
        let (p, out) = try DemoCleanupTests.start(DemoCleanupTests.binaries + "/dray-testkit", ["serve"], receiving: sig)
        let line = Dray.read(out, until: "folder")
        let words = line.split(whereSeparator: \.isWhitespace)
        let host = try #require(words.firstIndex(of: "registry").map { String(words[$0 + 1]) }, "\(line)")
        let pid = try #require(words.firstIndex(of: "pid").flatMap { pid_t(words[$0 + 1]) }, "\(line)")
        let folder = try #require(words.firstIndex(of: "folder").map { String(words[$0 + 1]) }, "\(line)")
        #expect(kill(pid, 0) == 0 && FileManager.default.fileExists(atPath: folder))
        kill(p.processIdentifier, sig)
        p.waitUntilExit()
        #expect(p.terminationStatus == 128 + sig)
        // The registry was the testkit's child: it is gone once reaped by init, within a moment.
        let deadline = ContinuousClock.now + .seconds(5)
        while kill(pid, 0) == 0 && ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.05) }
        #expect(kill(pid, 0) != 0, "registry \(pid) still runs")
        #expect(!DemoCleanupTests.accepts(port: Int(host.split(separator: ":")[1])!))
        #expect(!FileManager.default.fileExists(atPath: folder), "\(folder) is still there")
    }
}
