import FoundationEssentials

#if canImport(Glibc)
import Glibc
#endif

/// Temporary files that a killed process (`kill -9`, a lost machine) left behind, found by the process ID in
/// their names and removed by the next run.
///
/// A writer names its temporary file with its PID and holds an advisory lock on it while writing (`claim`). A
/// file is a leftover only when that PID is not running here *and* nobody holds the lock: the lock protects a
/// live writer in another PID namespace sharing the folder (containers on one volume), the PID protects the
/// moment between creating a file and locking it.
public enum LeftoverFiles {
    /// Marks a temporary file this process is writing as in use (a shared `flock`, released when the process ends).
    public static func claim(_ fd: Int32) {
        _ = flock(fd, LOCK_SH | LOCK_NB)
    }

    /// Removes the files in `directory` that `owner` recognises (it returns the PID in the name, or nil for files
    /// that are not temporaries) and that are left over; with `folders`, whole folders too. Returns how many
    /// entries and bytes (of files) were removed.
    @discardableResult
    public static func sweep(_ directory: String, folders: Bool = false, owner: (String) -> pid_t?) -> (files: Int, bytes: Int64) {
        guard let dir = opendir(directory) else { return (0, 0) }
        defer { closedir(dir) }
        var removed = (files: 0, bytes: Int64(0))
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard let pid = owner(name), pid != getpid(), !isRunning(pid) else { continue }
            let path = "\(directory)/\(name)"
            let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            var st = stat()
            guard fstat(fd, &st) == 0, flock(fd, LOCK_EX | LOCK_NB) == 0 else { continue }
            switch st.st_mode & S_IFMT {
            case S_IFREG:
                if unlink(path) == 0 {
                    removed.files += 1
                    removed.bytes += Int64(st.st_size)
                }
            case S_IFDIR where folders:
                if (try? FileManager.default.removeItem(atPath: path)) != nil { removed.files += 1 }
            default:
                continue
            }
        }
        return removed
    }

    /// Whether a process with this ID exists (in this PID namespace).
    static func isRunning(_ pid: pid_t) -> Bool {
        pid > 0 && (kill(pid, 0) == 0 || errno == EPERM)
    }

    /// The PID in a name `prefix + PID + separator + …` (or `prefix + PID` when `separator` is nil), else nil.
    public static func pid(in name: String, after prefix: String, before separator: Character?) -> pid_t? {
        guard name.hasPrefix(prefix) else { return nil }
        let rest = name.dropFirst(prefix.count)
        let digits = separator.map { sep in rest.prefix { $0 != sep } } ?? rest
        guard !digits.isEmpty, digits.count <= 10, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber),
              separator.map({ rest.dropFirst(digits.count).first == $0 }) ?? true
        else { return nil }
        return pid_t(digits)
    }
}
