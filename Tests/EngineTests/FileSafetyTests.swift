import Engine
import Foundation
import Testing

@Suite("Files: atomic writes, leftovers of killed processes, untrusted text files")
struct FileSafetyTests {
    /// A PID that belonged to a process which has ended.
    static func deadPID() throws -> pid_t {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/true")
        try p.run()
        p.waitUntilExit()
        return p.processIdentifier
    }

    static func folder() throws -> String {
        let dir = NSTemporaryDirectory() + "dray-files-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test("a temporary file is removed only when its PID is gone and nobody holds its lock")
    func leftovers() throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let dead = try Self.deadPID()
        let names = [
            "dead": ".tmp-\(dead)-abc-1", "mine": ".tmp-\(getpid())-abc-2", "init": ".tmp-1-abc-3",
            "locked": ".tmp-\(dead)-abc-4", "other": "tmp-\(dead)-abc-5", "blob": String(repeating: "a", count: 64),
        ]
        for name in names.values { try Data("x".utf8).write(to: URL(fileURLWithPath: "\(dir)/\(name)")) }
        try FileManager.default.createDirectory(atPath: "\(dir)/.tmp-\(dead)-folder", withIntermediateDirectories: false)
        // Another writer (in a PID namespace where `dead` is its own PID) still holds this one.
        let held = open("\(dir)/\(names["locked"]!)", O_RDONLY)
        LeftoverFiles.claim(held)
        defer { close(held) }

        let removed = LeftoverFiles.sweep(dir) { LeftoverFiles.pid(in: $0, after: ".tmp-", before: "-") }
        #expect(removed.files == 1 && removed.bytes == 1)
        let left = Set(try FileManager.default.contentsOfDirectory(atPath: dir))
        #expect(left == Set(names.values).subtracting([names["dead"]!]).union([".tmp-\(dead)-folder"]))
        // Folders go only when asked for.
        #expect(LeftoverFiles.sweep(dir, folders: true) { LeftoverFiles.pid(in: $0, after: ".tmp-", before: "-") }.files == 1)
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/.tmp-\(dead)-folder"))
    }

    @Test("PIDs are read only from the exact shape of a name")
    func pidNames() {
        #expect(LeftoverFiles.pid(in: ".tmp-123-ab", after: ".tmp-", before: "-") == 123)
        #expect(LeftoverFiles.pid(in: ".tmp-123", after: ".tmp-", before: "-") == nil)
        #expect(LeftoverFiles.pid(in: ".tmp-12a-b", after: ".tmp-", before: "-") == nil)
        #expect(LeftoverFiles.pid(in: ".tmp--1-b", after: ".tmp-", before: "-") == nil)
        #expect(LeftoverFiles.pid(in: ".tmp-99999999999-b", after: ".tmp-", before: "-") == nil)
        #expect(LeftoverFiles.pid(in: "77", after: "", before: nil) == 77)
    }

    @Test("an atomic write replaces the file whole and removes a killed writer's temporary file")
    func atomicWrite() throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let dead = try Self.deadPID()
        let stale = "\(dir)/.failed.txt.\(dead).12345.tmp"
        try Data("half a li".utf8).write(to: URL(fileURLWithPath: stale))
        try Data("keep".utf8).write(to: URL(fileURLWithPath: "\(dir)/.other.txt.\(dead).1.tmp"))
        try AtomicFile.write("a\nb\n", to: "\(dir)/failed.txt")
        #expect(try String(contentsOfFile: "\(dir)/failed.txt", encoding: .utf8) == "a\nb\n")
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: dir)) == ["failed.txt", ".other.txt.\(dead).1.tmp"])
    }

    @Test("text files: size, kind and UTF-8 are checked, naming the line of the first bad byte")
    func textFiles() throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = "\(dir)/list.txt"
        try Data(Array("nginx\nalpine\nbad\u{00}".utf8) + [0xff, 0xfe, 0x0a, 0x61]).write(to: URL(fileURLWithPath: path))
        #expect(throws: TextFile.Failure.notUTF8(line: 3)) { try TextFile.read(path, limit: 1 << 20) }
        #expect(throws: TextFile.Failure.notRegular) { try TextFile.read("/dev/zero", limit: 1 << 20) }
        #expect(throws: TextFile.Failure.notRegular) { try TextFile.read(dir, limit: 1 << 20) }
        try Data("é ok\n".utf8).write(to: URL(fileURLWithPath: path))
        #expect(try TextFile.read(path, limit: 6) == "é ok\n")
        #expect(throws: TextFile.Failure.tooLarge(5)) { try TextFile.read(path, limit: 5) }
    }
}
