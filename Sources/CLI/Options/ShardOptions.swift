import ArgumentParser
import Engine
import FoundationEssentials
import Logging

/// `--shard INDEX/COUNT`: run one slice of the images, for running COUNT processes side by side.
struct ShardOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Handle only slice INDEX of COUNT (0-based), by a hash of each destination reference; COUNT processes with INDEX 0…COUNT-1 cover every image exactly once. auto/COUNT takes INDEX from JOB_COMPLETION_INDEX (Kubernetes Indexed Jobs).",
        valueName: "index/count"))
    var shard: String?

    /// The shard, when one was asked for.
    func parsed(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Shard? {
        guard let shard else { return nil }
        do { return try Shard(parsing: shard, environment: environment) } catch { throw CLIError("\(error)") }
    }
}

extension Shard {
    /// Narrows a run to this shard and says so.
    func narrow(_ targets: [MirrorTarget], _ errors: [ImageListError], logger: Logger) -> ([MirrorTarget], [ImageListError]) {
        let (t, e) = select(targets, errors)
        logger.info("Shard \(self): \(t.count) of \(targets.count) images\(errors.isEmpty ? "" : ", \(e.count) of \(errors.count) invalid lines")")
        return (t, e)
    }
}
