import Engine
import FoundationEssentials
import Transports

/// The check of the destination registries before a run (mirror; load too): each must answer and accept the
/// credentials, so that a wrong password stops the run once, before anything is copied, with one clear line.
enum DestinationCheck {
    /// Checks the registry of every destination once (with the first repository written there, whose credentials
    /// are the ones an image-syncer auth entry may scope); `client` gives the destination client of a registry.
    /// `credentialFlags` names the command's credential flags (the first is the one to check after a refusal),
    /// `otherwise` what to do about a registry that does not answer. A temporary failure (a 503, a 429, a refused
    /// connection) is retried as the run's requests are (`retry`): one unlucky answer must not stop a run that
    /// would otherwise have retried through it.
    static func run(_ destinations: [Reference], credentialFlags: [String] = ["--dest-creds", "--dest-creds-file"],
                    otherwise: String = "use --skip-login to start anyway", retry: Retrier,
                    client: (String) -> RegistryClient) async throws {
        var firstRepository: [String: String] = [:]
        for d in destinations where firstRepository[d.registry] == nil { firstRepository[d.registry] = d.repository }
        for (registry, repository) in firstRepository.sorted(by: { $0.key < $1.key }) {
            let registryClient = client(registry)
            do {
                try await retry.run("checking destination registry \(registry)") {
                    try await registryClient.checkAccess(repository: repository)
                }
            } catch {
                throw CLIError(message(registry, error, credentialFlags: credentialFlags, otherwise: otherwise))
            }
        }
    }

    /// One line for a failed check: missing credentials, a refused password, a refused token and TLS failures
    /// each say what to change.
    static func message(_ registry: String, _ error: any Error, credentialFlags: [String], otherwise: String) -> String {
        switch error {
        case CredentialRefusal.missing:
            return "destination registry \(registry) asks for credentials and none were found: give \(credentialFlags.joined(separator: " or ")), or run dray login \(registry)"
        case CredentialRefusal.password(_, let user, let status):
            return "destination registry \(registry) refused the password of \(user) (HTTP \(status)): check \(credentialFlags.first ?? "the credentials"), the auth file or the image-syncer auth entry"
        case CredentialRefusal.token(_, let user, let status):
            return "the token service of destination registry \(registry) refused a token to \(user) (HTTP \(status)): check the credentials and the account's access"
        case let e as TransportError where e.isTLS:
            return "destination registry \(registry): TLS failed (\(e.message)): trust its CA with --cert-dir (DIR/\(registry)/ca.crt), or pass --tls-verify=false"
        default:
            return "destination registry \(registry) does not answer: \(error) (\(otherwise))"
        }
    }
}
