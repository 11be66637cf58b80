import Engine
import Foundation
import Transports

/// The check before a run that the destination registries answer, so a TLS error or refused credentials is
/// reported once, before any image, instead of once per image.
enum DestinationCheck {
    /// Pings each registry as a push would reach it; with `credentials`, also has the credentials accepted when
    /// the registry asks for them. Throws a one-line error naming the registry and ending with `hint(error)`.
    static func run(_ registries: some Sequence<String>, pool: RegistryPool, credentials: Bool = false,
                    hint: (any Error) -> String) async throws {
        for registry in Set(registries).sorted() {
            let client = pool.client(registry, .destination)
            do {
                if credentials { _ = try await client.checkCredentials() } else { _ = try await client.baseURL() }
            } catch let e as RegistryError where e.status == 401 || e.status == 403 {
                throw CLIError("destination registry \(registry) refused the credentials (HTTP \(e.status)) (\(hint(e)))")
            } catch {
                throw CLIError("destination registry \(registry) does not answer: \(error) (\(hint(error)))")
            }
        }
    }
}
