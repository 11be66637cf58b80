import Foundation
import Synchronization

/// A blob downloaded in full to a temporary file before it is uploaded (`dray bench`'s spool strategy, and for
/// registries that are slow to accept while the source is fast). The file is removed when the stream ends or is
/// released.
final class SpooledBlob: BlobStream, @unchecked Sendable {
    private let path: String
    private let handle: FileHandle
    private let lock = Mutex(())

    /// Reads `stream` to its end into a new file under `directory`.
    init(_ stream: any BlobStream, in directory: String) async throws {
        path = "\(directory)/.dray-spool-\(UUID().uuidString)"
        guard FileManager.default.createFile(atPath: path, contents: nil), let writer = FileHandle(forWritingAtPath: path) else {
            throw SpoolError(path: path)
        }
        do {
            while let chunk = try await stream.next() { try writer.write(contentsOf: chunk) }
            try writer.close()
        } catch {
            try? writer.close()
            try? FileManager.default.removeItem(atPath: path)
            throw error
        }
        guard let reader = FileHandle(forReadingAtPath: path) else { throw SpoolError(path: path) }
        handle = reader
    }

    deinit {
        try? handle.close()
        try? FileManager.default.removeItem(atPath: path)
    }

    func next() async throws -> [UInt8]? {
        let data = try lock.withLock { _ in try handle.read(upToCount: 1 << 20) } ?? Data()
        return data.isEmpty ? nil : Array(data)
    }

    func cancel() {}
}

/// A spool file could not be made.
struct SpoolError: Error, CustomStringConvertible {
    let path: String
    var description: String { "cannot write the spool file \(path)" }
}
