import ArgumentParser
import Logging

/// `-j/--jobs`: images in flight at once, one declaration and one rule for every command. Values 1–20; as in
/// Hangar, a value outside is not fatal: it is warned about and replaced by 1. Commands differ only in the
/// default (`JobsDefault`) and in an alias they keep for another tool's spelling.
struct JobsOption<Default: JobsDefault>: ParsableArguments {
    @Option(name: Default.names, help: ArgumentHelp("Images in flight at once (1-20; outside: a warning, then 1, as Hangar).\(Default.note)",
                                                    valueName: "n"))
    var jobs: Int = Default.jobs

    /// `jobs`, with the rule applied (a warning through `logger` when it was out of range).
    func value(logger: Logger) -> Int {
        guard !(1...20).contains(jobs) else { return jobs }
        logger.warning("-j/--jobs \(jobs) is outside 1-20; using 1 (as Hangar does)")
        return 1
    }
}

/// A command family's default for `-j/--jobs`, and the spellings it accepts.
protocol JobsDefault {
    static var jobs: Int { get }
    static var names: NameSpecification { get }
    /// What the help adds about the spellings.
    static var note: String { get }
}

/// Hangar's transfer commands (mirror, save, sync, load) and image-syncer's `--proc`: default 1, as Hangar.
enum TransferJobs: JobsDefault {
    static let jobs = 1
    static var names: NameSpecification { [.short, .long, .customLong("proc")] }
    static let note = " --proc is image-syncer's spelling."
}

/// Checks (mirror/save/load validate, sign, verify) and bench: default 4, each image's work being a few requests.
enum CheckJobs: JobsDefault {
    static let jobs = 4
    static var names: NameSpecification { [.short, .long] }
    static let note = ""
}

/// The validate subcommands: as checks, also spelled `--validate-jobs`, which `-j` becomes after `validate`
/// (see `ArgumentNormalizer`: the parent command would otherwise take it).
enum ValidateJobs: JobsDefault {
    static let jobs = CheckJobs.jobs
    static var names: NameSpecification { [.short, .long, .customLong("validate-jobs")] }
    static let note = ""
}
