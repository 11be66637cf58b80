import Engine
import FoundationEssentials
import Synchronization

/// The state file of `--immutable-tags` (`--state`): what the run mirrored, written atomically as images finish
/// (at most twice a second, and at the end), so a run killed with `kill -9` leaves the last whole state behind,
/// never a torn one.
final class StateJournal: Sendable {
    let path: String
    let platforms: PlatformFilter
    private let state: Mutex<(records: MirrorRecords, dirty: Bool, flushed: ContinuousClock.Instant)>

    init(path: String, records: MirrorRecords, platforms: PlatformFilter) {
        self.path = path
        self.platforms = platforms
        state = Mutex((records, false, .now))
    }

    /// The default state file: `mirror-state.json` beside the failed list.
    static func defaultPath(besideFailedList failed: String) -> String {
        URL(fileURLWithPath: failed).deletingLastPathComponent().appendingPathComponent("mirror-state.json").path
    }

    /// Records a finished image; writes the file when the last write is half a second old.
    func record(_ result: MirrorResult) {
        let due = state.withLock { s -> Bool in
            s.records.update(with: [result], platforms: platforms)
            s.dirty = true
            return ContinuousClock.now - s.flushed >= .milliseconds(500)
        }
        if due { try? flush() }
    }

    /// Writes what is recorded, if anything changed since the last write.
    func flush() throws {
        let records: MirrorRecords? = state.withLock { s in
            guard s.dirty else { return nil }
            s.dirty = false
            s.flushed = .now
            return s.records
        }
        guard let records else { return }
        do { try records.write(to: path) } catch { throw CLIError("--state \(path): \(error)") }
    }
}
