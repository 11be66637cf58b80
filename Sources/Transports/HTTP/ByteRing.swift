/// A fixed-size circular byte buffer: bytes go in at the back and come out at the front without moving the rest
/// and without allocating per write.
///
/// Not thread-safe: a ring belongs to the HTTP loop's thread (see `CurlSplice`).
final class ByteRing {
    private var storage: UnsafeMutableRawPointer
    private(set) var capacity: Int
    private var head = 0
    /// Bytes held.
    private(set) var count = 0

    init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
        storage = .allocate(byteCount: capacity, alignment: 16)
    }

    deinit { storage.deallocate() }

    /// Room left.
    var free: Int { capacity - count }
    var isEmpty: Bool { count == 0 }

    /// Appends all of `bytes`; the caller checks `free` first (or calls `reserve`).
    func write(_ bytes: UnsafeRawBufferPointer) {
        precondition(bytes.count <= free, "ByteRing overflow")
        guard let src = bytes.baseAddress, bytes.count > 0 else { return }
        let tail = (head + count) % capacity
        let first = min(bytes.count, capacity - tail)
        (storage + tail).copyMemory(from: src, byteCount: first)
        if first < bytes.count { storage.copyMemory(from: src + first, byteCount: bytes.count - first) }
        count += bytes.count
    }

    /// Moves up to `out.count` bytes from the front into `out`; returns how many.
    func read(into out: UnsafeMutableRawBufferPointer) -> Int {
        let n = min(count, out.count)
        guard n > 0, let dst = out.baseAddress else { return 0 }
        let first = min(n, capacity - head)
        dst.copyMemory(from: storage + head, byteCount: first)
        if first < n { (dst + first).copyMemory(from: storage, byteCount: n - first) }
        head = (head + n) % capacity
        count -= n
        return n
    }

    /// Grows the ring so `free` is at least `bytes`, keeping what it holds.
    func reserve(_ bytes: Int) {
        guard bytes > free else { return }
        let bigger = count + bytes
        let fresh = UnsafeMutableRawPointer.allocate(byteCount: bigger, alignment: 16)
        let held = count
        _ = read(into: UnsafeMutableRawBufferPointer(start: fresh, count: held))
        storage.deallocate()
        storage = fresh
        capacity = bigger
        head = 0
        count = held
    }
}
