import Engine
import Foundation

/// Runs programs for tests and the demo tooling.
public enum Shell {
    /// The result of a finished program.
    public struct Result: Sendable {
        public let status: Int32
        public let stdout: [UInt8]
        public let stderr: String
        public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    }

    /// Runs `program` (looked up on PATH), in `currentDirectory` when given, and waits for it.
    @discardableResult
    public static func run(_ program: String, _ args: [String], stdin: [UInt8]? = nil,
                           environment: [String: String]? = nil, currentDirectory: String? = nil) throws -> Result {
        let p = Process()
        if let currentDirectory { p.currentDirectoryURL = URL(fileURLWithPath: currentDirectory) }
        p.executableURL = URL(fileURLWithPath: program.hasPrefix("/") ? program : "/usr/bin/env")
        p.arguments = program.hasPrefix("/") ? args : [program] + args
        if let environment { p.environment = environment }
        let out = Pipe(), err = Pipe(), inp = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = inp
        try p.run()
        if let stdin { inp.fileHandleForWriting.write(Data(stdin)) }
        try? inp.fileHandleForWriting.close()
        // Read both pipes concurrently so neither fills up.
        let errData = LockedBox(Data())
        let reader = Thread { errData.value = err.fileHandleForReading.readDataToEndOfFile() }
        reader.start()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        while !errData.isSet { usleep(1000) }
        return Result(status: p.terminationStatus, stdout: Array(outData),
                      stderr: String(decoding: errData.value, as: UTF8.self))
    }

    /// Runs a program and fails unless it exits 0.
    @discardableResult
    public static func check(_ program: String, _ args: [String], stdin: [UInt8]? = nil) throws -> Result {
        let r = try run(program, args, stdin: stdin)
        guard r.status == 0 else {
            throw TestSupportError("\(program) \(args.joined(separator: " ")) exited \(r.status): \(r.stderr.prefix(2000))")
        }
        return r
    }

    /// Whether a program is on PATH.
    public static func has(_ program: String) -> Bool {
        (try? run("sh", ["-c", "command -v \(program)"]).status) == 0
    }
}

/// A value set once from another thread.
final class LockedBox<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var _value: T
    private var _set = false
    init(_ v: T) { _value = v }
    var value: T {
        get { lock.withLock { _value } }
        set { lock.withLock { _value = newValue; _set = true } }
    }
    var isSet: Bool { lock.withLock { _set } }
}

/// A failure in test set-up.
public struct TestSupportError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}

/// A temporary folder removed when released.
public final class TemporaryDirectory: @unchecked Sendable {
    public let path: String

    public init(prefix: String = "dray-test") throws {
        let base = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
        var template = Array("\(base)/\(prefix)-XXXXXX".utf8CString)
        guard let p = mkdtemp(&template) else { throw TestSupportError("mkdtemp failed") }
        path = String(cString: p)
    }

    public func file(_ name: String) -> String { "\(path)/\(name)" }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// A TCP port free on 127.0.0.1 at the time of asking.
public func freeLoopbackPort() throws -> Int {
    let (fd, port) = try LoopbackSocket.bind(listen: nil)
    close(fd)
    return port
}

extension Secrets {
    /// Remembers a password and its `Basic` value, so tests can check that no output of dray carries them.
    public static func rememberCredential(_ user: String, _ password: String) {
        remember(password)
        remember(Data("\(user):\(password)".utf8).base64EncodedString())
    }

    /// The remembered secrets that occur in `text` (found by masking them).
    public static func leaks(in text: String) -> Bool { redact(text) != text }
}
