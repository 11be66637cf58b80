#if canImport(Glibc)
import Glibc
#endif

/// Whole writes and single reads on a file descriptor, retried when a signal interrupts them: what the spool
/// file, the standard streams, credential helpers' pipes and text files share.
public enum FileDescriptorIO {
    /// Writes all of `buffer` to `fd` (short writes continue where they stopped); false when a write fails,
    /// with `errno` saying why.
    @discardableResult
    public static func writeAll(_ fd: Int32, _ buffer: UnsafeRawBufferPointer) -> Bool {
        var offset = 0
        while offset < buffer.count {
            let n = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }
            offset += n
        }
        return true
    }

    /// Writes all of `bytes` to `fd`; false when a write fails.
    @discardableResult
    public static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { writeAll(fd, $0) }
    }

    /// One read of at most `max` bytes: empty at the end, nil when the read fails (with `errno` saying why).
    public static func read(_ fd: Int32, max: Int) -> [UInt8]? {
        var failed = false
        let bytes = [UInt8](unsafeUninitializedCapacity: max) { buffer, count in
            while true {
                let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
                if n < 0 && errno == EINTR { continue }
                failed = n < 0
                count = Swift.max(n, 0)
                return
            }
        }
        return failed ? nil : bytes
    }
}
