import ArgumentParser
import Engine

/// `--semver`, `--latest`, `--exclude-tag`: which tags of a repository a run takes where the list or config names
/// none (a list line without a tag, an image-syncer rule for all tags or a /regex/).
struct TagSelectionOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Take the tags in this semver range, e.g. '>=1.2 <2', '~1.27', '^3' (tags that are not versions are skipped).", valueName: "range"))
    var semver: String?

    @Option(name: .long, help: ArgumentHelp("Take the N newest tags by semver (after --semver and --exclude-tag).", valueName: "n"))
    var latest: Int?

    @Option(name: .long, parsing: .singleValue, help: ArgumentHelp("Leave out tags this regular expression finds (repeatable).", valueName: "regex"))
    var excludeTag: [String] = []

    func selection() throws -> TagSelection {
        do {
            return try TagSelection(range: semver.map { s throws(SemverRangeError) in try SemverRange(s) }, latest: latest, excluded: excludeTag)
        } catch let e as SemverRangeError {
            throw CLIError("--semver: \(e)")
        } catch {
            throw CLIError("\(error)")
        }
    }
}
