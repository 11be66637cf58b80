/// Whether blob flows are slow because they share a slow link, from the rates of the transfers that finish.
///
/// On loopback, a LAN or a fast link each flow of a cold mirror moves tens of MB/s (16–33 MB/s on loopback at
/// 20 ms round trips) and more flows in flight only cost memory (about 0.4 MB each: the splice ring and curl's
/// buffers). Behind a slow link, say 200 Mbit/s or 50 Mbit/s with 40–100 ms round trips, each of 8 flows gets
/// 0.8–3 MB/s; the round trips between one blob and the next, and a flow backing off after a loss at the link's
/// queue, then leave part of the link unused that the other flows do not take up in time. Twice the flows kept
/// such links within 1.12–1.16× of their time for the bytes, against 1.17–1.22× with 8; three times the flows
/// (24) within 1.11–1.14× (the `wan` benchmark, 200 and 50 Mbit/s, three runs each; four times: 1.11–1.13× for
/// 2 MB more memory).
///
/// Only transfers of at least `minimumBytes` count (small ones are round trips, not flows). The verdict is the
/// upper median rate of the last `window` (of the last two, the faster), from the second transfer on: slow
/// under `slowBelow` bytes/s, fast again over `fastAbove` (with more flows each one's share halves, so the gap
/// between the two keeps the bound from flapping).
struct FlowShare: Sendable {
    static let minimumBytes: Int64 = 1 << 20
    static let window = 4
    static let first = 2
    static let slowBelow = 8e6
    static let fastAbove = 20e6

    private var rates: [Double] = []

    /// The upper median rate of the last `window` transfers, bytes/s (0 until `first` have finished).
    private(set) var median: Double = 0

    /// Records a finished transfer; returns whether flows are slow once enough have finished, nil until then or
    /// while the median sits between the thresholds.
    mutating func record(bytes: Int64, seconds: Double) -> Bool? {
        guard bytes >= Self.minimumBytes, seconds > 0 else { return nil }
        rates.append(Double(bytes) / seconds)
        if rates.count > Self.window { rates.removeFirst() }
        guard rates.count >= Self.first else { return nil }
        median = rates.sorted()[rates.count / 2]
        if median < Self.slowBelow { return true }
        if median > Self.fastAbove { return false }
        return nil
    }
}
