import Engine
import FoundationEssentials

extension RequestGate {
    /// Sends one request through the gate: a slot for `host` is taken before it is sent and given back when its
    /// response body has ended (read to the end, discarded, cancelled or failed), not when the head arrives, so a
    /// cap on requests in flight also covers bodies still on the wire.
    func exchange(host: String, admission: Admission, _ send: () async throws -> HTTPResponse) async throws -> HTTPResponse {
        try await enter(host: host, admission: admission)
        let response: HTTPResponse
        do { response = try await send() } catch {
            await leave(host: host, admission: admission, status: nil, retryAfter: nil)
            throw error
        }
        let status = response.status
        let retryAfter = RegistryError.parseRetryAfter(response.headers["Retry-After"])
        response.whenFinished { [self] in
            Task { await self.leave(host: host, admission: admission, status: status, retryAfter: retryAfter) }
        }
        return response
    }
}

/// Sends through `gate` when there is one, else straight.
func gated(_ gate: (any RequestGate)?, host: String, admission: Admission = .request,
           _ send: () async throws -> HTTPResponse) async throws -> HTTPResponse {
    guard let gate else { return try await send() }
    return try await gate.exchange(host: host, admission: admission, send)
}
