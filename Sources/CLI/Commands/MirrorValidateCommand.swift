import ArgumentParser
import Engine
import Foundation
import Transports

/// `dray mirror validate`: checks that every selected image is at the destination with the expected digests.
struct MirrorValidateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check that the images of a list were mirrored correctly (PASS/FAILED per image).",
        discussion: """
            With every platform selected the destination tag must hold the source's digest. With --arch/--os it \
            must hold an index listing every selected platform manifest, each present by its source digest.
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var selection: MirrorSelectionOptions
    @OptionGroup var access: RegistryAccessOptions

    @Option(name: [.short, .long], help: "Images checked at once (1-20).")
    var jobs: Int = 4

    func run() async throws {
        try await reportingErrors {
            guard (1...20).contains(jobs) else { throw CLIError("-j/--jobs must be between 1 and 20") }
            let logger = global.makeLogger("dray.validate")
            let pool = RegistryPool(http: HTTPClient(logger: logger), source: try access.registryOptions(.source),
                                    destination: try access.registryOptions(.destination), sync: try selection.syncConfig())
            let (targets, listErrors) = try await selection.load(pool: pool)
            for e in listErrors { print("FAILED \(e)") }
            let filter = selection.platforms.filter
            var failures = listErrors.count
            await withTaskGroup(of: (MirrorTarget, String?).self) { group in
                var pending = targets[...]
                func admit() {
                    guard let t = pending.popFirst() else { return }
                    group.addTask { (t, await Self.check(t, filter: filter, pool: pool)) }
                }
                for _ in 0..<jobs { admit() }
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
            print("\(targets.count + listErrors.count - failures) passed, \(failures) failed")
            if failures > 0 { throw ExitCode.failure }
        }
    }

    /// nil when the destination holds what a mirror of `t` should have written, else the reason it does not.
    static func check(_ t: MirrorTarget, filter: PlatformFilter, pool: RegistryPool) async -> String? {
        do {
            let src = pool.client(t.source.registry, .source)
            let dst = pool.client(t.destination.registry, .destination)
            let top = try await src.manifest(t.source.repository, ManifestIdentifier(t.source))
            let destID = t.destinationIdentifier
            guard let have = try await dst.headManifest(t.destination.repository, destID) else {
                return "missing at the destination"
            }
            guard case .index(let index) = try top.parsed() else {
                return have.digest == top.digest ? nil : "holds \(have.digest), expected \(top.digest)"
            }
            let selected = IndexSelection.select(index, filter)
            if selected.isEmpty { return "no platform matches \(filter)" }
            if selected.count == index.manifests.count {
                return have.digest == top.digest ? nil : "holds \(have.digest), expected \(top.digest)"
            }
            // A filtered (possibly merged) index: every selected child must be listed and present.
            let written = try await dst.manifest(t.destination.repository, .digest(have.digest))
            guard case .index(let out) = try written.parsed() else { return "the destination holds no index" }
            let listed = Set(out.manifests.map(\.digest))
            for child in selected {
                guard listed.contains(child.digest) else { return "its index lacks \(child.platform?.description ?? child.digest.description)" }
                guard try await dst.headManifest(t.destination.repository, .digest(child.digest)) != nil else {
                    return "platform manifest \(child.digest) is missing"
                }
            }
            return nil
        } catch {
            return "\(error)"
        }
    }
}
