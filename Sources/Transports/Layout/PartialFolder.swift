import Engine
import FoundationEssentials
import Glibc

/// A folder written as `PATH.PID.partial` next to its final path and given that path only once complete, so a
/// failed or killed writer never leaves a half-filled folder under the final name. Released unfinished, it is
/// removed; leftovers of killed writers are removed when the next one is made.
final class PartialFolder {
    let path: String
    let destination: String
    private let lock: Int32
    private var committed = false

    init(for destination: String) throws {
        // Without a trailing slash, so the temporary folder is next to the destination, not inside it.
        var destination = destination
        while destination.count > 1 && destination.hasSuffix("/") { destination.removeLast() }
        self.destination = destination
        FileSink.removeLeftovers(of: destination, folders: true)
        path = "\(destination).\(getpid()).partial"
        try? FileManager.default.removeItem(atPath: path)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        lock = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if lock >= 0 { LeftoverFiles.claim(lock) }
    }

    deinit {
        if !committed { try? FileManager.default.removeItem(atPath: path) }
        if lock >= 0 { close(lock) }
    }

    /// Gives the folder its final name. A folder already there is replaced, or with `merging`, receives the new
    /// files (each renamed in, `index.json` last), keeping its others.
    func commit(merging: Bool = false) throws {
        let fm = FileManager.default
        if rename(path, destination) != 0 {
            guard errno == ENOTEMPTY || errno == EEXIST else {
                throw LayoutError(path: destination, reason: String(cString: strerror(errno)))
            }
            if merging {
                try Self.move(contentsOf: path, into: destination, last: "index.json")
                try? fm.removeItem(atPath: path)
            } else {
                try fm.removeItem(atPath: destination)
                guard rename(path, destination) == 0 else {
                    throw LayoutError(path: destination, reason: String(cString: strerror(errno)))
                }
            }
        }
        committed = true
    }

    /// Renames every file under `source` to the same place under `target` (folders made as needed), `last` last.
    private static func move(contentsOf source: String, into target: String, last: String) throws {
        let fm = FileManager.default
        let files = ((try? fm.subpathsOfDirectory(atPath: source)) ?? []).filter { sub in
            guard let status = FileStatus(path: "\(source)/\(sub)") else { return false }
            return !status.isDirectory
        }.sorted { a, b in a == last ? false : b == last ? true : a < b }
        for sub in files {
            let to = "\(target)/\(sub)"
            try fm.createDirectory(atPath: URL(fileURLWithPath: to).deletingLastPathComponent().path, withIntermediateDirectories: true)
            guard rename("\(source)/\(sub)", to) == 0 else { throw LayoutError(path: to, reason: String(cString: strerror(errno))) }
        }
    }
}
