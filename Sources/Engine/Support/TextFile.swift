import FoundationEssentials

#if canImport(Glibc)
import Glibc
#endif

/// Reads a user's text file (an image list, a config) without trusting its size or kind.
public enum TextFile {
    /// Why a file could not be read as text.
    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        case unreadable(String)
        case notRegular
        case tooLarge(Int)
        case notUTF8(line: Int)

        public var description: String {
            switch self {
            case .unreadable(let why): "cannot read the file (\(why))"
            case .notRegular: "not a regular file"
            case .tooLarge(let limit): "larger than \(limit >> 20) MiB"
            case .notUTF8: "not UTF-8 text"
            }
        }

        /// The line the failure is on, when there is one.
        public var line: Int? { if case .notUTF8(let l) = self { l } else { nil } }
    }

    /// The file's text: a regular file (or a pipe such as `/dev/stdin`) of at most `limit` bytes of UTF-8.
    /// Reading stops at `limit + 1` bytes, so `/dev/zero` or a 10 GB file fails fast instead of filling memory.
    public static func read(_ path: String, limit: Int) throws(Failure) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .unreadable(String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .unreadable(String(cString: strerror(errno))) }
        let kind = st.st_mode & S_IFMT
        guard kind == S_IFREG || kind == S_IFIFO else { throw .notRegular }
        if kind == S_IFREG && Int(st.st_size) > limit { throw .tooLarge(limit) }
        var bytes = [UInt8]()
        while true {
            guard let chunk = FileDescriptorIO.read(fd, max: 1 << 16) else { throw .unreadable(String(cString: strerror(errno))) }
            if chunk.isEmpty { break }
            bytes += chunk
            if bytes.count > limit { throw .tooLarge(limit) }
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw .notUTF8(line: firstInvalidLine(bytes))
        }
        return text
    }

    /// The 1-based line holding the first byte sequence that is not UTF-8.
    static func firstInvalidLine(_ bytes: [UInt8]) -> Int {
        var line = 1
        var start = 0
        for i in 0...bytes.count where i == bytes.count || bytes[i] == 0x0a {
            if String(validating: bytes[start..<i], as: UTF8.self) == nil { return line }
            line += 1
            start = i + 1
        }
        return line
    }
}
