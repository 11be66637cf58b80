import Engine
import Foundation
import Testing
import TestSupport

/// Runs the built `dray` executable.
enum Dray {
    /// The `dray` next to the test bundle (or `$DRAY_BIN`).
    static let path: String = {
        if let p = ProcessInfo.processInfo.environment["DRAY_BIN"] { return p }
        let dir = Bundle.main.executableURL?.deletingLastPathComponent().path
            ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path
        for candidate in ["\(dir)/dray", "\(dir)/../dray"] where FileManager.default.isExecutableFile(atPath: candidate) {
            return candidate
        }
        return "\(dir)/dray"
    }()

    /// Runs dray with the given arguments and an environment with no auth files of the user's.
    ///
    /// Every run of the suite is also a secrets check: its standard output and error, and the failed list and
    /// report it was asked to write, must not contain any password, `Basic` value or bearer token the tests'
    /// registries and token servers hold, nor credentials given on the command line or in the environment.
    static func run(_ args: [String], home: String? = nil, extraEnvironment: [String: String] = [:], stdin: String? = nil,
                    currentDirectory: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) throws -> Shell.Result {
        var env = ProcessInfo.processInfo.environment
        env["HOME"] = home ?? "/nonexistent-dray-home"
        env["REGISTRY_AUTH_FILE"] = nil
        env["XDG_RUNTIME_DIR"] = nil
        env["DOCKER_CONFIG"] = nil
        rememberSecrets(args: args, environment: extraEnvironment)
        let result = try Shell.run(path, args, stdin: stdin.map { Array($0.utf8) }, environment: env.merging(extraEnvironment) { $1 },
                                   currentDirectory: currentDirectory)
        expectNoSecrets(args: args, result: result, sourceLocation: sourceLocation)
        return result
    }

    /// Starts dray in the background (the same environment as `run`), its stderr to `stderr`, its stdout dropped,
    /// for tests that watch or signal it while it runs.
    static func start(_ args: [String], stderr: Any) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = args
        var env = ProcessInfo.processInfo.environment
        env["HOME"] = "/nonexistent-dray-home"
        env["REGISTRY_AUTH_FILE"] = nil
        env["XDG_RUNTIME_DIR"] = nil
        env["DOCKER_CONFIG"] = nil
        p.environment = env
        p.standardError = stderr
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        return p
    }

    /// Reads `pipe` until `marker` has appeared (or the writer closed it); returns what was read.
    static func read(_ pipe: Pipe, until marker: String) -> String {
        var seen = ""
        while !seen.contains(marker) {
            let data = pipe.fileHandleForReading.availableData
            if data.isEmpty { break }
            seen += String(decoding: data, as: UTF8.self)
        }
        return seen
    }

    /// Credentials in `--creds`-style flags and in variables whose names say they hold one.
    static func rememberSecrets(args: [String], environment: [String: String]) {
        for (flag, value) in zip(args, args.dropFirst()) where flag.hasPrefix("--") && flag.hasSuffix("creds") {
            if let colon = value.firstIndex(of: ":") {
                Secrets.rememberCredential(String(value[..<colon]), String(value[value.index(after: colon)...]))
            }
        }
        for (name, value) in environment
        where ["PASS", "PW", "TOKEN", "SECRET"].contains(where: { name.uppercased().contains($0) }) {
            Secrets.remember(value)
        }
    }

    /// The files a run was asked to write that carry text of its own: failed lists and reports.
    static func outputFiles(_ args: [String]) -> [String] {
        zip(args, args.dropFirst()).compactMap { flag, value in
            ["-o", "--failed", "--report"].contains(flag) ? value : nil
        }
    }

    static func expectNoSecrets(args: [String], result: Shell.Result, sourceLocation: SourceLocation) {
        var outputs = [("stderr", result.stderr), ("stdout", result.stdoutText)]
        for file in outputFiles(args) {
            if let text = try? String(contentsOfFile: file, encoding: .utf8) { outputs.append((file, text)) }
        }
        for (name, text) in outputs where Secrets.leaks(in: text) {
            let line = text.split(separator: "\n").first { Secrets.leaks(in: String($0)) }.map(String.init) ?? ""
            Issue.record("dray \(args.first ?? "") wrote a secret to \(name): \(Secrets.redact(line))",
                         sourceLocation: sourceLocation)
        }
    }
}
