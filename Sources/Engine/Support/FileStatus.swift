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

    /// The status of `path`, or nil when it cannot be read.
    public init?(path: String) {
        var st = stat()
        guard lstat(path, &st) == 0 else { return nil }
        size = Int64(st.st_size)
        isRegular = (st.st_mode & S_IFMT) == S_IFREG
    }
}
