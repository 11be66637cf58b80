import Engine
import FoundationEssentials
import Testing

/// File errors from FoundationEssentials read as `PATH: reason` wherever dray shows or wraps them.
@Suite("File error text")
struct FileErrorTextTests {
    @Test("A missing file names its path and the system's reason")
    func missing() {
        let error = #expect(throws: CocoaError.self) { try Data(contentsOf: URL(fileURLWithPath: "/nonexistent/x")) }
        #expect(error.map { "\($0)" } == "/nonexistent/x: No such file or directory")
    }

    @Test("A directory that cannot be made names it")
    func unwritable() throws {
        let error = #expect(throws: CocoaError.self) {
            try FileManager.default.createDirectory(atPath: "/proc/dray-cannot/x", withIntermediateDirectories: true)
        }
        let text = error.map { "\($0)" } ?? ""
        #expect(text.hasPrefix("/proc/dray-cannot"), "\(text)")
        #expect(!text.contains("CocoaError") && !text.contains("userInfo"), "\(text)")
    }
}
