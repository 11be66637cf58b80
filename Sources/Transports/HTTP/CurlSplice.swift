import Engine
import Synchronization

/// A response body forwarded straight into a request body on the HTTP loop's thread: registry to registry, a
/// blob's bytes go from the download's write callback into a ring the upload's read callback drains, without
/// waking a Swift task per chunk and without allocating per chunk.
///
/// Back-pressure as in `CurlTransfer`: a full ring pauses the download and the upload's reads resume it; an empty
/// ring pauses the upload and the download's writes resume it. The splice ends when the download does; the
/// upload then drains what is left and its body is finished by its writer. Everything but `init` and the
/// continuation's resumption happens on the loop thread.
final class CurlSplice: @unchecked Sendable {
    let download: CurlTransfer
    let upload: CurlTransfer
    /// The most bytes the download may forward; one more fails the splice with `BlobVerificationError.tooLong`.
    let limit: Int64
    let digest: Digest
    /// Leading bytes to drop (a server that ignored a Range request repeats what was already forwarded).
    private var skip: Int64
    /// Bytes forwarded so far.
    private(set) var forwarded: Int64 = 0
    /// Whether the download is paused because the ring was full.
    var downloadPaused = false
    private(set) var ended = false
    private var failure: (any Error)?
    private var waiter: CheckedContinuation<(forwarded: Int64, error: (any Error)?), Never>?
    /// Splices alive in the process: a test checks they are all freed once their transfers are over (a splice
    /// and its transfers refer to each other until the transfers end).
    static let live = Atomic<Int>(0)

    init(download: CurlTransfer, upload: CurlTransfer, skip: Int64, limit: Int64, digest: Digest,
         waiter: CheckedContinuation<(forwarded: Int64, error: (any Error)?), Never>) {
        self.download = download
        self.upload = upload
        self.skip = skip
        self.limit = limit
        self.digest = digest
        self.waiter = waiter
        Self.live.add(1, ordering: .relaxed)
    }

    deinit { Self.live.subtract(1, ordering: .relaxed) }

    /// How many of `n` leading bytes to drop, counting them as dropped.
    func skipping(_ n: Int) -> Int {
        let k = Int(min(skip, Int64(n)))
        skip -= Int64(k)
        return k
    }

    /// Counts `n` bytes about to be forwarded; false (and the splice failed) when they pass the limit.
    func count(_ n: Int) -> Bool {
        if forwarded + Int64(n) > limit {
            failure = failure ?? BlobVerificationError.tooLong(digest: digest, expected: limit)
            return false
        }
        forwarded += Int64(n)
        return true
    }

    /// Download bytes from curl: into the ring, or pause (nil) while it is full, or fail (false) past the limit.
    /// A paused chunk is offered again in full, so nothing is consumed before the decision to take it.
    func accept(_ all: UnsafeRawBufferPointer, ring: ByteRing) -> Bool? {
        if ended { return false }
        let dropped = Int(min(skip, Int64(all.count)))
        let bytes = UnsafeRawBufferPointer(rebasing: all[dropped...])
        if bytes.count > ring.free {
            // A chunk bigger than the whole ring would never fit: grow it rather than wait forever.
            if bytes.count > ring.capacity { ring.reserve(bytes.count) } else {
                downloadPaused = true
                return nil
            }
        }
        skip -= Int64(dropped)
        if bytes.isEmpty { return true }
        guard count(bytes.count) else { return false }
        ring.write(bytes)
        upload.spliceDataArrived()
        return true
    }

    /// The download ended (nil: its whole body arrived): hands the outcome to the waiting task.
    func end(_ error: (any Error)?) {
        guard !ended else { return }
        ended = true
        downloadPaused = false
        let w = waiter
        waiter = nil
        w?.resume(returning: (forwarded, failure ?? error))
    }
}
