import Engine
import FoundationEssentials
import Logging
import Transports

/// Before a run that pushes to registries (mirror, load): at each destination registry that is a Harbor, the
/// projects the images go to are created when missing, so the first push does not fail with "project not found".
enum HarborProjectCheck {
    /// `client` gives the destination client of a registry.
    static func run(_ destinations: [Reference], options: HarborOptions, logger: Logger,
                    client: (String) -> RegistryClient) async throws {
        guard !options.skipCreateProject else { return }
        var projects: [String: Set<String>] = [:]
        for d in destinations {
            let parts = d.repository.split(separator: "/")
            guard parts.count >= 2 else { continue }
            projects[d.registry, default: []].insert(String(parts[0]))
        }
        for (registry, names) in projects.sorted(by: { $0.key < $1.key }) {
            let c = client(registry)
            let harbor: Bool
            do { harbor = try await c.isHarbor() } catch {
                logger.debug("\(registry): could not tell whether it is a Harbor (\(error))")
                continue
            }
            guard harbor else { continue }
            for name in names.sorted() {
                do {
                    if try await c.ensureHarborProject(name, public: options.harborPublicProjects) == .created {
                        logger.info("\(registry): created Harbor project \(name) (\(options.harborPublicProjects ? "public" : "private"))")
                    }
                } catch let e as HarborProjectError {
                    throw CLIError("\(e)")
                }
            }
        }
    }
}
