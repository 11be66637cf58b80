import ArgumentParser
import Engine
import FoundationEssentials
import Glibc
import Logging

/// How log lines are written.
enum LogFormat: String, ExpressibleByArgument, CaseIterable, Sendable {
    /// `[HH:MM:SS] [LEVEL] message`, Hangar's shape.
    case text
    /// One JSON object per line: time (UTC, ISO 8601), level, logger, message.
    case json
}

/// Log settings of the process, fixed when the command's logger is made.
enum LogSettings {
    nonisolated(unsafe) static var format: LogFormat = .text
    nonisolated(unsafe) static var quiet = false
    /// Where log lines go: standard error, or the `--log` file.
    nonisolated(unsafe) static var output: OutputFile = .standardError
    /// Whether `--log` sends the lines to a file.
    nonisolated(unsafe) static var toFile = false

    /// Whether the live progress line may be drawn: on a terminal, with text logs on it, unless --quiet.
    static var showsProgress: Bool { ProgressDisplay.isTerminal && format == .text && !quiet && !toFile }

    /// Whether level names are coloured: text logs on a terminal, unless NO_COLOR is set or TERM is dumb.
    static var colours: Bool { terminalColours && !toFile }

    private static let terminalColours: Bool = {
        let env = ProcessInfo.processInfo.environment
        return ProgressDisplay.isTerminal && env["NO_COLOR"].map(\.isEmpty) != false && env["TERM"] != "dumb"
    }()
}

/// Options every command takes.
struct GlobalOptions: ParsableArguments {
    @Flag(name: .long, help: "Log each HTTP request (method, URL, status, bytes, time); secrets are redacted.")
    var debug = false

    @Flag(name: [.customShort("q"), .long], help: "Log only warnings and errors, and draw no progress line.")
    var quiet = false

    @Option(name: .long, help: ArgumentHelp("Log lines as text, or json (one object per line, for log collectors).", valueName: "text|json"))
    var logFormat: LogFormat = .text

    @Option(name: .long, help: ArgumentHelp("Append the log to this file instead of standard error (image-syncer's --log); fatal errors still go to standard error.", valueName: "file"))
    var log: String?

    /// Sets up logging (to standard error, or to the `--log` file) and returns the logger for the command. A
    /// `--log` file that cannot be opened ends the process with a one-line error.
    func makeLogger(_ label: String) -> Logger {
        let level: Logger.Level = debug ? .debug : quiet ? .warning : .info
        LogSettings.format = logFormat
        LogSettings.quiet = quiet
        if let log, !LogSettings.toFile {
            let fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
            guard fd >= 0 else {
                OutputFile.standardError.write("dray: error: --log \(log): \(String(cString: strerror(errno)))\n")
                Glibc.exit(1)
            }
            LogSettings.output = OutputFile(fd: fd)
            LogSettings.toFile = true
        }
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
        let line: String
        switch LogSettings.format {
        case .json:
            // Metadata (an image's result: image, digest, status) becomes fields of their own.
            let fields = metadata.merging(event.metadata ?? [:]) { $1 }.sorted { $0.key < $1.key }
                .filter { !["time", "level", "logger", "message"].contains($0.key) }
                .map { ",\(Self.json($0.key)):\(Self.json(Secrets.redact("\($0.value)")))" }.joined()
            line = "{\"time\":\"\(Self.utcTimestamp())\",\"level\":\"\(event.level.rawValue)\",\"logger\":\(Self.json(label)),\"message\":\(Self.json(Secrets.redact("\(event.message)")))\(fields)}\n"
        case .text:
            // On a terminal, clear a progress line that may be showing first.
            let clear = LogSettings.showsProgress ? "\r\u{1b}[K" : ""
            let message = Secrets.redact("\(event.message)").escapingControlCharacters
            var level = event.level.rawValue.uppercased()
            if LogSettings.colours, let colour = Self.colour[event.level] { level = "\u{1b}[\(colour)m\(level)\u{1b}[0m" }
            line = "\(clear)[\(Self.clock())] [\(level)] \(message)\n"
        }
        LogSettings.output.write(line)
    }

    /// SGR colours of the level names that deserve attention.
    private static let colour: [Logger.Level: String] = [.error: "31", .critical: "1;31", .warning: "33", .debug: "2", .trace: "2"]

    /// `s` as a JSON string literal (quotes, backslashes and control characters escaped).
    static func json(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where u.value < 0x20 || u.value == 0x7f || (0x80..<0xa0).contains(u.value) || (0x2028...0x2029).contains(u.value):
                let hex = String(u.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }

    /// The time as ISO 8601 UTC with milliseconds, e.g. 2026-11-29T08:30:00.123Z.
    static func utcTimestamp() -> String {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        var seconds = spec.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(spec.tv_nsec / 1_000_000, 3))Z"
    }

    /// The local time as HH:MM:SS, formatted without Foundation's DateFormatter (which loads ICU's data).
    static func clock() -> String {
        var now = time(nil)
        var parts = tm()
        localtime_r(&now, &parts)
        return "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2))"
    }

    /// `v` in decimal, zero-padded to `width` digits.
    private static func pad(_ v: some BinaryInteger, _ width: Int) -> String {
        let s = String(v)
        return String(repeating: "0", count: max(0, width - s.count)) + s
    }
}
