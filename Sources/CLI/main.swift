import ArgumentParser

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
