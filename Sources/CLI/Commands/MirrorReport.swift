import Engine
import FoundationEssentials

/// The JSON report of a run (`--report`): every image, the totals, and what each registry saw.
struct MirrorReport: Codable {
    /// Requests the run made to one registry (existence checks included), as the rate limiter counted them.
    struct RegistryStats: Codable, Equatable {
        var requests: Int
        var peakConcurrent: Int
        var throttled: Int
        /// Host-wide pauses (a 429, `Retry-After`, or a burst of 503s); isolated 503s are retried alone.
        var pauses: Int? = nil
        /// What the run learned about the registry (mounts off, an upload mode, Harbor, …), one line each.
        var learned: [String]? = nil
        /// The last `RateLimit-Remaining` / `RateLimit-Limit` the registry announced.
        var rateLimitRemaining: Int? = nil
        var rateLimitLimit: Int? = nil
    }

    var summary: MirrorSummary
    var images: [MirrorResult]
    var invalidLines: [String]
    var registries: [String: RegistryStats]
    /// `INDEX/COUNT` when the run was one shard (`--shard`); for a merged report, absent.
    var shard: String?
    /// The shards a merged report was made from (`dray report merge`).
    var shards: [String]?

    func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let json = String(decoding: try encoder.encode(self), as: UTF8.self)
        try AtomicFile.write(Secrets.redact(json) + "\n", to: path)
    }

    /// Reads a report written by `--report`.
    static func read(from path: String) throws -> MirrorReport {
        let text: String
        do { text = try TextFile.read(path, limit: 512 << 20) } catch { throw CLIError("\(path): \(error)") }
        do { return try JSONDecoder().decode(MirrorReport.self, from: Data(text.utf8)) } catch {
            throw CLIError("\(path): not a dray report (\(Self.describe(error)))")
        }
    }

    /// A decoding error in a few words: which field, what was wrong.
    static func describe(_ error: any Error) -> String {
        func path(_ keys: [any CodingKey]) -> String {
            keys.isEmpty ? "the top level" : keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
        }
        switch error as? DecodingError {
        case .keyNotFound(let key, let c)?: return "\(path(c.codingPath + [key])) is missing"
        case .typeMismatch(_, let c)?, .valueNotFound(_, let c)?: return "\(path(c.codingPath)) has the wrong type"
        case .dataCorrupted(let c)?: return c.codingPath.isEmpty ? "invalid JSON" : "\(path(c.codingPath)) is invalid"
        default: return "invalid JSON"
        }
    }
}
