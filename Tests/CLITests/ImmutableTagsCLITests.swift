import Engine
import Foundation
import Testing
import TestSupport
import Transports

/// `--immutable-tags` with `--state`: recorded immutable tags cost no request at all on a re-run.
@Suite("Immutable tags: a recorded release tag is skipped without a request")
struct ImmutableTagsCLITests {
    static let noAuth = MirrorCLITests.noAuth

    @Test("a re-run of recorded immutable tags sends no request to either registry; other tags are still checked; --force refreshes the state")
    func noRequest() async throws {
        let a = try RegistryServer(), b = try RegistryServer()
        let src = RegistryClient(registry: a.host, options: Self.noAuth)
        for i in 0..<5 {
            let tree = try SyntheticImage.index(layers: 1, layerSize: 3000, seed: UInt64(5800 + i))
            try await SyntheticImage.push(tree, to: src, repository: "imm/app\(i)", tag: "v1.\(i).0")
            if i == 0 { try await SyntheticImage.push(tree, to: src, repository: "imm/app0", tag: "latest") }
        }
        let pa = try FaultProxy(target: a.port), pb = try FaultProxy(target: b.port)
        let dir = try TemporaryDirectory()
        let lines = (0..<5).map { "\(pa.host)/imm/app\($0):v1.\($0).0" }
        try lines.joined(separator: "\n").write(toFile: dir.file("list.txt"), atomically: false, encoding: .utf8)
        let flags = ["-d", pb.host, "--all", "-j", "4", "--immutable-tags", #"^v?[0-9]+\.[0-9]+\.[0-9]+$"#, "-o", dir.file("failed.txt")]
        let first = try Dray.run(["mirror", "-f", dir.file("list.txt")] + flags)
        #expect(first.status == 0, "\(first.stderr.suffix(2000))")
        // The state sits beside the failed list, one entry per image.
        let state = try MirrorRecords.load(dir.file("mirror-state.json"))
        #expect(state.images.count == 5, "\(state.images.keys)")

        let (ra, rb) = (pa.requests, pb.requests)
        let again = try Dray.run(["mirror", "-f", dir.file("list.txt"), "--report", dir.file("r.json")] + flags)
        #expect(again.status == 0, "\(again.stderr.suffix(2000))")
        #expect(pa.requests == ra && pb.requests == rb, "\(pa.requests - ra) source and \(pb.requests - rb) destination requests")
        let summary = try MirrorCLITests.report(dir.file("r.json"))["summary"] as? [String: Any]
        #expect(summary?["skipped"] as? Int == 5, "\(String(describing: summary))")

        // A tag that is not immutable is checked as usual.
        try (lines + ["\(pa.host)/imm/app0:latest"]).joined(separator: "\n").write(toFile: dir.file("list2.txt"), atomically: false, encoding: .utf8)
        let mixed = try Dray.run(["mirror", "-f", dir.file("list2.txt")] + flags)
        #expect(mixed.status == 0)
        #expect(pa.requests > ra && pb.requests > rb)

        // --force asks again and writes the state afresh; a broken state file is refused with one line.
        let (fa, fb) = (pa.requests, pb.requests)
        let forced = try Dray.run(["mirror", "-f", dir.file("list.txt"), "--force"] + flags)
        #expect(forced.status == 0)
        #expect(pa.requests > fa && pb.requests > fb)
        #expect(try MirrorRecords.load(dir.file("mirror-state.json")).images.count == 6)
        try "{not json".write(toFile: dir.file("mirror-state.json"), atomically: false, encoding: .utf8)
        let broken = try Dray.run(["mirror", "-f", dir.file("list.txt")] + flags)
        #expect(broken.status != 0)
        #expect(broken.stderr == "dray: error: --state \(dir.file("mirror-state.json")): not a state file written by dray (remove it to start afresh)\n", "\(broken.stderr)")
    }

    @Test("the state survives kill -9 mid-run: what it holds parses, and the re-run completes the rest")
    func killed() async throws {
        let a = try RegistryServer(), b = try RegistryServer()
        let src = RegistryClient(registry: a.host, options: Self.noAuth)
        for i in 0..<24 {
            let tree = try SyntheticImage.single(layers: 1, layerSize: 2000, seed: UInt64(5900 + i))
            try await SyntheticImage.push(tree, to: src, repository: "kill/app\(i)", tag: "1.0.\(i)")
        }
        // Each manifest GET at the source takes 600 ms (4 images are checked at once at -j 2), and those of the
        // second half of the list get no answer until the re-run: the run is still going when it is killed, however
        // late this test gets to kill it (the full suite on two cores once delayed it past the end of the run).
        let slow = try FaultProxy(target: a.port) { x in
            guard x.isManifest && x.method == "GET" else { return .pass }
            let image = x.path.split(separator: "/").first { $0.hasPrefix("app") }.flatMap { Int($0.dropFirst(3)) } ?? 0
            return image >= 12 ? .stall : .delay(.milliseconds(600))
        }
        let dir = try TemporaryDirectory()
        try (0..<24).map { "\(slow.host)/kill/app\($0):1.0.\($0)" }.joined(separator: "\n")
            .write(toFile: dir.file("list.txt"), atomically: false, encoding: .utf8)
        let args = ["mirror", "-f", dir.file("list.txt"), "-d", b.host, "--all", "-j", "2", "--immutable-tags", "^1\\.",
                    "--state", dir.file("s.json"), "-o", dir.file("failed.txt")]
        let p = try Dray.start(args, stderr: FileHandle.nullDevice)
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if let s = try? MirrorRecords.load(dir.file("s.json")), s.images.count >= 3 { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        let partial = try MirrorRecords.load(dir.file("s.json"))
        #expect((3..<24).contains(partial.images.count), "\(partial.images.count) recorded before the kill")
        slow.setRule { _ in .pass }
        let rerun = try Dray.run(args)
        #expect(rerun.status == 0, "\(rerun.stderr.suffix(2000))")
        #expect(try MirrorRecords.load(dir.file("s.json")).images.count == 24)
        let dst = RegistryClient(registry: b.host, options: Self.noAuth)
        for i in 0..<24 { #expect(try await dst.headManifest("kill/app\(i)", .tag("1.0.\(i)")) != nil) }
    }
}
