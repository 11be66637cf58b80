import Engine
import FoundationEssentials

extension RegistryClient {
    /// Pages of a referrers list followed at most (a registry that pages forever is cut off).
    static let maxReferrerPages = 1000

    /// Whether the registry serves the referrers API, as learned so far (nil: not asked yet).
    public var servesReferrersAPI: Bool? { learnedReferrersAPI.withLock { $0 } }

    /// The referrers of `subject` in `repository` by the referrers API (`GET /v2/<name>/referrers/<digest>`),
    /// following `Link` pages, at most `limit` (with `truncated` set when there were more); `.unsupported` when the
    /// registry has no such API, which a 404 on the endpoint shows (the spec answers an empty list for an unknown
    /// digest, never 404). Learned once per registry: after a 404, later calls answer `.unsupported` at once.
    /// An `OCI-Subject` header alone never counts as the API: registries have sent it without serving the API.
    public func referrers(_ repository: String, of subject: Digest, artifactType: String? = nil, limit: Int) async throws -> ReferrerListing {
        // The first request learns whether there is an API; concurrent ones wait for it rather than all asking.
        while learnedReferrersAPI.withLock({ $0 }) == nil {
            let probing = referrersProbe.withLock { p in
                defer { p.probing = true }
                return p.probing
            }
            guard probing else {
                defer {
                    let waiting = referrersProbe.withLock { p in
                        defer { p = (false, []) }
                        return p.waiting
                    }
                    for w in waiting { w.resume() }
                }
                return try await listReferrers(repository, of: subject, artifactType: artifactType, limit: limit)
            }
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let resumeNow = referrersProbe.withLock { p in
                    guard p.probing else { return true }
                    p.waiting.append(c)
                    return false
                }
                if resumeNow { c.resume() }
            }
        }
        return try await listReferrers(repository, of: subject, artifactType: artifactType, limit: limit)
    }

    private func listReferrers(_ repository: String, of subject: Digest, artifactType: String?, limit: Int) async throws -> ReferrerListing {
        if learnedReferrersAPI.withLock({ $0 }) == false { return .unsupported }
        var next: URL? = try await url("v2/\(repository)/referrers/\(subject)",
                                       query: artifactType.map { [URLQueryItem(name: "artifactType", value: $0)] } ?? [])
        var found: [Descriptor] = []
        var pages = 0
        while let page = next {
            pages += 1
            guard pages <= Self.maxReferrerPages else {
                throw RegistryProtocolError("\(registry)/\(repository): more than \(Self.maxReferrerPages) pages of referrers of \(subject)")
            }
            let response = try await send(
                request("GET", page, headers: ["Accept": MediaType.ociIndex.rawValue]), scope: .pull(repository))
            if response.status == 404, pages == 1 {
                // NAME_UNKNOWN is about the repository, not the endpoint: nothing is learned, and this once the
                // fallback tag is looked at (as oras does). Any other 404 means the endpoint is not there.
                let e = await error(from: response, target: "\(registry)/\(repository)@\(subject) referrers", method: "GET")
                if !e.codes.contains(.nameUnknown) { learnedReferrersAPI.withLock { $0 = false } }
                return .unsupported
            }
            guard response.status == 200 else {
                throw await error(from: response, target: "\(registry)/\(repository)@\(subject) referrers", method: "GET")
            }
            learnedReferrersAPI.withLock { $0 = true }
            let body: [UInt8]
            do { body = try await response.collect(limit: RawManifest.maxSize) } catch is HTTPBodyTooLarge {
                throw RegistryProtocolError("\(registry)/\(repository): a page of referrers of \(subject) exceeds \(RawManifest.maxSize) bytes")
            }
            guard let list = try? JSONDecoder().decode(ImageIndex.self, from: Data(body)) else {
                throw RegistryProtocolError("\(registry)/\(repository): the referrers API answered something that is not an image index")
            }
            found += list.manifests
            if found.count > limit { return .api(Array(found.prefix(limit)), truncated: true) }
            next = Self.nextLink(response.headers["Link"], relativeTo: page)
        }
        return .api(found, truncated: false)
    }
}
