import ArgumentParser
import Engine
import FoundationEssentials
import Transports

/// `dray list-tags`: a repository's tags, filtered and ordered.
struct ListTagsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list-tags",
        abstract: "List a repository's tags, optionally filtered by a regex, a semver range or the newest N.",
        discussion: """
            Tags print one per line: in the registry's order, or newest first when --semver or --latest is given.
            The same selection flags work on mirror, for list lines that name no tag.

            Examples:
              dray list-tags docker.io/library/nginx --semver '>=1.26 <2'
              dray list-tags harbor.example.com/team/app --latest 5 --exclude-tag '-debug$'
              dray list-tags registry.example.com:5000/tools/kubectl --filter '^v1\\.3[0-9]\\.'
            """)

    @Argument(help: ArgumentHelp("The repository (registry/name, no tag).", valueName: "repository"))
    var repository: String

    @Option(name: .long, help: ArgumentHelp("Keep only tags this regular expression finds.", valueName: "regex"))
    var filter: String?

    @OptionGroup var tags: TagSelectionOptions
    @OptionGroup var access: SingleRegistryOptions
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try await reportingErrors {
            let selection = try tags.selection()
            var pattern: TextPattern?
            if let filter {
                do { pattern = try TextPattern(filter) } catch {
                    throw CLIError("--filter: \"\(filter.prefix(80))\" is not a regular expression")
                }
            }
            let factory = TransportFactory(logger: global.makeLogger("dray.tags"))
            let ref = try factory.parse(repository, flag: "repository")
            var names = try await factory.client(ref, options: try access.registryOptions()).tags(ref.repository)
            if let pattern { names = names.filter { pattern.finds(in: $0) } }
            for tag in selection.select(names) { print(tag) }
        }
    }
}

/// `dray delete`: remove an image (its manifest, with every tag that points at it) from a registry.
struct DeleteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete",
        abstract: "Delete an image from a registry (the manifest, and with it every tag pointing at it).",
        discussion: """
            A tag is resolved to its digest first; the registry then deletes the manifest by digest, as the \
            distribution API requires. The registry must allow deletes (distribution: storage.delete.enabled). \
            Without -y, dray asks on the terminal.

            Examples:
              dray delete harbor.example.com/team/app:1.2.3 -y
              dray delete registry.example.com:5000/team/app@sha256:4c6e…
            """)

    @Argument(help: ArgumentHelp("The image (registry/name:tag or @digest).", valueName: "image"))
    var image: String

    @Flag(name: .shortAndLong, help: "Do not ask for confirmation.")
    var yes = false

    @OptionGroup var access: SingleRegistryOptions
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try await reportingErrors {
            let factory = TransportFactory(logger: global.makeLogger("dray.delete"))
            let ref = try factory.parse(image, flag: "image")
            let client = factory.client(ref, options: try access.registryOptions())
            let digest: Digest
            if let d = ref.digest { digest = d } else {
                guard let found = try await client.headManifest(ref.repository, ManifestIdentifier(ref)) else {
                    throw CLIError("\(ref): not found")
                }
                digest = found.digest
            }
            if !yes {
                let answer = try Terminal.ask("Delete \(ref.name)@\(digest) and every tag pointing at it? [y/N] ", secret: false,
                                                otherwise: "refusing to delete without -y")
                guard ["y", "yes"].contains(answer.lowercased()) else {
                    print("Nothing deleted")
                    throw ExitCode.failure
                }
            }
            do { try await client.deleteManifest(ref.repository, digest) } catch let e as RegistryError where e.status == 405 {
                throw CLIError("\(ref.registry) does not allow deletes (HTTP 405); with distribution, set storage.delete.enabled")
            }
            print("Deleted \(ref.name)@\(digest)")
        }
    }
}
