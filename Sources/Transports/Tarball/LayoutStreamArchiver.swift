import Engine
import FoundationEssentials
import Dispatch
import Glibc

/// Archives a layout folder while it is still being filled, so archiving overlaps with downloading.
///
/// The head (`oci-layout`, the `index.json` the folder will have once the planned images are in, their
/// manifests and configs) is written first, as `LayoutArchiver` does. Layers follow in the order they become
/// ready: `ready(_:)` queues a blob that has just landed in the folder, and a dedicated thread copies it into the
/// archive (verifying it) while downloads go on. `finish()` adds whatever is left and ends the archive; `abort()`
/// drops it. The caller checks that the folder ended up with the promised `index.json` before finishing.
/// Only blobs that the promised `index.json` references go in, whatever else the folder holds.
public final class LayoutStreamArchiver: @unchecked Sendable {
    private let layout: OCILayout
    private let tar: TarWriter
    private let cond = ThreadCondition()
    private var queue: [Digest] = []
    private var seen = Set<Digest>()
    private var closed = false
    private var stopped = false
    private var failure: (any Error)?
    private var written = Set<Digest>()
    /// Every blob the archive holds, in the order `finish()` adds the ones still missing.
    private let wanted: [Digest]
    private let wantedSet: Set<Digest>
    private let exited = DispatchSemaphore(value: 0)

    /// Starts the archive: writes the head on the calling thread, then starts the writer thread.
    /// `index` is the folder's future `index.json`; `manifests` serves manifests not yet in the folder.
    public init(layout: OCILayout, sink: any ByteSink, index: ImageIndex, manifests: [Digest: [UInt8]]) throws {
        self.layout = layout
        self.tar = TarWriter(sink)
        let manifest: (Digest) throws -> [UInt8] = { d in
            if let bytes = manifests[d] { return bytes }
            return try layout.readBlob(d)
        }
        wanted = try ArchiveSelection.reachable(from: index, manifest: manifest)
        wantedSet = Set(wanted)
        written = try LayoutArchiver.writeHead(layout, index: index, indexBytes: try OCILayout.encode(index), to: tar,
                                               manifest: manifest)
        seen = written
        OSThread.start(name: "dray.archive") { [self] in run() }
    }

    /// Queues a blob that is now complete in the folder (called by downloads; cheap, never blocks on I/O).
    public func ready(_ digest: Digest) {
        cond.lock()
        defer { cond.unlock() }
        guard !closed, wantedSet.contains(digest), seen.insert(digest).inserted else { return }
        queue.append(digest)
        cond.signal()
    }

    private func run() {
        while true {
            cond.lock()
            while queue.isEmpty && !closed { cond.wait() }
            if stopped || queue.isEmpty {
                cond.unlock()
                break
            }
            let d = queue.removeFirst()
            cond.unlock()
            do {
                try LayoutArchiver.writeBlob(layout, d, to: tar)
                written.insert(d)
            } catch {
                cond.lock()
                failure = error
                stopped = true
                queue.removeAll()
                cond.unlock()
                break
            }
        }
        exited.signal()
    }

    private func stop(discarding: Bool) {
        cond.lock()
        closed = true
        if discarding {
            stopped = true
            queue.removeAll()
        }
        cond.signal()
        cond.unlock()
        exited.wait()
    }

    /// Writes the queued blobs and the other blobs the archive holds, ends the archive and puts it in place.
    /// Blocks; call from a thread that may wait on disk.
    public func finish() throws {
        stop(discarding: false)
        if let failure { throw failure }
        try LayoutArchiver.writeBlobs(wanted, of: layout, skipping: &written, to: tar)
        try tar.finish()
    }

    /// Stops and discards the archive (its temporary files are removed when the sink is released).
    public func abort() {
        stop(discarding: true)
    }
}
