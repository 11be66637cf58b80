/// One of `count` fixed slices of a run's images (`--shard INDEX/COUNT`), so that `count` processes, each given
/// a different index, cover every image exactly once with no coordination between them.
///
/// An image belongs to slice `k` when the first 8 bytes of SHA-256 over its key (the destination reference as
/// text, e.g. `harbor.example.com/library/nginx:1.27`) read as a big-endian integer are `k` modulo `count`. The
/// rule depends on nothing but the key, so every shard of every re-run agrees, whatever the order of the list.
public struct Shard: Sendable, Hashable, CustomStringConvertible {
    /// This process's slice, `0..<count`.
    public let index: Int
    /// How many slices there are.
    public let count: Int

    /// The environment variable an Indexed Job sets to each pod's completion index.
    public static let indexVariable = "JOB_COMPLETION_INDEX"

    public init(index: Int, count: Int) throws(ShardError) {
        guard count >= 1, count <= 100_000 else { throw .invalid("COUNT must be between 1 and 100000") }
        guard (0..<count).contains(index) else { throw .invalid("INDEX must be between 0 and \(count - 1)") }
        self.index = index
        self.count = count
    }

    /// Parses `INDEX/COUNT`, or `auto/COUNT` with the index from `JOB_COMPLETION_INDEX`.
    public init(parsing text: String, environment: [String: String]) throws(ShardError) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let count = Int(parts[1]) else {
            throw .invalid("expected INDEX/COUNT or auto/COUNT, e.g. 0/4")
        }
        let index: Int
        if parts[0] == "auto" {
            guard let value = environment[Self.indexVariable], !value.isEmpty else {
                throw .invalid("auto needs \(Self.indexVariable) in the environment (set by a Kubernetes Indexed Job)")
            }
            guard let i = Int(value) else { throw .invalid("\(Self.indexVariable)=\"\(value.prefix(40))\" is not a number") }
            index = i
        } else {
            guard let i = Int(parts[0]) else { throw .invalid("INDEX must be a number or auto") }
            index = i
        }
        try self.init(index: index, count: count)
    }

    /// The slice `key` falls in, out of `count`.
    public static func slice(of key: String, count: Int) -> Int {
        let d = Digest.sha256(of: Array(key.utf8))
        let prefix = UInt64(d.hex.prefix(16), radix: 16) ?? 0
        return Int(prefix % UInt64(count))
    }

    /// Whether `key` is this shard's.
    public func contains(_ key: String) -> Bool { count == 1 || Self.slice(of: key, count: count) == index }

    /// This shard's share of `items`, by the key each has.
    public func select<T>(_ items: [T], key: (T) -> String) -> [T] {
        count == 1 ? items : items.filter { contains(key($0)) }
    }

    /// `INDEX/COUNT`.
    public var description: String { "\(index)/\(count)" }
}

/// A `--shard` value dray cannot use.
public enum ShardError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalid(String)

    public var description: String {
        switch self {
        case .invalid(let why): "--shard: \(why)"
        }
    }
}
