#if canImport(Glibc)
import Glibc
#endif
import FoundationEssentials
import Synchronization

/// A blob downloaded in full to a temporary file before it is uploaded (`dray bench`'s spool strategy, and for
/// registries that are slow to accept while the source is fast). The file is removed when the stream ends or is
/// released.
final class SpooledBlob: BlobStream, @unchecked Sendable {
    private let path: String
    /// The spool file, open for reading from its start (guarded by `lock`).
    private let fd: Int32
    private let lock = Mutex(())

    /// Reads `stream` to its end into a new file under `directory`.
    init(_ stream: any BlobStream, in directory: String) async throws {
        path = "\(directory)/.dray-spool-\(UUID().uuidString)"
        let writer = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard writer >= 0 else { throw SpoolError(path: path) }
        do {
            while let chunk = try await stream.next() {
                guard FileDescriptorIO.writeAll(writer, chunk) else { throw SpoolError(path: path) }
            }
            close(writer)
        } catch {
            close(writer)
            unlink(path)
            throw error
        }
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            unlink(path)
            throw SpoolError(path: path)
        }
    }

    deinit {
        close(fd)
        unlink(path)
    }

    func next() async throws -> [UInt8]? {
        try lock.withLock { _ throws(SpoolError) -> [UInt8]? in
            guard let chunk = FileDescriptorIO.read(fd, max: 1 << 20) else { throw SpoolError(path: path) }
            return chunk.isEmpty ? nil : chunk
        }
    }

    func cancel() {}
}

/// A spool file could not be made.
struct SpoolError: Error, CustomStringConvertible {
    let path: String
    var description: String { "cannot write the spool file \(path)" }
}
