import ArgumentParser
import Engine

/// `dray`: move container images between registries and archives.
struct Dray: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dray",
        abstract: "Move container images between registries and archives, fast.",
        discussion: """
            References default to the docker:// transport: `nginx` means docker://docker.io/library/nginx:latest.

            Examples:
              dray mirror -f list.txt -d harbor.example.com -j 8
              dray save -f list.txt -d images.tar.zst --compress zstd && dray load -s images.tar.zst -d harbor.local
              dray sign --key cosign.key harbor.example.com/team/app:1.0
              dray --generate-completion-script bash > /etc/bash_completion.d/dray
            """,
        version: DrayVersion.string,
        subcommands: [CopyCommand.self, MirrorCommand.self, SaveCommand.self, SyncCommand.self, LoadCommand.self, CompressCommand.self, DecompressCommand.self, ArchiveCommand.self, InspectCommand.self, GenerateKeyCommand.self, SignCommand.self, VerifyCommand.self, VerifyBundleCommand.self, BenchCommand.self, ReportCommand.self, LoginCommand.self, LogoutCommand.self, ListTagsCommand.self, DeleteCommand.self, RegistriesCommand.self, ConvertListCommand.self, VersionCommand.self]
    )
}

/// Rewrites flags that Hangar and skopeo accept bare or with `=BOOL` into the `--flag=BOOL` form the parser takes.
enum ArgumentNormalizer {
    /// Boolean options that take an optional `=true|false`.
    static let optionalBooleans: Set<String> = ["--tls-verify", "--src-tls-verify", "--dest-tls-verify", "--provenance"]

    /// Commands whose `validate` subcommand has a `-j/--jobs` of its own, which the parent's `-j` would take.
    static let validatingParents: Set<String> = ["mirror", "save", "load"]

    static func normalize(_ args: [String]) -> [String] {
        var out: [String] = []
        var i = 0
        // The parser hands an option both a command and its subcommand declare to the command: `-j` after
        // `mirror validate` would set mirror's (unused) -j. It is given its validate-only spelling instead.
        let validating = args.count >= 2 && validatingParents.contains(args[0]) && args[1] == "validate"
        while i < args.count {
            let a = args[i]
            if a == "--" { out += args[i...]; break }
            if validating, let rewritten = validateJobs(a) {
                out.append(rewritten)
            } else if optionalBooleans.contains(a) {
                // `--tls-verify false` (a separate value) or bare `--tls-verify` (true).
                if i + 1 < args.count, ["true", "false"].contains(args[i + 1].lowercased()) {
                    out.append("\(a)=\(args[i + 1].lowercased())")
                    i += 2
                    continue
                }
                out.append("\(a)=true")
            } else {
                out.append(a)
            }
            i += 1
        }
        return out
    }

    /// `-j`, `-jN`, `--jobs`, `--jobs=N` as `--validate-jobs` (with the value kept), or nil for other arguments.
    static func validateJobs(_ a: String) -> String? {
        if a == "-j" || a == "--jobs" { return "--validate-jobs" }
        if a.hasPrefix("--jobs=") { return "--validate-jobs=" + a.dropFirst("--jobs=".count) }
        if a.hasPrefix("-j"), a.count > 2, !a.hasPrefix("--") { return "--validate-jobs=" + a.dropFirst(2) }
        return nil
    }
}
