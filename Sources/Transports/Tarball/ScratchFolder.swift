import Foundation

/// A private folder for unpacking an archive, removed when the last reference goes.
///
/// Made under `$TMPDIR`, else `/var/tmp` (which is disk-backed on most systems, unlike a tmpfs `/tmp`).
public final class ScratchFolder: Sendable {
    public let path: String

    public init(purpose: String) throws {
        let base = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/var/tmp"
        var template = Array("\(base)/dray-\(purpose)-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else {
            throw LayoutError(path: base, reason: "cannot make a scratch folder: \(String(cString: strerror(errno)))")
        }
        path = String(cString: made)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}
