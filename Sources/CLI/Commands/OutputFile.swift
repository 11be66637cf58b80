import Engine

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
        _ = text.withUTF8 { FileDescriptorIO.writeAll(fd, UnsafeRawBufferPointer($0)) }
    }

    /// Writes `bytes`.
    func write(bytes: [UInt8]) {
        FileDescriptorIO.writeAll(fd, bytes)
    }

    /// Everything standard input holds, to its end.
    static func readStandardInput() -> [UInt8] {
        var out: [UInt8] = []
        while let chunk = FileDescriptorIO.read(0, max: 64 * 1024), !chunk.isEmpty { out += chunk }
        return out
    }
}
