import Engine
import FoundationEssentials

/// Public keys and a Sigstore trusted root carried with saved images (`save --include-trust`), so that the far
/// side of an air gap can check signatures with them (`load --verify-included-trust`). They sit in the layout
/// folder's `dray-trust/` and, in an archive, right after `index.json`, before any blob.
public struct IncludedTrust: Sendable, Equatable {
    /// The folder (and archive entry prefix) that holds them.
    public static let folder = "dray-trust"
    /// The largest file carried, and the most files.
    public static let maxSize = 4 << 20
    public static let maxFiles = 16

    /// File name → content.
    public var files: [String: [UInt8]]

    public init(files: [String: [UInt8]] = [:]) { self.files = files }

    public var isEmpty: Bool { files.isEmpty }

    /// What the layout folder at `path` carries (nothing when it has no `dray-trust/`).
    public static func read(layout path: String) throws -> IncludedTrust {
        let dir = "\(path)/\(folder)"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return IncludedTrust() }
        var files: [String: [UInt8]] = [:]
        let safe = names.sorted().filter(isSafe)
        guard safe.count <= maxFiles else { throw LayoutError(path: dir, reason: "more than \(maxFiles) files") }
        for name in safe {
            let file = "\(dir)/\(name)"
            guard let status = FileStatus(path: file) else { throw LayoutError(path: file, reason: "cannot read it") }
            guard status.isRegular else { continue }
            guard status.size <= maxSize else {
                throw LayoutError(path: file, reason: "larger than \(maxSize >> 20) MiB")
            }
            files[name] = Array(try Data(contentsOf: URL(fileURLWithPath: file)))
        }
        return IncludedTrust(files: files)
    }

    /// Replaces the layout folder's `dray-trust/` with these files (removes it when there are none).
    public func write(layout path: String) throws {
        let dir = "\(path)/\(Self.folder)"
        let staging = "\(path)/.\(Self.folder).\(ProcessInfo.processInfo.processIdentifier)"
        try? FileManager.default.removeItem(atPath: staging)
        if !isEmpty {
            try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
            for (name, bytes) in files { try Data(bytes).write(to: URL(fileURLWithPath: "\(staging)/\(name)")) }
        }
        try? FileManager.default.removeItem(atPath: dir)
        if !isEmpty { try FileManager.default.moveItem(atPath: staging, toPath: dir) }
    }

    /// A plain file name (no folders, no dot files).
    public static func isSafe(_ name: String) -> Bool {
        !name.isEmpty && !name.hasPrefix(".") && !name.contains("/") && !name.contains("\0") && name.utf8.count <= 200
    }
}
