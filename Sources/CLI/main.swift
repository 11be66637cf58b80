import ArgumentParser
import Dispatch
import Synchronization

MallocTuning.atStart()

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
