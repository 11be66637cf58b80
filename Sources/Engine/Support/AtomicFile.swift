import FoundationEssentials
import Glibc

/// Writes files so that readers see the old content or the new, never a mix: a temporary file beside the target
/// (`.NAME.PID.RANDOM.tmp`), flushed to disk, then renamed over it. Temporary files of this name that a killed
/// process left are removed by the next write.
public enum AtomicFile {
    /// Replaces `path` with `bytes`; `mode` sets the permissions (e.g. 0o600 for secrets).
    public static func write(_ bytes: [UInt8], to path: String, mode: mode_t = 0o644) throws {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        let prefix = ".\(url.lastPathComponent)."
        LeftoverFiles.sweep(dir) { name in
            name.hasSuffix(".tmp") ? LeftoverFiles.pid(in: name, after: prefix, before: ".") : nil
        }
        let temp = "\(dir)/\(prefix)\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp"
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw AtomicFileError(path: path, reason: String(cString: strerror(errno))) }
        LeftoverFiles.claim(fd)
        var ok = false
        defer {
            if !ok { unlink(temp) }
        }
        guard FileDescriptorIO.writeAll(fd, bytes) else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw AtomicFileError(path: path, reason: reason)
        }
        guard fsync(fd) == 0, close(fd) == 0 else { throw AtomicFileError(path: path, reason: "cannot flush") }
        guard rename(temp, path) == 0 else {
            throw AtomicFileError(path: path, reason: String(cString: strerror(errno)))
        }
        ok = true
    }

    /// Replaces `path` with UTF-8 text.
    public static func write(_ text: String, to path: String, mode: mode_t = 0o644) throws {
        try write(Array(text.utf8), to: path, mode: mode)
    }

    /// Replaces `path` with `lines`, each ended by a newline (an empty file for none).
    public static func write(lines: [String], to path: String, mode: mode_t = 0o644) throws {
        try write(lines.map { $0 + "\n" }.joined(), to: path, mode: mode)
    }
}

/// A file that could not be written.
public struct AtomicFileError: Error, Sendable, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "cannot write \(path): \(reason)" }
}
