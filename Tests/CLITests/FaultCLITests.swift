import Engine
import Foundation
import Synchronization
import Testing
import TestSupport
import Transports

/// Mirrors through a fault-injecting proxy in front of a real registry. Whatever the fault, every image must end
/// either complete and digest-correct at the destination or in the failed list with a reason in the report, and
/// a re-run without faults must complete the rest.
@Suite("Faults: resets, 5xx, 429, stalls, expiring tokens, registry restarts", .serialized)
struct FaultCLITests {
    static let noAuth = RegistryOptions(credentials: CredentialStore(authFiles: []))

    /// A seeded coin for rules: the same seed gives the same faults for the same request order.
    final class Coin: Sendable {
        private let random: Mutex<SyntheticImage.Random>
        init(seed: UInt64) { random = Mutex(SyntheticImage.Random(seed: seed)) }
        /// True with probability `p`.
        func flip(_ p: Double) -> Bool { random.withLock { Double($0.next() % 10_000) / 10_000 < p } }
        /// A number in `range`.
        func pick(_ range: ClosedRange<Int>) -> Int {
            random.withLock { range.lowerBound + Int($0.next() % UInt64(range.count)) }
        }
    }

    struct Corpus {
        var images: [(name: String, tag: String, tree: SyntheticImage.Tree)]
        var list: [String]
    }

    /// `count` two-platform images with layers big enough to be cut mid-body, pushed to `registry`; the list
    /// names them through `via` (a proxy's host).
    static func seed(_ registry: RegistryServer, via: String, count: Int = 6, seed: UInt64 = 70,
                     layerSize: Int = 150_000) async throws -> Corpus {
        let client = RegistryClient(registry: registry.host, options: noAuth)
        var images: [(String, String, SyntheticImage.Tree)] = []
        for i in 0..<count {
            let tree = try SyntheticImage.index(platforms: [.init(os: "linux", architecture: "amd64"),
                                                            .init(os: "linux", architecture: "arm64", variant: "v8")],
                                                layers: 2, layerSize: layerSize + i * 1000, seed: seed + UInt64(i),
                                                sharedBase: [3])
            try await SyntheticImage.push(tree, to: client, repository: "fault/app\(i)", tag: "v\(i)")
            images.append(("fault/app\(i)", "v\(i)", tree))
        }
        return Corpus(images: images, list: images.map { "\(via)/\($0.0):\($0.1)" })
    }

    /// Whether `destination` holds the whole image, byte for byte.
    static func complete(_ image: (name: String, tag: String, tree: SyntheticImage.Tree), at destination: RegistryClient) async -> Bool {
        guard let top = try? await destination.manifest(image.name, .tag(image.tag)), top.bytes == image.tree.top.bytes else {
            return false
        }
        for child in image.tree.children {
            guard (try? await destination.headManifest(image.name, .digest(child.digest))) != nil else { return false }
        }
        for (d, _) in image.tree.blobs.values {
            guard (try? await destination.headBlob(image.name, d.digest)) == d.size else { return false }
        }
        return true
    }

    /// Runs a mirror of `corpus` to `destinationHost` and checks the outcome: each image complete at `destination`
    /// or listed as failed with a reason. Returns the failed lines.
    @discardableResult
    static func mirrorAndCheck(_ corpus: Corpus, to destinationHost: String, checking destination: RegistryServer,
                               reader: RegistryClient? = nil, dir: TemporaryDirectory, extra: [String] = [],
                               home: String? = nil, label: String) async throws -> [String] {
        try corpus.list.joined(separator: "\n").write(toFile: dir.file("list.txt"), atomically: false, encoding: .utf8)
        try? FileManager.default.removeItem(atPath: dir.file("failed.txt"))
        let r = try Dray.run(["mirror", "-f", dir.file("list.txt"), "-d", destinationHost, "--all", "-j", "3",
                              "-o", dir.file("failed.txt"), "--report", dir.file("report.json")] + extra, home: home)
        let failed = ((try? String(contentsOfFile: dir.file("failed.txt"), encoding: .utf8)) ?? "")
            .split(separator: "\n").map(String.init)
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir.file("report.json"))))
            as! [String: Any]
        let images = report["images"] as! [[String: Any]]
        #expect(r.status == (failed.isEmpty ? 0 : 1), "\(label): exit \(r.status)\n\(r.stderr.suffix(3000))")
        let client = reader ?? RegistryClient(registry: destination.host, options: noAuth)
        for (i, image) in corpus.images.enumerated() {
            let line = corpus.list[i]
            if failed.contains(line) {
                let entry = images.first { ($0["line"] as? String) == line || ($0["source"] as? String) == line }
                let reason = entry?["error"] as? String ?? ""
                #expect(!reason.isEmpty, "\(label): \(line) failed without a reason in the report")
                #expect(entry?["status"] as? String == "failed", "\(label): \(line)")
            } else {
                #expect(await complete(image, at: client), "\(label): \(line) is neither complete nor in the failed list\n\(r.stderr.suffix(3000))")
            }
        }
        return failed
    }

    /// A re-run without faults completes everything, and `mirror validate` agrees.
    static func rerunCompletes(_ corpus: Corpus, to destinationHost: String, checking destination: RegistryServer,
                               dir: TemporaryDirectory, extra: [String] = [], home: String? = nil, label: String) async throws {
        let failed = try await mirrorAndCheck(corpus, to: destinationHost, checking: destination, dir: dir, extra: extra,
                                              home: home, label: "\(label), re-run")
        #expect(failed.isEmpty, "\(label): the re-run left \(failed)")
        let client = RegistryClient(registry: destination.host, options: noAuth)
        for image in corpus.images { #expect(await complete(image, at: client), "\(label): \(image.name)") }
    }

    /// Mirrors `count` images through a proxy with `sourceRule` in front of the source and one with
    /// `destinationRule` in front of the destination, checks the outcome and runs `check`, then re-runs
    /// without faults and expects everything complete.
    static func throughFaults(_ label: String, seed: UInt64, count: Int = 6, extra: [String] = [],
                              sourceRule: @escaping FaultProxy.Rule, destinationRule: @escaping FaultProxy.Rule,
                              check: (_ src: FaultProxy, _ dst: FaultProxy, _ dir: TemporaryDirectory) throws -> Void)
        async throws
    {
        let a = try RegistryServer(), b = try RegistryServer()
        let src = try FaultProxy(target: a.port, rule: sourceRule)
        let dst = try FaultProxy(target: b.port, rule: destinationRule)
        let corpus = try await Self.seed(a, via: src.host, count: count, seed: seed)
        let dir = try TemporaryDirectory()
        try await Self.mirrorAndCheck(corpus, to: dst.host, checking: b, dir: dir, extra: extra, label: label)
        try check(src, dst, dir)
        src.setRule { _ in .pass }
        dst.setRule { _ in .pass }
        try await Self.rerunCompletes(corpus, to: dst.host, checking: b, dir: dir, label: label)
    }

    @Test("connections reset mid-response (downloads) and mid-request (uploads)")
    func resets() async throws {
        let coin = Coin(seed: 1)
        try await Self.throughFaults("resets", seed: 70, sourceRule: { x in
            x.isBlob && x.method == "GET" && coin.flip(0.35) ? .resetResponse(afterBytes: coin.pick(1...100_000)) : .pass
        }, destinationRule: { x in
            x.isUpload && (x.method == "PUT" || x.method == "PATCH") && coin.flip(0.35)
                ? .resetRequest(afterBytes: coin.pick(0...100_000)) : .pass
        }) { src, dst, _ in
            #expect(src.faultsByKind["reset-response", default: 0] > 0)
            #expect(dst.faultsByKind["reset-request", default: 0] > 0)
        }
    }

    @Test("bursts of 500, 502 and 503 on both sides")
    func serverErrors() async throws {
        let statuses = [500, 502, 503]
        // Every 30th request starts a burst of three errors (10% of requests, retries included).
        let burst: FaultProxy.Rule = { x in
            x.sequence > 1 && x.sequence % 30 < 3 ? .status(statuses[x.sequence % 3]) : .pass
        }
        try await Self.throughFaults("5xx", seed: 90, sourceRule: burst, destinationRule: burst) { src, dst, _ in
            #expect(src.faults > 0 && dst.faults > 0)
            #expect(Set(src.faultsByKind.keys).union(dst.faultsByKind.keys).isSuperset(of: ["status-500", "status-502", "status-503"]))
        }
    }

    @Test("503s for the destination's first requests: the pre-run check retries them instead of stopping the run")
    func firstAnswersFail() async throws {
        // The check's ping and its retry both get 503 (with --retries 3 the third attempt passes).
        try await Self.throughFaults("first 503s", seed: 95, count: 2, sourceRule: { _ in .pass },
                                     destinationRule: { x in x.sequence <= 2 ? .status(503) : .pass }) { _, dst, dir in
            #expect(dst.faultsByKind["status-503"] == 2)
            let failed = (try? String(contentsOfFile: dir.file("failed.txt"), encoding: .utf8)) ?? ""
            #expect(failed.isEmpty, "\(failed)")
        }
    }

    @Test("429 with and without Retry-After: the run backs off and completes")
    func tooManyRequests() async throws {
        let coin = Coin(seed: 3)
        let limited: FaultProxy.Rule = { x in
            guard x.sequence > 1, coin.flip(0.06) else { return .pass }
            return coin.flip(0.5) ? .status(429, headers: ["Retry-After": "1"]) : .status(429)
        }
        try await Self.throughFaults("429", seed: 110, count: 4, extra: ["--retries", "6"], sourceRule: limited,
                                     destinationRule: limited) { src, dst, dir in
            let kinds = Set(src.faultsByKind.keys).union(dst.faultsByKind.keys)
            #expect(kinds.isSuperset(of: ["status-429", "status-429-retry-after"]), "\(kinds)")
            let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir.file("report.json"))))
                as! [String: Any]
            let registries = report["registries"] as! [String: [String: Int]]
            #expect(registries.values.reduce(0) { $0 + ($1["throttled"] ?? 0) } > 0, "429s are counted as throttling")
        }
    }

    @Test("broken downloads, 503s and 429s on both sides at once: bytes keep moving, no 5-second window without progress")
    func mixedFaultsKeepMoving() async throws {
        let a = try RegistryServer(), b = try RegistryServer()
        let coin = Coin(seed: 17)
        let throttle: @Sendable (FaultProxy.Exchange) -> FaultProxy.Fault? = { x in
            guard x.sequence > 1 else { return nil }
            if coin.flip(0.04) { return .status(503) }
            if coin.flip(0.04) { return coin.flip(0.5) ? .status(429, headers: ["Retry-After": "1"]) : .status(429) }
            return nil
        }
        let src = try FaultProxy(target: a.port)
        let dst = try FaultProxy(target: b.port) { x in throttle(x) ?? .pass }
        let corpus = try await Self.seed(a, via: src.host, count: 16, seed: 190, layerSize: 1_500_000)
        src.setRule { x in
            if let t = throttle(x) { return t }
            return x.isBlob && x.method == "GET" && coin.flip(0.3) ? .resetResponse(afterBytes: coin.pick(1...1_400_000)) : .pass
        }
        let dir = try TemporaryDirectory()
        try corpus.list.joined(separator: "\n").write(toFile: dir.file("list.txt"), atomically: false, encoding: .utf8)
        _ = FileManager.default.createFile(atPath: dir.file("err"), contents: nil)
        let err = try FileHandle(forWritingTo: URL(fileURLWithPath: dir.file("err")))
        let p = try Dray.start(["mirror", "-f", dir.file("list.txt"), "-d", dst.host, "--all", "-j", "4", "--retries", "6",
                                "--stall-timeout", "10s", "-o", dir.file("failed.txt"), "--report", dir.file("report.json"),
                                "--debug"], stderr: err)
        // Watch both proxies while the run is pending: the longest stretch in which neither moved a byte.
        var last = src.bytesMoved + dst.bytesMoved
        var lastChange = ContinuousClock.now
        var longestQuiet = Duration.zero
        let started = ContinuousClock.now
        while p.isRunning && ContinuousClock.now - started < .seconds(240) {
            try await Task.sleep(for: .milliseconds(100))
            let now = ContinuousClock.now, moved = src.bytesMoved + dst.bytesMoved
            if moved != last { last = moved; lastChange = now }
            longestQuiet = max(longestQuiet, now - lastChange)
        }
        if p.isRunning { p.terminate() }
        p.waitUntilExit()
        let log = (try? String(contentsOfFile: dir.file("err"), encoding: .utf8)) ?? ""
        #expect(longestQuiet < .seconds(5), "nothing moved for \(longestQuiet) while the run was pending\n\(log.suffix(4000))")
        let kinds = Set(src.faultsByKind.keys).union(dst.faultsByKind.keys)
        #expect(kinds.isSuperset(of: ["reset-response", "status-503", "status-429"]), "\(kinds)")
        #expect(log.contains("resuming"), "a broken download was resumed")
        // Every image is complete or listed as failed with a reason; a re-run without faults completes the rest.
        src.setRule { _ in .pass }
        dst.setRule { _ in .pass }
        try await Self.rerunCompletes(corpus, to: dst.host, checking: b, dir: dir, label: "mixed faults")
    }

    @Test("a stalled download is abandoned after --stall-timeout and retried")
    func stalls() async throws {
        let a = try RegistryServer(), b = try RegistryServer()
        let stalledOnce = Mutex(0)
        let src = try FaultProxy(target: a.port) { x in
            guard x.isBlob, x.method == "GET" else { return .pass }
            return stalledOnce.withLock { n in
                guard n < 2 else { return .pass }
                n += 1
                return .stall
            }
        }
        let corpus = try await Self.seed(a, via: src.host, count: 3, seed: 130)
        let dir = try TemporaryDirectory()
        let failed = try await Self.mirrorAndCheck(corpus, to: b.host, checking: b, dir: dir,
                                                   extra: ["--stall-timeout", "2s"], label: "stall")
        #expect(failed.isEmpty, "a stall is temporary: the retry completes the image")
        // Both stalls were abandoned (a stalled body never ends by itself), and the retries completed the image.
        #expect(src.faultsByKind["stall"] == 2)
        let bad = try Dray.run(["mirror", "-f", dir.file("list.txt"), "-d", b.host, "--stall-timeout", "soon"])
        #expect(bad.status != 0 && bad.stderr.contains("--stall-timeout: \"soon\""))
    }

    @Test("bearer tokens that expire mid-run are fetched again")
    func expiringTokens() async throws {
        let dir = try TemporaryDirectory()
        // The endpoint claims 300 s, but the registry stops accepting a token about 2 s after it is issued
        // (it allows 60 s of leeway past `exp`): only its 401s reveal the expiry.
        let tokens = try TokenServer(folder: dir.path, users: ["dave": "fault-tok-pw"], tokenLifetime: -58, advertisedLifetime: 300)
        let b = try RegistryServer(auth: tokens.registryAuth)
        let a = try RegistryServer()
        // Slow requests down so the run outlives several tokens.
        let dst = try FaultProxy(target: b.port) { x in x.isUpload || x.isManifest ? .delay(.milliseconds(250)) : .pass }
        let corpus = try await Self.seed(a, via: a.host, count: 4, seed: 150)
        let creds = ["--dest-creds", "dave:fault-tok-pw"]
        let reader = RegistryClient(registry: b.host, options: RegistryOptions(
            credentials: CredentialStore(explicit: Credential(username: "dave", password: "fault-tok-pw"), authFiles: [])))
        let started = ContinuousClock.now
        let failed = try await Self.mirrorAndCheck(corpus, to: dst.host, checking: b, reader: reader, dir: dir,
                                                   extra: creds, label: "tokens")
        #expect(failed.isEmpty)
        #expect(ContinuousClock.now - started > .seconds(3), "the run outlived the first tokens")
        let issued = tokens.requests.count
        #expect(issued > corpus.images.count, "tokens were fetched again after expiring (\(issued) requests)")
    }

    @Test("the destination registry killed and restarted mid-run")
    func registryRestart() async throws {
        let a = try RegistryServer(), b = try RegistryServer()
        let restarted = Mutex(false)
        let dst = try FaultProxy(target: b.port) { x in
            // After the first uploads have begun, kill the registry (SIGKILL) and bring it back on its storage.
            if x.isUpload, x.method == "PUT", restarted.withLock({ r in defer { r = true }; return !r }) {
                Thread { try? b.restart(downtime: .milliseconds(700)) }.start()
            }
            return .pass
        }
        let corpus = try await Self.seed(a, via: a.host, seed: 170)
        let dir = try TemporaryDirectory()
        try await Self.mirrorAndCheck(corpus, to: dst.host, checking: b, dir: dir, extra: ["--retries", "5"],
                                      label: "restart")
        #expect(restarted.withLock { $0 })
        try await Self.rerunCompletes(corpus, to: dst.host, checking: b, dir: dir, label: "restart")
    }
}
