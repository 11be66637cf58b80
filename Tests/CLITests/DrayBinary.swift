import Foundation
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
    static func run(_ args: [String], home: String? = nil, extraEnvironment: [String: String] = [:]) throws -> Shell.Result {
        var env = ProcessInfo.processInfo.environment
        env["HOME"] = home ?? "/nonexistent-dray-home"
        env["REGISTRY_AUTH_FILE"] = nil
        env["XDG_RUNTIME_DIR"] = nil
        env["DOCKER_CONFIG"] = nil
        return try Shell.run(path, args, environment: env.merging(extraEnvironment) { $1 })
    }
}
