import ArgumentParser
import Engine
import FoundationEssentials
import Logging
import Transports

/// Where a validator looks for what was written: a registry repository, a layout folder, or an archive's catalog.
struct ManifestLookup: Sendable {
    /// The digest stored under an identifier, or nil.
    let digest: @Sendable (ManifestIdentifier) async throws -> Digest?
    /// A stored manifest by digest.
    let manifest: @Sendable (Digest) async throws -> RawManifest

    static func registry(_ client: RegistryClient, _ repository: String) -> ManifestLookup {
        ManifestLookup(digest: { try await client.headManifest(repository, $0)?.digest },
                       manifest: { try await client.manifest(repository, .digest($0)) })
    }

    /// An archive or folder: names are `org.opencontainers.image.ref.name`s.
    static func catalog(_ catalog: ArchiveCatalog) -> ManifestLookup {
        ManifestLookup(
            digest: { id in
                switch id {
                case .tag(let name):
                    return OCILayout.entry(named: name, in: catalog.index)?.digest
                case .digest(let d):
                    return catalog.manifests[d] != nil ? d : nil
                }
            },
            manifest: { d in
                guard let m = catalog.manifests[d] else { throw CLIError("manifest \(d) is not in the archive") }
                return m
            })
    }
}

enum Validation {
    /// What a copy of `top` under `filter` writes, decided as the engine decides it (`PlatformSelection`); nil
    /// when the filter leaves the image out (the copy skipped it, so nothing is expected). `source` reads an
    /// image's config when a filter needs its platform.
    static func selection(_ top: RawManifest, pinned: Bool = false, filter: PlatformFilter, source: (any ImageSource)? = nil)
        async throws -> PlatformSelection?
    {
        do {
            return try await PlatformSelection.decide(top, pinned: pinned, filter: filter) { config in
                guard let source else { throw CLIError("no source to read \(config.digest) from") }
                return try await source.smallBlob(config)
            }
        } catch CopyError.noMatchingPlatform {
            return nil
        }
    }

    /// nil when `lookup` holds what the copy `selection` of `top` under `id` wrote, else the reason: the
    /// source's digest when nothing was rewritten (every platform, a digest pin, a single image); else an index
    /// listing each kept platform manifest, each present by its source digest.
    static func check(_ top: RawManifest, _ selection: PlatformSelection, at id: ManifestIdentifier, in lookup: ManifestLookup) async -> String? {
        do {
            guard let have = try await lookup.digest(id) else { return "missing" }
            guard selection.rewritten else {
                return have == top.digest ? nil : "holds \(have), expected \(top.digest)"
            }
            guard case .index(let out) = try await lookup.manifest(have).parsed() else { return "holds no index" }
            let listed = Set(out.manifests.map(\.digest))
            for child in selection.children {
                guard listed.contains(child.digest) else {
                    return "its index lacks \(child.platform?.description ?? child.digest.description)"
                }
                guard try await lookup.digest(.digest(child.digest)) != nil else {
                    return "platform manifest \(child.digest) is missing"
                }
            }
            return nil
        } catch {
            return "\(error)"
        }
    }

    /// nil when everything attached at the source to the manifests the copy `selection` of `top` wrote (the
    /// top unless rewritten, and the kept platform manifests) is at the destination, else what is missing (the
    /// first three, and how many in all).
    static func checkAttachments(_ t: MirrorTarget, top: RawManifest, _ selection: PlatformSelection,
                                 sources: @escaping @Sendable (Reference) -> any ImageSource,
                                 destinations: @escaping @Sendable (Reference) -> any ImageSource,
                                 policy: AttachmentPolicy, logger: Logger) async -> String? {
        do {
            let subjects = (selection.rewritten ? [] : [top.digest]) + selection.children.map(\.digest)
            let missing = try await AttachmentValidation.missing(
                subjects, source: t.source, sources: sources,
                destination: t.destination, destinations: destinations, policy: policy, retry: Retrier(attempts: 3, logger: logger))
            guard !missing.isEmpty else { return nil }
            return "\(missing.count) attachment\(missing.count == 1 ? "" : "s") missing: \(missing.prefix(3).joined(separator: "; "))\(missing.count > 3 ? "; …" : "")"
        } catch {
            return "attachments: \(error)"
        }
    }

    /// Runs `check` for every target, `jobs` at a time, printing PASS/FAILED lines and the totals; returns the
    /// number of failures (invalid list lines and the `other` problems included).
    static func run(_ targets: [MirrorTarget], listErrors: [ImageListError], other: [String] = [], jobs: Int,
                    check: @escaping @Sendable (MirrorTarget) async -> String?) async -> Int {
        for e in listErrors { print("FAILED \(e)") }
        for e in other { print("FAILED \(e)") }
        var failures = listErrors.count + other.count
        await withTaskGroup(of: (MirrorTarget, String?).self) { group in
            var pending = targets[...]
            func admit() {
                guard let t = pending.popFirst() else { return }
                group.addTask { (t, await check(t)) }
            }
            for _ in 0..<max(1, jobs) { admit() }
            while let (t, problem) = await group.next() {
                if let problem {
                    failures += 1
                    print("FAILED [IMG:\(t.id)] \(t.destination): \(problem)")
                } else {
                    print("PASS   [IMG:\(t.id)] \(t.destination)")
                }
                admit()
            }
        }
        print("\(targets.count + listErrors.count + other.count - failures) passed, \(failures) failed")
        return failures
    }
}

/// Flags shared by the validate commands.
struct ValidationOptions: ParsableArguments {
    @OptionGroup var concurrency: JobsOption<ValidateJobs>

    @OptionGroup var attachments: AttachmentOptions

    @Flag(name: .long, help: "Do not expect the source's signatures at the destination (the run used --remove-signatures).")
    var removeSignatures = false

    /// Which attachments must be at the destination.
    func policy() throws -> AttachmentPolicy { try attachments.policy(removeSignatures: removeSignatures) }

    /// `-j`, with its rule applied.
    func checkedJobs(logger: Logger) -> Int { concurrency.value(logger: logger) }
}
