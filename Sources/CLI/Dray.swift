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
        subcommands: [CopyCommand.self, MirrorCommand.self, SaveCommand.self, SyncCommand.self, LoadCommand.self, CompressCommand.self, DecompressCommand.self, ArchiveCommand.self, InspectCommand.self, GenerateKeyCommand.self, SignCommand.self, VerifyCommand.self, BenchCommand.self, ReportCommand.self, LoginCommand.self, LogoutCommand.self, ListTagsCommand.self, DeleteCommand.self, ConvertListCommand.self, VersionCommand.self]
    )
}

/// Rewrites flags that Hangar and skopeo accept bare or with `=BOOL` into the `--flag=BOOL` form the parser takes.
enum ArgumentNormalizer {
    /// Boolean options that take an optional `=true|false`.
    static let optionalBooleans: Set<String> = ["--tls-verify", "--src-tls-verify", "--dest-tls-verify"]

    static func normalize(_ args: [String]) -> [String] {
        var out: [String] = []
        var i = 0
        while i < args.count {
            let a = args[i]
            if a == "--" { out += args[i...]; break }
            if optionalBooleans.contains(a) {
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
}
