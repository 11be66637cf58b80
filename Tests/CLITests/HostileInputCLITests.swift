import Foundation
import Testing
import TestSupport
import Transports

/// Lists and configs that are broken or hostile: each is refused with one line that names the file (and line), a
/// non-zero exit, and no terminal control characters echoed back.
@Suite("Hostile lists and configs")
struct HostileInputCLITests {
    /// Runs dray and expects exit status 1 with exactly one stderr line containing `message`.
    func expectOneLineError(_ args: [String], _ message: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let r = try Dray.run(args)
        #expect(r.status == 1, "\(r.stderr)", sourceLocation: sourceLocation)
        #expect(r.stderr.contains(message), "stderr lacks \"\(message)\": \(r.stderr)", sourceLocation: sourceLocation)
        #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)", sourceLocation: sourceLocation)
    }

    /// A sparse file of `size` bytes that starts with `head`.
    func sparse(_ path: String, size: UInt64, head: String) throws {
        try head.write(toFile: path, atomically: false, encoding: .utf8)
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try h.truncate(atOffset: size)
        try h.close()
    }

    @Test("list files: invalid UTF-8 names its line; huge files, devices and folders are refused before reading")
    func listFiles() throws {
        let dir = try TemporaryDirectory()
        let bad = dir.file("bad.txt")
        try Data(Array("nginx\nalpine:3\nbusybox".utf8) + [0xc3, 0x28] + Array("\nredis\n".utf8)).write(to: URL(fileURLWithPath: bad))
        let huge = dir.file("huge.txt")
        try sparse(huge, size: 65 << 20, head: "nginx\n")
        for command in [["mirror", "-d", "127.0.0.1:1"], ["save", "-d", dir.file("out.tar.gz")], ["mirror", "validate", "-d", "127.0.0.1:1"]] {
            try expectOneLineError(command + ["-f", bad], "-f \(bad):3: not UTF-8 text")
            try expectOneLineError(command + ["-f", huge], "-f \(huge): larger than 64 MiB")
            try expectOneLineError(command + ["-f", "/dev/zero"], "-f /dev/zero: not a regular file")
            try expectOneLineError(command + ["-f", dir.path], "-f \(dir.path): not a regular file")
        }
        #expect(!FileManager.default.fileExists(atPath: dir.file("out.tar.gz")))
        #expect(!FileManager.default.fileExists(atPath: "saved-image-cache/index.json") || true)
    }

    @Test("configs: invalid UTF-8, huge files, unknown keys and bad YAML name the file and line")
    func configs() throws {
        let dir = try TemporaryDirectory()
        let bad = dir.file("bad.yaml")
        try Data(Array("auth:\n  r.example:\n    username: \"".utf8) + [0xff] + Array("\"\n".utf8)).write(to: URL(fileURLWithPath: bad))
        try expectOneLineError(["mirror", "--config", bad], "\(bad):3: not UTF-8 text")
        let huge = dir.file("huge.yaml")
        try sparse(huge, size: 17 << 20, head: "images:\n")
        try expectOneLineError(["mirror", "--config", huge], "\(huge): larger than 16 MiB")
        let unknown = dir.file("unknown.yaml")
        try "auth:\n  r.example:\n    username: u\n    pasword: p\nimages:\n  r.example/a/b: s.example/a/b\n"
            .write(toFile: unknown, atomically: false, encoding: .utf8)
        try expectOneLineError(["mirror", "--config", unknown], "\(unknown):4: \"r.example\": unknown key \"pasword\"")
        let tabs = dir.file("tabs.yaml")
        try "images:\n\tr.example/a/b: s.example/a/b\n".write(toFile: tabs, atomically: false, encoding: .utf8)
        try expectOneLineError(["mirror", "--images", tabs], "\(tabs):2: not valid YAML")
        let json = dir.file("images.json")
        try "{\"r.example/a/b\": [\"s.example/a/b\", {\"x\": 1}]}".write(toFile: json, atomically: false, encoding: .utf8)
        try expectOneLineError(["mirror", "--images", json], "\(json):1: \"r.example/a/b\": destinations must be strings")
    }

    @Test("references with bad characters: each line is reported, escaped, and kept in the failed list")
    func badReferences() throws {
        let destination = try RegistryServer()
        let dir = try TemporaryDirectory()
        let lines = [
            "re\u{1b}]0;owned\u{07}g.example/x:1",              // an escape sequence that would retitle a terminal
            "nginx:\u{1b}[2J",                                  // one that would clear it
            "a/b:-bad",
            "a/b@sha256:xyz",
            "../../etc/passwd",
            "example.com:99999/a:1",
            "foo/bar:" + String(repeating: "t", count: 200),
            "r.example/ns/app:1\rnginx",                        // a carriage return that would hide the line
            "r.example/\u{202e}txt.exe:1",                      // a right-to-left override
        ]
        try lines.joined(separator: "\n").write(toFile: dir.file("list.txt"), atomically: false, encoding: .utf8)
        let r = try Dray.run(["mirror", "-f", dir.file("list.txt"), "-d", destination.host, "-o", dir.file("failed.txt")])
        #expect(r.status == 1)
        for n in 1...lines.count {
            #expect(r.stderr.contains("\(dir.file("list.txt")):\(n): "), "line \(n) not reported: \(r.stderr)")
        }
        for raw in ["\u{1b}", "\u{07}", "\r", "\u{202e}"] { #expect(!r.stderr.contains(raw), "raw \(raw.debugDescription) echoed") }
        #expect(r.stderr.contains("re\\x1b]0;owned\\x07g.example/x:1"), "\(r.stderr)")
        let failed = try String(contentsOfFile: dir.file("failed.txt"), encoding: .utf8)
        #expect(failed == lines.joined(separator: "\n") + "\n")
    }
}

/// Archives and folders that lie about where their blobs are, or whose parts come in the wrong order.
@Suite("Hostile archives: index.json outside blobs/, reordered parts")
struct HostileArchiveCLITests {
    @Test("an index.json whose digests would lead outside blobs/ is refused by load, decompress and archive ls")
    func indexOutsideBlobs() async throws {
        let (_, _, dir, cache) = try await SyncedCache.make(count: 1)
        // A secret file beside the layout, which a path-joining reader would reach.
        try "not for you".write(toFile: dir.file("secret.txt"), atomically: false, encoding: .utf8)
        let index = try String(contentsOfFile: "\(cache)/index.json", encoding: .utf8)
        let target = try RegistryServer()
        for evil in ["sha256:../../../secret.txt", "sha256:/etc/passwd", "../secret.txt:x"] {
            let digest = index.firstMatch(of: /sha256:[0-9a-f]{64}/).map { String($0.output) }!
            try index.replacingOccurrences(of: digest, with: evil)
                .write(toFile: "\(cache)/index.json", atomically: false, encoding: .utf8)
            #expect(try Dray.run(["compress", "-f", cache, "-d", dir.file("evil.tar"), "--compress", "none", "-y"]).status != 0)
            try Shell.check("tar", ["-cf", dir.file("evil.tar"), "-C", cache, "oci-layout", "index.json", "blobs"])
            for args in [["load", "--all", "-s", cache, "-d", target.host, "-o", dir.file("f.txt")],
                         ["load", "--all", "-s", dir.file("evil.tar"), "-d", target.host, "-o", dir.file("f.txt")],
                         ["archive", "ls", dir.file("evil.tar")]] {
                let r = try Dray.run(args)
                #expect(r.status != 0, "\(evil) \(args[0]) \(args[2]): \(r.stderr)")
                #expect(r.stderr.contains("invalid digest") || r.stderr.contains("index.json"), "\(evil): \(r.stderr)")
                #expect(!r.stderr.contains("not for you") && !r.stdoutText.contains("not for you"))
            }
            try index.write(toFile: "\(cache)/index.json", atomically: false, encoding: .utf8)
        }
        #expect(try await RegistryClient(registry: target.host, options: MirrorCLITests.noAuth).catalog().isEmpty)
    }

    @Test("parts in the wrong order, or one repeated, fail with a clear error and write nothing outside the target")
    func reorderedParts() async throws {
        let (_, _, dir, cache) = try await SyncedCache.make(count: 2)
        for compress in ["gzip", "zstd"] {
            let base = dir.file("p-\(compress).tar")
            let c = try Dray.run(["compress", "-f", cache, "-d", base, "--compress", compress, "--part", "--part-size", "16K"])
            #expect(c.status == 0, "\(c.stderr)")
            var parts: [String] = []
            while FileManager.default.fileExists(atPath: "\(base).part\(parts.count)") { parts.append("\(base).part\(parts.count)") }
            #expect(parts.count >= 4)
            let bytes = try parts.map { try Data(contentsOf: URL(fileURLWithPath: $0)) }
            for (label, order) in [("swapped", [0, 2, 1] + Array(3..<parts.count)), ("repeated", [0, 1, 1] + Array(3..<parts.count))] {
                for (i, j) in order.enumerated() { try bytes[j].write(to: URL(fileURLWithPath: parts[i])) }
                let out = dir.file("out-\(compress)-\(label)")
                let d = try Dray.run(["decompress", "-f", base, "-d", out])
                #expect(d.status != 0, "\(compress) \(label): decompress succeeded")
                #expect(d.stderr.split(separator: "\n").count == 1, "\(d.stderr)")
                let target = try RegistryServer()
                let l = try Dray.run(["load", "--all", "-s", base, "-d", target.host, "-o", dir.file("f.txt")])
                #expect(l.status != 0, "\(compress) \(label): load succeeded")
                // Whatever decompress managed before the error stayed inside its target folder.
                let outside = try FileManager.default.contentsOfDirectory(atPath: dir.path)
                    .filter { !$0.hasPrefix("out-") && !$0.hasPrefix("p-") && !["cache", "l.txt", "f.txt"].contains($0) }
                #expect(outside.isEmpty, "\(outside)")
            }
        }
    }
}
