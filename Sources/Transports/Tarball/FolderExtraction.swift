import Engine
import FoundationEssentials

extension LayoutExtractor {
    /// Extracts the archive at `path` (parts found automatically) into the folder `destination` as a whole: into
    /// `DESTINATION.PID.partial` next to it, which takes the final name only once every entry is in and checked
    /// (with `merging`, a folder already there receives the files instead, `index.json` last). A failure leaves
    /// `destination` as it was, and a failure of a split archive names the part being read. Returns the files written.
    public static func extractFolder(_ path: String, into destination: String, merging: Bool) throws -> Int {
        let source = try FileSource(path: path)
        let folder = try PartialFolder(for: destination)
        let files: Int
        do {
            files = try extract(source, into: folder.path)
            _ = try OCILayout(path: folder.path, create: false)
        } catch {
            guard source.files.count > 1, !"\(error)".contains(source.current) else { throw error }
            throw LayoutError(path: source.current, reason: "\(error)")
        }
        try folder.commit(merging: merging)
        return files
    }
}
