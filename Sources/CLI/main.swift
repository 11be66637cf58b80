import ArgumentParser
import Dispatch
import Synchronization

#if os(Linux)
/// glibc's `mallopt` (in <malloc.h>, which the Glibc module does not export).
@_silgen_name("mallopt") private func mallopt(_ parameter: Int32, _ value: Int32) -> Int32
/// glibc's `M_ARENA_MAX`.
private let mallocArenaMax: Int32 = -8
/// glibc's `M_MMAP_THRESHOLD`.
private let mallocMmapThreshold: Int32 = -3

// glibc gives threads that allocate their own malloc arenas (up to 8 per core), each keeping freed memory
// resident; transfers allocate on many threads (curl's loop, the task pool), so capping them at two keeps a
// run's peak RSS about 10 MB lower.
_ = mallopt(mallocArenaMax, 2)
// Allocations of 192 KiB and more (a blob copy's 256 KiB splice ring) get their own mappings, returned to the
// system when freed. By default glibc raises this threshold each time such a buffer is freed, after which they
// come from the arenas, whose freed space stays resident: a cold mirror of the benchmark corpus peaked 2-3 MB
// higher. (A threshold of 64 KiB, which also maps curl's 128 KiB buffers, cut 2 MB more but cost 40% more CPU.)
_ = mallopt(mallocMmapThreshold, 192 * 1024)
#endif

/// Runs an async command through its async `run()`.
func runAsync<C: AsyncParsableCommand>(_ command: inout C) async throws { try await command.run() }

// Entry point: normalise Hangar/skopeo-style boolean flags, then parse and run the command tree.
//
// The main thread waits for the command's task instead of being an async main: an async main ends the main
// thread with `pthread_exit`, whose forced unwind reads the binary's unwind tables (about 0.5 MB of RSS for
// nothing). No code here runs on the main actor.
/// Parses and runs the command on the task pool while the calling thread waits; returns how it failed.
func runCommand(_ arguments: [String]) -> (any Error)? {
    let failure = Mutex<(any Error)?>(nil)
    let finished = DispatchSemaphore(value: 0)
    Task.detached {
        do {
            var command = try Dray.parseAsRoot(arguments)
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await runAsync(&asyncCommand)
            } else {
                try command.run()
            }
        } catch {
            failure.withLock { $0 = error }
        }
        finished.signal()
    }
    finished.wait()
    return failure.withLock { $0 }
}

if let error = runCommand(ArgumentNormalizer.normalize(Array(CommandLine.arguments.dropFirst()))) {
    Dray.exit(withError: error)
}
