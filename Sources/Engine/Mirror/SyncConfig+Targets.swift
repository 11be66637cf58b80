import FoundationEssentials

extension SyncConfig {
    /// Expands the rules into mirror targets, listing tags where a rule takes all tags or a regex (narrowed further
    /// by `selection`, when given).
    ///
    /// Destinations follow image-syncer: a destination without a tag takes the source's tags; a destination with a
    /// tag renames the one tag its source names; "" means `defaultRegistry/defaultNamespace/NAME`. A destination
    /// that names a registry goes there; others go to `destinationRegistry` (`-d`). Failed targets are written back
    /// as Mirror-format lines (`SOURCE DESTINATION TAG`), so `dray mirror -f` can retry them.
    public func targets(defaultRegistry: String?, defaultNamespace: String?, destinationRegistry: String?,
                        firstID: Int = 1, selection: TagSelection? = nil,
                        listTags: @Sendable (Reference) async throws -> [String]) async
        -> (targets: [MirrorTarget], errors: [ImageListError])
    {
        var targets: [MirrorTarget] = []
        var errors: [ImageListError] = []
        for rule in rules {
            func fail(_ reason: String) {
                errors.append(ImageListError(file: rule.file, lineNumber: rule.line, line: rule.key, reason: reason))
            }
            // The source identifiers this rule takes.
            var identifiers: [ManifestIdentifier] = []
            switch rule.selector {
            case .tags(let t): identifiers = t.map { .tag($0) }
            case .digest(let d): identifiers = [.digest(d)]
            case .all, .regex:
                do {
                    var tags = try await listTags(rule.source)
                    if case .regex(let pattern) = rule.selector, let re = try? TextPattern(pattern) {
                        tags = tags.filter { re.finds(in: $0) }
                    }
                    tags.sort()
                    if let selection, selection.isActive { tags = selection.select(tags) }
                    identifiers = tags.map { .tag($0) }
                    if identifiers.isEmpty {
                        fail("no tag of \(rule.source.name) matches\(selection?.isActive == true ? " " + selection!.summary : "")")
                        continue
                    }
                } catch {
                    fail("cannot list the tags of \(rule.source.name): \(error)")
                    continue
                }
            }
            for raw in rule.destinations {
                do {
                    let (repository, renamed) = try destination(raw, source: rule.source, defaultRegistry: defaultRegistry,
                                                               defaultNamespace: defaultNamespace,
                                                               destinationRegistry: destinationRegistry)
                    if renamed != nil, identifiers.count != 1 {
                        throw MirrorNamingError("the destination \"\(raw)\" carries a tag, so its source must name exactly one")
                    }
                    for id in identifiers {
                        var src = rule.source
                        var dst = repository
                        switch id {
                        case .tag(let t):
                            src.tag = t
                            dst.tag = renamed ?? t
                        case .digest(let d):
                            src.digest = d
                            if let renamed { dst.tag = renamed } else { dst.digest = d }
                        }
                        let line = "\(src.name) \(dst.name) \(dst.tag ?? id.description)"
                        targets.append(MirrorTarget(id: firstID + targets.count, source: src, destination: dst,
                                                    line: line, origin: "\(rule.file):\(rule.line)"))
                    }
                } catch {
                    fail("\(error)")
                }
            }
        }
        return (targets, errors)
    }

    /// The destination repository (no tag) and the tag it renames to, if it carries one.
    private func destination(_ raw: String, source: Reference, defaultRegistry: String?, defaultNamespace: String?,
                             destinationRegistry: String?) throws -> (Reference, String?) {
        if raw.isEmpty {
            guard let registry = defaultRegistry ?? destinationRegistry, let namespace = defaultNamespace else {
                throw MirrorNamingError(
                    "an empty destination needs --registry and --namespace (or DEFAULT_REGISTRY and DEFAULT_NAMESPACE)")
            }
            let name = source.repository.split(separator: "/").last.map(String.init) ?? source.repository
            return (try Reference(parsing: "\(registry)/\(namespace)/\(name)").withoutIdentifiers, nil)
        }
        var repo = raw
        var tag: String?
        if let colon = raw.lastIndex(of: ":"), !raw[raw.index(after: colon)...].contains("/"),
           raw.contains("/")
        {
            tag = String(raw[raw.index(after: colon)...])
            repo = String(raw[..<colon])
            guard let t = tag, Reference.isValidTag(t) else { throw MirrorNamingError("invalid tag in \"\(raw)\"") }
        }
        if ImageList.namesRegistry(repo) {
            return (try Reference(parsing: repo).withoutIdentifiers, tag)
        }
        guard let registry = destinationRegistry ?? defaultRegistry else {
            throw MirrorNamingError("the destination \"\(raw)\" names no registry and -d/--destination is not set")
        }
        return (try Reference(parsing: "\(registry)/\(repo)").withoutIdentifiers, tag)
    }
}

extension Reference {
    /// The repository alone: no tag, no digest.
    var withoutIdentifiers: Reference { Reference(registry: registry, repository: repository) }
}
