import Engine
import FoundationEssentials
import Glibc

/// Writes part of a layout folder as a layout folder of its own (`save --compress dir`), leaving the source intact.
public enum LayoutExport {
    /// Makes `destination` a layout holding just `selection` of `layout`: blobs are hard-linked (copied across
    /// file systems) into `DESTINATION.PID.partial`, which replaces `destination` once complete. Returns the
    /// bytes of the blobs. A failure leaves nothing behind.
    @discardableResult
    public static func write(_ selection: ArchiveSelection, of layout: OCILayout, to destination: String) throws -> Int64 {
        let folder = try PartialFolder(for: destination)
        let out = try OCILayout(path: folder.path, create: true)
        var bytes: Int64 = 0
        for d in selection.blobs {
            let from = layout.blobPath(d), to = out.blobPath(d)
            guard let size = layout.blobSize(d) else { throw LayoutError(path: from, reason: "missing blob \(d)") }
            if link(from, to) != 0 {
                do { try FileManager.default.copyItem(atPath: from, toPath: to) } catch {
                    throw LayoutError(path: to, reason: "cannot copy blob \(d): \(error)")
                }
            }
            bytes += size
        }
        try AtomicFile.write(try OCILayout.encode(selection.index), to: "\(folder.path)/index.json")
        try folder.commit()
        return bytes
    }
}
