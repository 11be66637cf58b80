import Engine
import FoundationEssentials

extension RegistryClient {
    /// `Accept` for manifest requests: every type dray reads.
    static let manifestAccept = MediaType.acceptedManifestTypes.map(\.rawValue).joined(separator: ", ")

    private func manifestPath(_ repository: String, _ id: ManifestIdentifier) -> String {
        "v2/\(repository)/manifests/\(id)"
    }

    /// Fetches a manifest's exact bytes. Fetches by digest are checked against the digest; fetches by tag are
    /// checked against `Docker-Content-Digest` when the registry sends one.
    public func manifest(_ repository: String, _ id: ManifestIdentifier) async throws -> RawManifest {
        let url = try await url(manifestPath(repository, id))
        let target = "\(registry)/\(repository):\(id)"
        // A manifest GET is what pull limits count (Docker Hub): it waits while the host's budget is at its minimum.
        let budget = learned.rateLimit
        try await budget.admit(minimum: options.profile.rateLimitMin ?? 10, maxWait: options.rateLimitMaxWait, host: registry)
        let response: HTTPResponse
        do {
            response = try await send(request("GET", url, headers: ["Accept": Self.manifestAccept]), scope: .pull(repository))
        } catch {
            budget.answered(nil, counted: true)
            throw error
        }
        budget.answered(response.headers, counted: true)
        guard response.status == 200 else { throw await error(from: response, target: target, method: "GET") }
        let body: [UInt8]
        do { body = try await response.collect(limit: RawManifest.maxSize) } catch is HTTPBodyTooLarge {
            throw ManifestError.tooLarge(RawManifest.maxSize + 1)
        }
        let type = response.headers["Content-Type"].map(MediaType.init(rawValue:))
        switch id {
        case .digest(let d):
            return try RawManifest(bytes: body, mediaType: type, expecting: d)
        case .tag:
            let m = try RawManifest(bytes: body, mediaType: type)
            if let header = response.headers["Docker-Content-Digest"], let claimed = try? Digest(parsing: header),
               claimed.algorithm == .sha256, claimed != m.digest
            {
                throw ManifestError.digestMismatch(expected: claimed, actual: m.digest)
            }
            return m
        }
    }

    /// The descriptor of the manifest under `id`, or nil when there is none (HEAD, no body transferred).
    public func headManifest(_ repository: String, _ id: ManifestIdentifier) async throws -> Descriptor? {
        let url = try await url(manifestPath(repository, id))
        let response = try await send(
            request("HEAD", url, headers: ["Accept": Self.manifestAccept]), scope: .pull(repository))
        response.discard()
        learned.rateLimit.answered(response.headers, counted: false)
        let refused = await readRefusedWithToken(response, method: "HEAD")
        if response.status == 404 || refused { return nil }
        guard response.status == 200 else {
            throw RegistryError.from(status: response.status, headers: response.headers, body: [],
                                     target: "\(registry)/\(repository):\(id)", request: "HEAD \(HTTPRedaction.url(url))")
        }
        let digest: Digest
        if let h = response.headers["Docker-Content-Digest"], let d = try? Digest(parsing: h) {
            digest = d
        } else if case .digest(let d) = id {
            digest = d
        } else {
            // No digest header: fetch the bytes to know what the tag points at.
            return try await manifest(repository, id).descriptor()
        }
        return Descriptor(
            mediaType: MediaType(rawValue: response.headers["Content-Type"] ?? "application/octet-stream"),
            digest: digest, size: Int64(response.headers["Content-Length"] ?? "") ?? -1)
    }

    /// Stores a manifest under a tag or its digest; the registry's `Docker-Content-Digest` must match. Returns the
    /// response's headers (`OCI-Subject` says the registry indexed the manifest's subject).
    @discardableResult
    public func putManifest(_ repository: String, _ id: ManifestIdentifier, _ manifest: RawManifest) async throws
        -> HTTPHeaders
    {
        guard !manifest.mediaType.isSchema1 else {
            throw ManifestError.unsupported(
                "\(registry)/\(repository): Docker schema 1 manifests are read-only in dray; registries no longer accept them")
        }
        if case .digest(let d) = id, d != manifest.digest {
            throw ManifestError.digestMismatch(expected: d, actual: manifest.digest)
        }
        let url = try await url(manifestPath(repository, id))
        let target = "\(registry)/\(repository):\(id)"
        var delay = Duration.milliseconds(250)
        var response: HTTPResponse
        while true {
            response = try await send(
                request("PUT", url, headers: ["Content-Type": manifest.mediaType.rawValue], body: manifest.bytes),
                scope: .push(repository))
            if response.status == 201 || response.status == 200 || response.status == 202 { break }
            let e = await error(from: response, target: target, method: "PUT")
            // A blob this run has just uploaded may not be visible yet on an eventually consistent (S3-backed)
            // registry: ask again briefly before failing.
            guard e.status == 400, e.codes.contains(.manifestBlobUnknown) || e.codes.contains(.blobUnknown),
                  learned.uploadedAnyRecently, delay <= .seconds(2)
            else { throw e }
            logger.debug("\(target): \(e); blobs uploaded moments ago may not be visible yet, asking again in \(delay)")
            try await Task.sleep(for: delay)
            delay *= 2
        }
        response.discard()
        if let h = response.headers["Docker-Content-Digest"], let d = try? Digest(parsing: h), d != manifest.digest {
            throw RegistryProtocolError(
                "\(target): the registry stored the manifest as \(d), but its bytes hash to \(manifest.digest)")
        }
        return response.headers
    }

    /// Deletes a manifest by digest.
    public func deleteManifest(_ repository: String, _ digest: Digest) async throws {
        let url = try await url(manifestPath(repository, .digest(digest)))
        let response = try await send(request("DELETE", url), scope: AuthScope(entries: ["repository:\(repository):delete"]))
        guard response.status == 202 || response.status == 200 else {
            throw await error(from: response, target: "\(registry)/\(repository)@\(digest)", method: "DELETE")
        }
        response.discard()
    }

    /// The registry's repositories (`/v2/_catalog`, first `pageSize` names).
    public func catalog(pageSize: Int = 1000) async throws -> [String] {
        let url = try await url("v2/_catalog", query: [URLQueryItem(name: "n", value: "\(pageSize)")])
        let response = try await send(request("GET", url), scope: AuthScope(entries: ["registry:catalog:*"]))
        guard response.status == 200 else { throw await error(from: response, target: registry, method: "GET") }
        let body = try await response.collect(limit: 4 << 20)
        struct Catalog: Decodable { var repositories: [String]? }
        return (try JSONDecoder().decode(Catalog.self, from: Data(body))).repositories ?? []
    }

    /// Deletes a repository's link to a blob (the registry's garbage collection frees the bytes later).
    public func deleteBlob(_ repository: String, _ digest: Digest) async throws {
        let url = try await url("v2/\(repository)/blobs/\(digest)")
        let response = try await send(request("DELETE", url), scope: AuthScope(entries: ["repository:\(repository):delete"]))
        guard response.status == 202 || response.status == 200 else {
            throw await error(from: response, target: "\(registry)/\(repository)@\(digest)", method: "DELETE")
        }
        response.discard()
    }

    /// All tags of a repository, in pages of `pageSize` (the host profile's `tagPageSize`, else 1000).
    ///
    /// Pages follow `Link: <…>; rel="next"` when it points at this same URL path; when it points at another host
    /// or path (Nexus behind a connector port, nexus-public #1011), or is missing although the page is full,
    /// the next page is asked of the original URL with `?last=<last tag>` (the spec's own continuation). A page
    /// that brings no new tag ends the listing, so a registry that ignores `last` cannot loop.
    public func tags(_ repository: String, pageSize: Int? = nil) async throws -> [String] {
        let n = pageSize ?? options.profile.tagPageSize ?? 1000
        let path = "v2/\(repository)/tags/list"
        let first = try await url(path, query: [URLQueryItem(name: "n", value: "\(n)")])
        var next: URL? = first
        var all: [String] = []
        var seen = Set<String>()
        var pages = 0
        while let page = next {
            pages += 1
            guard pages <= 10_000 else { throw RegistryProtocolError("\(registry)/\(repository): too many tag pages") }
            let response = try await send(request("GET", page), scope: .pull(repository))
            guard response.status == 200 else {
                throw await error(from: response, target: "\(registry)/\(repository)", method: "GET")
            }
            struct TagList: Decodable { var tags: [String]? }
            let body = try await response.collect(limit: 16 << 20)
            guard let list = try? JSONDecoder().decode(TagList.self, from: Data(body)) else {
                throw RegistryProtocolError("\(registry)/\(repository): tags/list answered invalid JSON")
            }
            let tags = list.tags ?? []
            let fresh = tags.filter { seen.insert($0).inserted }
            all += fresh
            guard !fresh.isEmpty, let last = tags.last else { break }
            let link = Self.nextLink(response.headers["Link"], relativeTo: page)
            if let link, Self.sameEndpoint(link, first) {
                next = link
            } else if link != nil || tags.count >= n {
                if let link {
                    logger.debug("\(registry)/\(repository): tags/list Link points at \(HTTPRedaction.url(link)); continuing on \(apiHost) with ?last=")
                }
                next = try await url(path, query: [URLQueryItem(name: "n", value: "\(n)"), URLQueryItem(name: "last", value: last)])
            } else {
                next = nil
            }
        }
        return all
    }

    /// Whether two URLs name the same scheme, host, port and path.
    static func sameEndpoint(_ a: URL, _ b: URL) -> Bool {
        a.scheme?.lowercased() == b.scheme?.lowercased() && a.host?.lowercased() == b.host?.lowercased()
            && a.port == b.port && a.path == b.path
    }

    /// The `rel="next"` target of a `Link` header, resolved against the request URL.
    static func nextLink(_ header: String?, relativeTo base: URL) -> URL? {
        guard let header else { return nil }
        for part in header.split(separator: ",") {
            let s = part.trimmingSpaces()
            guard s.contains("rel=\"next\"") || s.contains("rel=next"),
                  let open = s.firstIndex(of: "<"), let close = s.firstIndex(of: ">"), open < close
            else { continue }
            return URL(string: String(s[s.index(after: open)..<close]), relativeTo: base)?.absoluteURL
        }
        return nil
    }
}
