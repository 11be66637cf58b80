import Foundation

extension RegistryImitation {
    /// Nexus: pages of at most `pageCap` tags (re-paginated from the registry's whole list), whose `Link` is
    /// missing or points elsewhere as `link` says.
    func nexusTags(_ link: NexusLink, pageCap: Int, _ r: Request, _ upstream: Upstream) -> ImitationMessage? {
        guard r.method == "GET", r.isTagsList, let name = r.repository else { return upstream.forward(r) }
        let (tags, refusal) = allTags(name, r, upstream)
        guard let all = tags else { return refusal }
        let n = max(0, min(Int(r.parameter("n") ?? "") ?? pageCap, pageCap))
        let (page, more) = Self.page(all, after: r.parameter("last"), n: n)
        var headers = [("Content-Type", "application/json")]
        if more, let last = page.last {
            let tail = "/repository/docker-hosted/v2/\(name)/tags/list?last=\(last)&n=\(n)"
            switch link {
            case .missing: break
            case .otherHost: headers.append(("Link", "<http://127.0.0.1:1\(tail)>; rel=\"next\""))
            case .otherPath: headers.append(("Link", "<\(tail)>; rel=\"next\""))
            }
        }
        return .made(200, headers, body: ImitationMessage.json(["name": name, "tags": page]))
    }

    /// Quay: `n` clamped to `limit` (100 when absent or not a number is the limit too), and an absolute `Link`
    /// to the next page on the host the client used, as Quay builds it from its app URL.
    func quayTags(_ limit: Int, _ r: Request, _ upstream: Upstream) -> ImitationMessage? {
        guard r.method == "GET", r.isTagsList, let name = r.repository else { return upstream.forward(r) }
        let (tags, refusal) = allTags(name, r, upstream)
        guard let all = tags else { return refusal }
        let n = max(min(Int(r.parameter("n") ?? "") ?? limit, limit), 0)
        let (page, more) = Self.page(all, after: r.parameter("last")?.trimmingCharacters(in: .whitespaces), n: n)
        var headers = [("Content-Type", "application/json")]
        if more, n > 0, let last = page.last {
            let host = r.message.field("Host") ?? self.host
            headers.append(("Link", "<http://\(host)/v2/\(name)/tags/list?n=\(n)&last=\(last)>; rel=\"next\""))
        }
        return .made(200, headers, body: ImitationMessage.json(["name": name, "tags": page]))
    }

    /// The tags after `last` (all when nil), sorted, at most `n` of them; and whether more follow.
    static func page(_ tags: [String], after last: String?, n: Int) -> ([String], Bool) {
        let rest = tags.sorted().filter { last == nil || last!.isEmpty || $0 > last! }
        let page = Array(rest.prefix(n))
        return (page, rest.count > page.count)
    }

    /// Every tag of `name` the registry has, following its `Link`s; or, when it does not answer 200, its answer
    /// (nil when it could not be reached).
    private func allTags(_ name: String, _ r: Request, _ upstream: Upstream) -> ([String]?, ImitationMessage?) {
        var tags: [String] = []
        var next: String? = "/v2/\(name)/tags/list"
        let host = r.message.field("Host") ?? self.host
        while let target = next {
            guard let answer = upstream.get(target, host: host) else { return (nil, nil) }
            guard answer.head.status == 200 else { return (nil, answer) }
            let object = try? JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: Any]
            tags += object?["tags"] as? [String] ?? []
            next = answer.field("Link").flatMap(Self.nextTarget)
        }
        return (tags, nil)
    }

    /// The path and query of a `Link: <…>; rel="next"` value.
    static func nextTarget(_ link: String) -> String? {
        guard link.contains("rel=\"next\""), let open = link.firstIndex(of: "<"), let close = link.firstIndex(of: ">"),
              open < close, let url = URL(string: String(link[link.index(after: open)..<close]))
        else { return nil }
        return url.path + (url.query.map { "?" + $0 } ?? "")
    }
}
