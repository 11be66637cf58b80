import ArgumentParser
import Engine
import Foundation
import Logging

/// Options every command takes.
struct GlobalOptions: ParsableArguments {
    @Flag(name: .long, help: "Log each HTTP request (method, URL, status, bytes, time); secrets are redacted.")
    var debug = false

    /// Sets up logging to standard error and returns the logger for the command.
    func makeLogger(_ label: String) -> Logger {
        let level: Logger.Level = debug ? .debug : .info
        LoggingSystem.bootstrapOnce(level: level)
        var logger = Logger(label: label)
        logger.logLevel = level
        return logger
    }
}

extension LoggingSystem {
    nonisolated(unsafe) private static var done = false

    /// Installs a plain stderr log handler once per process.
    static func bootstrapOnce(level: Logger.Level) {
        guard !done else { return }
        done = true
        bootstrap { label in
            var h = PlainLogHandler(label: label)
            h.logLevel = level
            return h
        }
    }
}

/// `[time] [LEVEL] message` lines on standard error.
struct PlainLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        // On a terminal, clear a progress line that may be showing first.
        let clear = ProgressDisplay.isTerminal ? "\r\u{1b}[K" : ""
        let message = Secrets.redact("\(event.message)").escapingControlCharacters
        let line = "\(clear)[\(Self.clock())] [\(event.level.rawValue.uppercased())] \(message)\n"
        FileHandle.standardError.write(Data(line.utf8))
    }

    /// The local time as HH:MM:SS, formatted without Foundation's DateFormatter (which loads ICU's data).
    static func clock() -> String {
        var now = time(nil)
        var parts = tm()
        localtime_r(&now, &parts)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))"
    }
}
