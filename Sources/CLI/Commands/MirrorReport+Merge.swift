import Engine

extension MirrorReport {
    /// What merging found wrong without making the merge impossible: shards that are missing.
    struct MergeGaps {
        var missingShards: [Int] = []
        var count: Int?
    }

    /// One report from the reports of a sharded run (`dray report merge`): the images of all, totals recounted,
    /// the slowest shard's time, requests and throttling per registry added up (peak concurrency: the highest).
    /// Reports of shards must be of one COUNT, each INDEX once, and no image in two of them.
    static func merge(_ inputs: [(path: String, report: MirrorReport)]) throws -> (MirrorReport, MergeGaps) {
        var gaps = MergeGaps()
        let shards = try inputs.map { input -> Shard? in
            guard let s = input.report.shard else { return nil }
            do { return try Shard(parsing: s, environment: [:]) } catch {
                throw CLIError("\(input.path): its shard \"\(s.prefix(40))\" is not INDEX/COUNT")
            }
        }
        let sharded = shards.allSatisfy { $0 != nil }
        if sharded, let first = shards.first ?? nil {
            var seen: [Int: String] = [:]
            for (input, s) in zip(inputs, shards.compactMap { $0 }) {
                guard s.count == first.count else {
                    throw CLIError("\(input.path) is shard \(s) but \(inputs[0].path) is shard \(first): one run's reports have one COUNT")
                }
                if let other = seen[s.index] {
                    throw CLIError("\(input.path) and \(other) are both shard \(s)")
                }
                seen[s.index] = input.path
            }
            gaps.count = first.count
            gaps.missingShards = (0..<first.count).filter { seen[$0] == nil }
        } else if shards.contains(where: { $0 != nil }) {
            let plain = inputs[shards.firstIndex { $0 == nil }!].path
            throw CLIError("\(plain) is not from a sharded run but other reports are; merge the reports of one run")
        }

        var images: [MirrorResult] = []
        var owner: [Int: String] = [:]
        var invalid: [String] = []
        var registries: [String: RegistryStats] = [:]
        var seconds = 0.0
        for input in inputs {
            for image in input.report.images {
                if sharded {
                    if let other = owner[image.id] {
                        throw CLIError("image \(image.id) (\(image.destination)) is in both \(other) and \(input.path): the shards overlap")
                    }
                    owner[image.id] = input.path
                }
                images.append(image)
            }
            invalid += input.report.invalidLines
            seconds = max(seconds, input.report.summary.seconds)
            for (host, stats) in input.report.registries {
                var sum = registries[host] ?? RegistryStats(requests: 0, peakConcurrent: 0, throttled: 0)
                sum.requests += stats.requests
                sum.throttled += stats.throttled
                if let p = stats.pauses { sum.pauses = (sum.pauses ?? 0) + p }
                sum.peakConcurrent = max(sum.peakConcurrent, stats.peakConcurrent)
                registries[host] = sum
            }
        }
        if sharded { images.sort { $0.id < $1.id } }
        let merged = MirrorReport(summary: MirrorSummary(images, invalidLines: invalid.count, seconds: seconds), images: images, invalidLines: invalid,
                                  registries: registries, shard: nil,
                                  shards: sharded ? shards.compactMap { $0?.description } : nil)
        return (merged, gaps)
    }
}
