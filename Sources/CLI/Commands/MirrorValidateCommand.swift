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

    @OptionGroup var checking: ValidationOptions

    func run() async throws {
        try await reportingErrors {
            let logger = global.makeLogger("dray.validate")
            let pool = RegistryPool(http: HTTPClient(logger: logger), source: try access.registryOptions(.source),
                                    destination: try access.registryOptions(.destination), sync: try selection.syncConfig())
            let (targets, listErrors) = try await selection.load(pool: pool)
            for e in listErrors { print("FAILED \(e)") }
            let filter = selection.platforms.filter
            let failures = await Validation.run(targets, listErrors: listErrors, jobs: try checking.checkedJobs()) { t in
                do {
                    let top = try await pool.client(t.source.registry, .source)
                        .manifest(t.source.repository, ManifestIdentifier(t.source))
                    let lookup = ManifestLookup.registry(pool.client(t.destination.registry, .destination), t.destination.repository)
                    return await Validation.check(top, filter: filter, at: t.destinationIdentifier, in: lookup)
                        .map { $0 == "missing" ? "missing at the destination" : $0 }
                } catch {
                    return "\(error)"
                }
            }
            if failures > 0 { throw ExitCode.failure }
        }
    }
}
