import Engine
import FoundationEssentials

extension RegistryClient {
    /// Checks that the registry accepts this client's credentials (what `dray login` does before storing them):
    /// `GET /v2/` with them, through the registry's token service when it has one. Returns false when the registry
    /// asks for no credentials at all; throws the registry's refusal (401/403) when it rejects them.
    @discardableResult
    public func checkCredentials() async throws -> Bool {
        let base = try await baseURL()
        guard await auth.challenged else { return false }
        let url = base.appendingPathComponent("v2/")
        let response = try await send(request("GET", url), scope: AuthScope(entries: []))
        guard response.status == 200 else {
            throw await error(from: response, target: registry, method: "GET")
        }
        response.discard()
        return true
    }

    /// Checks, before a run, that the registry answers and accepts the credentials it would use for `repository`,
    /// telling apart the ways it can refuse (`CredentialRefusal`). Transport failures (TLS included) are thrown
    /// as they come.
    public func checkAccess(repository: String) async throws {
        let base = try await baseURL()
        guard await auth.challenged else { return }
        let scope = AuthScope.pull(repository)
        let credential = try options.credentials.credential(registry: registry, repository: repository)
        do {
            _ = try await auth.authorization(for: scope)
        } catch let e as RegistryError where [400, 401, 403].contains(e.status) {
            // Only a token service answers here: basic credentials are not sent anywhere yet.
            if let credential { throw CredentialRefusal.token(registry: registry, username: credential.username, status: e.status) }
            throw CredentialRefusal.missing(registry: registry)
        }
        let response = try await send(request("GET", base.appendingPathComponent("v2/")), scope: scope)
        response.discard()
        switch response.status {
        case 200..<300: return
        case 401, 403:
            guard let credential else { throw CredentialRefusal.missing(registry: registry) }
            throw CredentialRefusal.password(registry: registry, username: credential.username, status: response.status)
        default:
            throw RegistryError(status: response.status, target: registry, request: "GET \(HTTPRedaction.url(response.url))")
        }
    }
}

/// How a registry refused access before a run: no credentials, the password, or the token service.
public enum CredentialRefusal: Error, Sendable, Equatable {
    /// The registry asks for credentials and none were found for it.
    case missing(registry: String)
    /// The registry refused the username and password.
    case password(registry: String, username: String, status: Int)
    /// The registry's token service refused to issue a token for the username.
    case token(registry: String, username: String, status: Int)
}
