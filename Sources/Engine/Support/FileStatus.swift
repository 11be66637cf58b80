#if canImport(Glibc)
import Glibc
#endif

/// What `lstat(2)` says of a path, without Foundation's attribute dictionaries. A symbolic link is not followed:
/// it is not a regular file, and its size is the link's own (as `FileManager.attributesOfItem` said).
public struct FileStatus: Sendable {
    /// Size in bytes.
    public let size: Int64
    /// Whether it is a regular file.
    public let isRegular: Bool
    /// Whether it is a directory (a link to one is not).
    public let isDirectory: Bool

    /// The status of `path`, or nil when it cannot be read.
    public init?(path: String) {
        var st = stat()
        guard lstat(path, &st) == 0 else { return nil }
        size = Int64(st.st_size)
        isRegular = (st.st_mode & S_IFMT) == S_IFREG
        isDirectory = (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// Whether `path` is a directory or a symbolic link to one (what `FileManager.fileExists(atPath:isDirectory:)`
    /// says).
    public static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }
}
