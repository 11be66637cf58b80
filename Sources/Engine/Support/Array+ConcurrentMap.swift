extension Array where Element: Sendable {
    /// `body` applied to every element, at most `limit` at a time, the results in the elements' order.
    public func concurrentMap<T: Sendable>(limit: Int, _ body: @escaping @Sendable (Element) async -> T) async -> [T] {
        await withTaskGroup(of: (Int, T).self) { group in
            var next = 0
            var out = [T?](repeating: nil, count: count)
            func admit() {
                guard next < count else { return }
                let (i, element) = (next, self[next])
                next += 1
                group.addTask { (i, await body(element)) }
            }
            for _ in 0..<Swift.max(1, limit) { admit() }
            while let (i, value) = await group.next() {
                out[i] = value
                admit()
            }
            return out.map { $0! }
        }
    }
}
