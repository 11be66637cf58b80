extension TagSelection {
    /// Whether a list line names an image with neither tag nor digest (`nginx`, `host:5000/team/app`): the lines
    /// a selection expands.
    public static func isUntagged(_ line: String) -> Bool {
        let fields = line.split(whereSeparator: \.isWhitespace)
        guard fields.count == 1, let last = fields[0].split(separator: "/").last else { return false }
        return !last.contains(":") && !last.contains("@")
    }

    /// Replaces each target whose list line names no tag by one target per selected tag of its source repository
    /// (listed with `listTags`, eight repositories at a time); other targets stay as they are. Image numbers are
    /// given again in order from the first target's. A repository with no selected tag, or whose tags cannot be
    /// listed, becomes an error for its line. `adjust` finishes each new target (a cache names images by their
    /// full source reference, for instance).
    public func expand(_ targets: [MirrorTarget], listTags: @escaping @Sendable (Reference) async throws -> [String],
                       adjust: @escaping @Sendable (MirrorTarget) -> MirrorTarget = { $0 }) async
        -> (targets: [MirrorTarget], errors: [ImageListError])
    {
        enum Outcome: Sendable {
            case kept(MirrorTarget)
            case expanded([MirrorTarget])
            case failed(ImageListError)
        }
        @Sendable func failure(_ t: MirrorTarget, _ reason: String) -> ImageListError {
            let file = t.origin.split(separator: ":").dropLast().joined(separator: ":")
            let number = Int(t.origin.split(separator: ":").last ?? "") ?? 0
            return ImageListError(file: file, lineNumber: number, line: t.line, reason: reason)
        }
        let selection = self
        let outcomes = await targets.concurrentMap(limit: 8) { t -> Outcome in
            guard Self.isUntagged(t.line) else { return .kept(t) }
            do {
                let tags = selection.select(try await listTags(t.source))
                guard !tags.isEmpty else { return .failed(failure(t, "no tag of \(t.source.name) matches \(selection.summary)")) }
                return .expanded(tags.map { tag in
                    var src = t.source, dst = t.destination
                    (src.tag, src.digest, dst.tag, dst.digest) = (tag, nil, tag, nil)
                    return adjust(MirrorTarget(id: 0, source: src, destination: dst, line: src.description, origin: t.origin))
                })
            } catch {
                return .failed(failure(t, "cannot list the tags of \(t.source.name): \(error)"))
            }
        }
        var out: [MirrorTarget] = []
        var errors: [ImageListError] = []
        let first = targets.first?.id ?? 1
        for outcome in outcomes {
            switch outcome {
            case .kept(let t): out.append(t)
            case .expanded(let ts): out += ts
            case .failed(let e): errors.append(e)
            }
        }
        for i in out.indices { out[i].id = first + i }
        return (out, errors)
    }
}
