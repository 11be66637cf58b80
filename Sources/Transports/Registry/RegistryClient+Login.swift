import Engine
import Foundation

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
}
