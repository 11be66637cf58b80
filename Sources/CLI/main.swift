import ArgumentParser

#if os(Linux)
/// glibc's `mallopt` (in <malloc.h>, which the Glibc module does not export).
@_silgen_name("mallopt") private func mallopt(_ parameter: Int32, _ value: Int32) -> Int32
/// glibc's `M_ARENA_MAX`.
private let mallocArenaMax: Int32 = -8

// glibc gives threads that allocate their own malloc arenas (up to 8 per core), each keeping freed memory
// resident; transfers allocate on many threads (curl's loop, the task pool), so capping them at two keeps a
// run's peak RSS about 10 MB lower.
_ = mallopt(mallocArenaMax, 2)
#endif

/// Runs an async command through its async `run()`.
func runAsync<C: AsyncParsableCommand>(_ command: inout C) async throws { try await command.run() }

// Entry point: normalise Hangar/skopeo-style boolean flags, then parse and run the command tree.
let arguments = ArgumentNormalizer.normalize(Array(CommandLine.arguments.dropFirst()))
do {
    var command = try Dray.parseAsRoot(arguments)
    if var asyncCommand = command as? any AsyncParsableCommand {
        try await runAsync(&asyncCommand)
    } else {
        try command.run()
    }
} catch {
    Dray.exit(withError: error)
}
