import Engine
import FoundationEssentials
import Glibc

/// A private folder for unpacking an archive, removed when the last reference goes.
///
/// Made under `$TMPDIR`, else `/var/tmp` (which is disk-backed on most systems, unlike a tmpfs `/tmp`), and named
/// `dray-PURPOSE-PID-XXXXXX`: folders of killed processes are removed when the next one is made.
public final class ScratchFolder: Sendable {
    public let path: String
    /// Held open with a lock while the folder is in use (see `LeftoverFiles`).
    private let lock: Int32

    public init(purpose: String) throws {
        let base = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/var/tmp"
        LeftoverFiles.sweep(base, folders: true) { LeftoverFiles.pid(in: $0, after: "dray-\(purpose)-", before: "-") }
        var template = Array("\(base)/dray-\(purpose)-\(getpid())-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else {
            throw LayoutError(path: base, reason: "cannot make a scratch folder: \(String(cString: strerror(errno)))")
        }
        path = String(cString: made)
        lock = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if lock >= 0 { LeftoverFiles.claim(lock) }
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
        if lock >= 0 { close(lock) }
    }
}
