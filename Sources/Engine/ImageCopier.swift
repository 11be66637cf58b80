import Logging

/// Settings for one image copy.
public struct CopyOptions: Sendable {
    /// Which platforms of an index to copy.
    public var platforms: PlatformFilter = .all
    /// Blob transfers in flight at once.
    public var blobConcurrency: Int = 6
    /// Retries of a blob or manifest after a temporary failure.
    public var retries: Int = 3
    /// First retry delay; doubled each time, with jitter.
    public var retryDelay: Duration = .milliseconds(500)
    /// Who hashes blobs streamed into a registry (see `BlobCheck`).
    public var blobCheck: BlobCheck = .auto

    public init() {}
}

/// Copies one image (a single manifest or a whole index) from a source to a destination, preserving digests.
///
/// Order: plan (fetch and verify every manifest), then blobs (largest first, bounded concurrency, each checked
/// while it streams), then child manifests by digest, and the tag last, so a tag never names partial content.
public struct ImageCopier: Sendable {
    public let source: any ImageSource
    public let destination: any ImageDestination
    public let options: CopyOptions
    public let logger: Logger

    public init(source: any ImageSource, destination: any ImageDestination, options: CopyOptions = CopyOptions(),
                logger: Logger = Logger(label: "dray.copy")) {
        self.source = source
        self.destination = destination
        self.options = options
        self.logger = logger
    }

    /// Copies the manifest named `from` in the source to `to` in the destination.
    public func copy(from: ManifestIdentifier, to: ManifestIdentifier) async throws -> CopyReport {
        let plan = try await self.plan(from)
        return try await execute(plan, to: to)
    }

    /// Fetches and checks every manifest and works out the blobs to move.
    public func plan(_ identifier: ManifestIdentifier) async throws -> ImagePlan {
        let top = try await retrying("manifest \(identifier)") { try await source.manifest(identifier) }
        if case .schema1 = try top.parsed() { throw CopyError.schema1("\(source.location):\(identifier)") }
        let selection = try await PlatformSelection.decide(top, pinned: identifier.isDigest, filter: options.platforms,
                                                           config: readConfig)
        if let why = selection.notApplied { logger.info("\(source.location)@\(top.digest): \(why)") }
        var children: [RawManifest] = []
        var blobs: [Digest: Descriptor] = [:]
        switch try top.parsed() {
        case .image(let m):
            for b in m.blobs where !b.isForeign { blobs[b.digest] = b }
        default:
            // Fetch the children concurrently; nested indexes are taken whole.
            let selected = selection.children
            children = try await withThrowingTaskGroup(of: (Int, [RawManifest]).self) { group in
                for (i, d) in selected.enumerated() {
                    group.addTask { (i, try await self.fetchTree(d.digest, depth: 1)) }
                }
                var out = [[RawManifest]](repeating: [], count: selected.count)
                for try await (i, ms) in group { out[i] = ms }
                return out.flatMap { $0 }
            }
            for child in children {
                if case .image(let m) = try child.parsed() {
                    for b in m.blobs where !b.isForeign { blobs[b.digest] = b }
                }
            }
        }
        let written = selection.written
        let platforms = selection.platforms
        let filtered = selection.rewritten
        let ordered = blobs.values.sorted { $0.size != $1.size ? $0.size > $1.size : $0.digest < $1.digest }
        return ImagePlan(top: written, sourceDigest: top.digest, children: children, blobs: ordered,
                         platforms: platforms, filtered: filtered)
    }

    /// An image config, read whole (for the platform of a single-platform image).
    @Sendable private func readConfig(_ config: Descriptor) async throws -> [UInt8] {
        try await retrying("config \(config.digest)") { try await source.smallBlob(config) }
    }

    /// A manifest by digest and, when it is an index, all manifests below it (children before parents).
    private func fetchTree(_ digest: Digest, depth: Int) async throws -> [RawManifest] {
        guard depth <= 4 else { throw CopyError.tooDeep }
        let m = try await retrying("manifest \(digest)") { try await source.manifest(.digest(digest)) }
        switch try m.parsed() {
        case .schema1: throw CopyError.schema1("\(source.location)@\(digest)")
        case .image: return [m]
        case .index(let index):
            var all: [RawManifest] = []
            for d in index.manifests { all += try await fetchTree(d.digest, depth: depth + 1) }
            return all + [m]
        }
    }

    /// Moves a planned image.
    public func execute(_ plan: ImagePlan, to identifier: ManifestIdentifier) async throws -> CopyReport {
        var report = CopyReport(digest: plan.top.digest, mediaType: plan.top.mediaType,
                                manifests: plan.children.count + 1, blobsCopied: 0, blobsMounted: 0, blobsPresent: 0,
                                bytesCopied: 0, filtered: plan.filtered)
        try await withThrowingTaskGroup(of: BlobOutcome.self) { group in
            var pending = plan.blobs[...]
            func startNext() {
                guard let d = pending.popFirst() else { return }
                group.addTask {
                    try await self.retrying("blob \(d.digest)") {
                        try await BlobTransfer.ensure(d, from: self.source, to: self.destination, check: self.options.blobCheck)
                    }
                }
            }
            for _ in 0..<max(1, options.blobConcurrency) { startNext() }
            while let outcome = try await group.next() {
                switch outcome {
                case .copied(let bytes):
                    report.blobsCopied += 1
                    report.bytesCopied += bytes
                case .mounted: report.blobsMounted += 1
                case .present: report.blobsPresent += 1
                }
                startNext()
            }
        }
        // Children by digest (each only after all blobs are in), then the top manifest.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for child in plan.children {
                group.addTask {
                    try await self.retrying("put manifest \(child.digest)") {
                        try await self.destination.putManifest(child, as: .digest(child.digest))
                    }
                }
            }
            try await group.waitForAll()
        }
        try await retrying("put manifest \(identifier)") {
            try await destination.putManifest(plan.top, as: identifier)
        }
        return report
    }

    /// Runs `body`, retrying temporary failures with exponential backoff and jitter.
    func retrying<T: Sendable>(_ what: String, _ body: () async throws -> T) async throws -> T {
        try await Retrier(attempts: options.retries, firstDelay: options.retryDelay, logger: logger).run(what, body)
    }
}
