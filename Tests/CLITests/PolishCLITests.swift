import ArgumentParser
import Foundation
import Testing
import TestSupport
import Transports
@testable import CLI

@Suite("Help, completions, log formats, --quiet")
struct PolishCLITests {
    /// Every command path under `dray`, e.g. ["mirror"], ["mirror", "validate"].
    static func commandPaths(_ type: any ParsableCommand.Type = CLI.Dray.self, prefix: [String] = []) -> [[String]] {
        var out: [[String]] = []
        for sub in type.configuration.subcommands {
            let path = prefix + [sub._commandName]
            out.append(path)
            out += commandPaths(sub, prefix: path)
        }
        return out
    }

    @Test("every command's --help has examples")
    func helpExamples() throws {
        let paths = Self.commandPaths()
        #expect(paths.count >= 25)
        for path in paths {
            let r = try Dray.run(path + ["--help"])
            #expect(r.status == 0, "\(path)")
            #expect(r.stdoutText.contains("Example"), "dray \(path.joined(separator: " ")) --help has no examples")
        }
    }

    @Test("completion scripts for bash, zsh and fish name the commands; the bash one parses")
    func completions() throws {
        for shell in ["bash", "zsh", "fish"] {
            let r = try Dray.run(["--generate-completion-script", shell])
            #expect(r.status == 0)
            for command in ["mirror", "list-tags", "login", "report"] { #expect(r.stdoutText.contains(command), "\(shell): \(command)") }
            if shell == "bash" {
                let dir = try TemporaryDirectory()
                try r.stdoutText.write(toFile: dir.file("dray.bash"), atomically: false, encoding: .utf8)
                #expect(try Shell.run("bash", ["-n", dir.file("dray.bash")]).status == 0)
            }
        }
    }

    @Test("--log-format json writes one JSON object per line; --quiet keeps only warnings and errors; no colours off a terminal")
    func logFormats() async throws {
        let a = try RegistryServer(), b = try RegistryServer()
        let tree = try SyntheticImage.single(seed: 4400)
        try await SyntheticImage.push(tree, to: RegistryClient(registry: a.host, options: RegistryOptions(credentials: CredentialStore(authFiles: []))),
                                      repository: "log/app", tag: "1")
        let dir = try TemporaryDirectory()
        try "\(a.host)/log/app:1\n\(a.host)/log/missing:1\n".write(toFile: dir.file("list.txt"), atomically: false, encoding: .utf8)

        let json = try Dray.run(["mirror", "-f", dir.file("list.txt"), "-d", b.host, "--log-format", "json", "-o", dir.file("f1.txt")])
        #expect(json.status == 1)
        let lines = json.stderr.split(separator: "\n")
        #expect(lines.count >= 4)
        var levels: Set<String> = []
        var results: [[String: String]] = []
        for line in lines {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String]
            #expect(object != nil, "not a JSON object: \(line)")
            guard let object else { continue }
            if object["status"] != nil {
                // An image's result line carries the image, its digest and its status as fields of their own.
                #expect(Set(object.keys).isSuperset(of: ["time", "level", "logger", "message", "image", "source", "status"]))
                results.append(object)
            } else {
                #expect(Set(object.keys) == ["time", "level", "logger", "message"])
            }
            #expect(object["time"]?.hasSuffix("Z") == true && object["time"]?.count == 24)
            levels.insert(object["level"] ?? "")
        }
        #expect(levels.isSuperset(of: ["info", "error"]))
        #expect(json.stderr.contains(#""message":"[IMG:1] Copied"#))
        let copied = results.first { $0["status"] == "copied" }
        #expect(copied?["image"] == "\(b.host)/log/app:1" && copied?["digest"] == tree.top.digest.description, "\(results)")
        #expect(copied?["source"] == "\(a.host)/log/app:1")
        let failed = results.first { $0["status"] == "failed" }
        #expect(failed?["image"] == "\(b.host)/log/missing:1" && failed?["digest"] == nil, "\(results)")

        let quiet = try Dray.run(["mirror", "-f", dir.file("list.txt"), "-d", b.host, "-q", "-o", dir.file("f2.txt")])
        #expect(quiet.status == 1)
        #expect(!quiet.stderr.contains("[INFO]"), "\(quiet.stderr)")
        #expect(quiet.stderr.contains("[ERROR]") && quiet.stderr.contains("log/missing"))
        #expect(!quiet.stderr.contains("\u{1b}["), "no colours or progress codes when stderr is not a terminal")

        let bad = try Dray.run(["mirror", "-f", dir.file("list.txt"), "-d", b.host, "--log-format", "xml"])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("--log-format"))
    }

    @Test("on a terminal the level names are coloured, unless NO_COLOR is set")
    func coloursOnTerminal() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/script") else { return }
        let dir = try TemporaryDirectory()
        try "127.0.0.1:9/none/app:1\n".write(toFile: dir.file("list.txt"), atomically: false, encoding: .utf8)
        // `script` gives dray a pseudo-terminal for standard error; one unreachable image logs an ERROR line.
        let command = "\(Dray.path) mirror -f \(dir.file("list.txt")) -d 127.0.0.1:9 --skip-login --retries 0 -o \(dir.file("f.txt"))"
        var env = ProcessInfo.processInfo.environment
        env["NO_COLOR"] = nil
        env["TERM"] = "xterm"
        let coloured = try Shell.run("/usr/bin/script", ["-qec", command, "/dev/null"], environment: env)
        #expect(coloured.stdoutText.contains("[\u{1b}[31mERROR\u{1b}[0m]"), "\(coloured.stdoutText.suffix(600))")
        env["NO_COLOR"] = "1"
        let plain = try Shell.run("/usr/bin/script", ["-qec", command, "/dev/null"], environment: env)
        #expect(plain.stdoutText.contains("[ERROR]") && !plain.stdoutText.contains("\u{1b}[31m"), "\(plain.stdoutText.suffix(600))")
    }

    @Test("JSON log strings escape quotes, backslashes and control characters")
    func jsonEscaping() throws {
        let s = PlainLogHandler.json("a\"b\\c\nd\u{1b}[2J\u{7f}é")
        #expect(s == #""a\"b\\c\nd\u001b[2J\u007fé""#)
        let back = try JSONSerialization.jsonObject(with: Data("[\(s)]".utf8)) as? [String]
        #expect(back == ["a\"b\\c\nd\u{1b}[2J\u{7f}é"])
    }
}
