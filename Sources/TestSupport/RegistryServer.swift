import Engine
import Foundation
import Synchronization

/// A real CNCF distribution registry (Debian's `docker-registry`) started on a free 127.0.0.1 port, with its
/// storage in a temporary folder; stopped and removed when released.
public final class RegistryServer: @unchecked Sendable {
    /// How the registry authenticates clients.
    public enum Auth: Sendable {
        case none
        /// htpasswd basic auth with one user.
        case basic(username: String, password: String)
        /// Bearer tokens from a token endpoint the tests serve.
        case token(realm: String, service: String, issuer: String, rootCertBundle: String)
    }

    public let port: Int
    public let directory: TemporaryDirectory
    public let tls: Bool
    private var process: Process
    /// Guards `process` against a restart on another thread; holds whether the registry was stopped for good.
    private let lifecycle = Mutex(false)
    private let binary: String

    /// `127.0.0.1:PORT`.
    public var host: String { "127.0.0.1:\(port)" }
    /// Where the registry keeps its blobs.
    public var storage: String { directory.file("storage") }

    /// Starts a registry and waits until it answers.
    /// `clientCAs` makes the registry demand a client certificate signed by one of them (needs TLS).
    /// `accessLog` logs every request to `registry.log` (for counting them with `requestCount()`).
    public init(auth: Auth = .none, tlsCertificate: (cert: String, key: String)? = nil, clientCAs: [String] = [],
                accessLog: Bool = false) throws
    {
        let binary = ["/usr/bin/docker-registry", "/usr/sbin/docker-registry"].first {
            FileManager.default.isExecutableFile(atPath: $0)
        }
        guard let binary else {
            throw TestSupportError("docker-registry is not installed (apt-get install docker-registry)")
        }
        directory = try TemporaryDirectory(prefix: "dray-registry")
        port = try freeLoopbackPort()
        tls = tlsCertificate != nil
        var config = """
            version: 0.1
            log:
              level: warn
              accesslog:
                disabled: \(!accessLog)
            storage:
              filesystem:
                rootdirectory: \(directory.file("storage"))
              delete:
                enabled: true
              maintenance:
                uploadpurging:
                  enabled: false
            http:
              addr: 127.0.0.1:\(port)
              secret: dray-test-secret
              debug:
                addr: ""

            """
        if let tlsCertificate {
            config += "  tls:\n    certificate: \(tlsCertificate.cert)\n    key: \(tlsCertificate.key)\n"
            if !clientCAs.isEmpty {
                config += "    clientcas:\n" + clientCAs.map { "      - \($0)\n" }.joined()
            }
        }
        switch auth {
        case .none: break
        case .basic(let user, let password):
            Secrets.rememberCredential(user, password)
            let r = try Shell.check("htpasswd", ["-Bbn", user, password])
            try r.stdoutText.write(toFile: directory.file("htpasswd"), atomically: false, encoding: .utf8)
            config += "auth:\n  htpasswd:\n    realm: dray-test\n    path: \(directory.file("htpasswd"))\n"
        case .token(let realm, let service, let issuer, let bundle):
            config += "auth:\n  token:\n    realm: \(realm)\n    service: \(service)\n    issuer: \(issuer)\n    rootcertbundle: \(bundle)\n"
        }
        try config.write(toFile: directory.file("config.yml"), atomically: false, encoding: .utf8)
        _ = FileManager.default.createFile(atPath: directory.file("registry.log"), contents: nil)
        self.binary = binary
        process = Self.launch(binary, directory)
        try process.run()
        Self.orphans.track(process.processIdentifier, folder: directory.path)
        try waitUntilListening()
    }

    /// Registries still running when the test process exits (a server kept alive by a closure that captured it,
    /// or a test that failed before stopping it): killed, and their folders removed, at exit.
    private static let orphans = OrphanRegistries()

    private static func launch(_ binary: String, _ directory: TemporaryDirectory) -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["serve", directory.file("config.yml")]
        let log = FileHandle(forWritingAtPath: directory.file("registry.log"))
        log?.seekToEndOfFile()
        process.standardOutput = log
        process.standardError = log
        // The registry reads REGISTRY_* variables as configuration; keep the tests' environment out.
        process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("REGISTRY_") }
        return process
    }

    /// Kills the registry (SIGKILL, as a crash would) and starts it again on the same port and storage, after
    /// `downtime`; returns once it answers again.
    /// A restart racing `stop()` (a test ending while its restart thread sleeps) starts nothing.
    public func restart(downtime: Duration = .milliseconds(300)) throws {
        let old = lifecycle.withLock { _ in process }
        if old.isRunning {
            kill(old.processIdentifier, SIGKILL)
            old.waitUntilExit()
        }
        Thread.sleep(forTimeInterval: downtime.inSeconds)
        let started = try lifecycle.withLock { stopped -> Bool in
            guard !stopped else { return false }
            process = Self.launch(binary, directory)
            try process.run()
            Self.orphans.track(process.processIdentifier, folder: directory.path)
            return true
        }
        if started { try waitUntilListening() }
    }

    private func waitUntilListening() throws {
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if !lifecycle.withLock({ _ in process.isRunning }) {
                let log = (try? String(contentsOfFile: directory.file("registry.log"), encoding: .utf8)) ?? ""
                throw TestSupportError("docker-registry exited: \(log.suffix(2000))")
            }
            if canConnect() { return }
            usleep(20_000)
        }
        throw TestSupportError("docker-registry did not start listening on \(host)")
    }

    private func canConnect() -> Bool {
        guard let fd = LoopbackSocket.connect(port: port) else { return false }
        close(fd)
        return true
    }

    /// The registry's process id.
    public var pid: Int32 { lifecycle.withLock { _ in process.processIdentifier } }

    /// Requests logged so far (needs `accessLog`): lines of the access log naming an HTTP method on `/v2/`.
    public func requestCount() -> Int {
        guard let data = FileManager.default.contents(atPath: directory.file("registry.log")) else { return 0 }
        var count = 0
        for line in data.split(separator: 0x0a) where line.count > 20 {
            let text = String(decoding: line.prefix(400), as: UTF8.self)
            if text.contains("\"GET /v2/") || text.contains("\"HEAD /v2/") || text.contains("\"PUT /v2/")
                || text.contains("\"POST /v2/") || text.contains("\"PATCH /v2/") || text.contains("\"DELETE /v2/") {
                count += 1
            }
        }
        return count
    }

    /// Bytes the registry process has read through `read(2)`-like calls so far (`rchar` of /proc/PID/io):
    /// request bodies, which is what clients sent it.
    public func bytesRead() -> Int64 {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/io", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix("rchar:") {
            return Int64(line.dropFirst(6).trimmingCharacters(in: .whitespaces)) ?? 0
        }
        return 0
    }

    /// The file holding a blob's bytes in the registry's storage (for corrupting it in tests).
    public func blobDataPath(_ hex: String) -> String {
        "\(storage)/docker/registry/v2/blobs/sha256/\(hex.prefix(2))/\(hex)/data"
    }

    /// Stops the registry (for good: a later `restart` starts nothing).
    public func stop() {
        let current = lifecycle.withLock { stopped -> Process in
            stopped = true
            return process
        }
        if current.isRunning {
            current.terminate()
            current.waitUntilExit()
        }
        Self.orphans.forget(folder: directory.path)
    }

    deinit { stop() }
}

/// The registries of this process, for the clean-up at exit.
/// At exit, and on SIGINT or SIGTERM (Ctrl-C of a harness or of the test run), they are killed and their
/// folders removed, then the process exits 128+signal as it would have.
private final class OrphanRegistries: Sendable {
    private let live = Mutex<[String: pid_t]>([:])  // folder → pid of its current process

    init() {
        atexit {
            OrphanRegistries.atExit?()
        }
        OrphanRegistries.atExit = { [self] in self.killAll() }
        // The signal is handled on a dispatch queue, outside the signal handler, where killing and removing
        // folders is safe.
        OrphanRegistries.signalSources = [SIGINT, SIGTERM].map { sig in
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { [self] in
                killAll()
                exit(128 + sig)
            }
            source.resume()
            return source
        }
    }

    nonisolated(unsafe) static var atExit: (() -> Void)?
    nonisolated(unsafe) static var signalSources: [any DispatchSourceSignal] = []

    func track(_ pid: pid_t, folder: String) { live.withLock { $0[folder] = pid } }
    func forget(folder: String) { _ = live.withLock { $0.removeValue(forKey: folder) } }

    private func killAll() {
        for (folder, pid) in live.withLock({ $0 }) {
            kill(pid, SIGKILL)
            try? FileManager.default.removeItem(atPath: folder)
        }
    }
}
