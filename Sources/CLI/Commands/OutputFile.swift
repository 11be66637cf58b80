#if canImport(Glibc)
import Glibc
#endif

/// A file descriptor written to in whole (standard output, standard error, the `--log` file), without
/// Foundation's `FileHandle`. A write that fails (a closed pipe, a full disk) is dropped: a log line or a prompt
/// is not worth ending the run for.
struct OutputFile: Sendable {
    let fd: Int32

    static let standardOutput = OutputFile(fd: 1)
    static let standardError = OutputFile(fd: 2)

    /// Writes `text` as UTF-8.
    func write(_ text: String) {
        var text = text
        text.withUTF8 { write(UnsafeRawBufferPointer($0)) }
    }

    /// Writes `bytes`.
    func write(bytes: [UInt8]) {
        bytes.withUnsafeBytes { write($0) }
    }

    private func write(_ buffer: UnsafeRawBufferPointer) {
        var offset = 0
        while offset < buffer.count {
            let n = Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            offset += n
        }
    }

    /// Everything standard input holds, to its end.
    static func readStandardInput() -> [UInt8] {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return out }
            out.append(contentsOf: chunk[0..<n])
        }
    }
}
