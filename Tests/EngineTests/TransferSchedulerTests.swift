@testable import Engine
import Testing

/// The blob slots follow the link: more flows only where each flow gets a small share of a slow link.
@Suite("Transfer scheduler and flow share")
struct TransferSchedulerTests {
    @Test("slow flows are recognised from the upper median of the last four (from the second on), fast ones clear it, small transfers do not count")
    func verdicts() {
        var share = FlowShare()
        // Small transfers (a config, a manifest-sized blob) are round trips, not flows.
        for _ in 0..<8 { #expect(share.record(bytes: 100_000, seconds: 1) == nil) }
        // One slow flow is not yet a verdict; the second is, and one fast flow of two is not.
        #expect(share.record(bytes: 4_900_000, seconds: 1.6) == nil)
        #expect(share.record(bytes: 4_900_000, seconds: 1.6) == true)
        var other = FlowShare()
        _ = other.record(bytes: 4_900_000, seconds: 1.6)
        #expect(other.record(bytes: 4_900_000, seconds: 0.1) != true)
        for _ in 0..<2 { #expect(share.record(bytes: 4_900_000, seconds: 1.6) == true) }
        // One fast outlier does not move the median.
        #expect(share.record(bytes: 4_900_000, seconds: 0.01) == true)
        // Between the thresholds (12 MB/s) the verdict stands.
        for _ in 0..<4 { #expect(share.record(bytes: 12_000_000, seconds: 1) == nil) }
        // Fast flows (loopback: tens of MB/s) clear it.
        var verdicts: [Bool?] = []
        for _ in 0..<4 { verdicts.append(share.record(bytes: 4_900_000, seconds: 0.05)) }
        #expect(verdicts.last == false)
    }

    @Test("loopback-fast flows never add slots")
    func fastStays() {
        var share = FlowShare()
        for _ in 0..<20 { #expect(share.record(bytes: 4_900_000, seconds: 0.15) != true) }
    }

    @Test("slow transfers raise the bound to the ceiling and start waiting transfers; a fixed bound never moves")
    func raises() async throws {
        for ceiling in [4, nil] as [Int?] {
            let pool = TransferScheduler(limit: 2, ceiling: ceiling)
            let running = Locked((now: 0, peak: 0))
            // 1 MiB in at least 0.3 s is under 8 MB/s, however slow the machine is.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<12 {
                    group.addTask {
                        try await pool.run(size: 1 << 20) {
                            running.withLock { $0.now += 1; $0.peak = max($0.peak, $0.now) }
                            try await Task.sleep(for: .milliseconds(300))
                            running.withLock { $0.now -= 1 }
                        }
                    }
                }
                try await group.waitForAll()
            }
            let limit = await pool.limit
            let peak = running.withLock { $0.peak }
            if let ceiling {
                #expect(limit == ceiling)
                #expect(peak == ceiling)
            } else {
                #expect(limit == 2)
                #expect(peak == 2)
            }
        }
    }
}

/// `bodySent()` frees a transfer's slot before the transfer returns.
@Suite("Transfer scheduler: a slot freed when the body is sent")
struct TransferSchedulerBodySentTests {
    @Test("behind a slow link, a transfer that has sent its body lets the next one start while it waits for the confirmation")
    func early() async throws {
        let pool = TransferScheduler(limit: 1, ceiling: 2)
        // Four slow flows (1 MiB in at least 0.3 s): the bound rises to 2.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<4 { group.addTask { try await pool.run(size: 1 << 20) { try await Task.sleep(for: .milliseconds(300)) } } }
            try await group.waitForAll()
        }
        #expect(await pool.limit == 2)
        // One transfer holds a slot throughout; the first below takes the other.
        let hold = Locked(true)
        let holders = Task {
            try await pool.run(size: 1) { while hold.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(5)) } }
        }
        while await pool.load.active < 1 { try await Task.sleep(for: .milliseconds(1)) }
        let state = Locked((sent: false, secondRan: false, secondRanFirst: false))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await pool.run(size: 10) {
                    await TransferScheduler.bodySent()
                    state.withLock { $0.sent = true }
                    // The destination's confirmation: it comes once the second transfer ran (or after 10 s, when
                    // the slot was never freed and the second transfer is still waiting for it).
                    for _ in 0..<2_000 where !state.withLock({ $0.secondRan }) { try await Task.sleep(for: .milliseconds(5)) }
                    state.withLock { $0.secondRanFirst = $0.secondRan }
                }
            }
            group.addTask {
                while !state.withLock({ $0.sent }) { try await Task.sleep(for: .milliseconds(1)) }
                try await pool.run(size: 5) { state.withLock { $0.secondRan = true } }
            }
            try await group.waitForAll()
        }
        #expect(state.withLock { $0.secondRanFirst })
        hold.withLock { $0 = false }
        try await holders.value
        // The first transfer's return released nothing twice: nothing is held, and both slots are free.
        let load = await pool.load
        #expect(load.active == 0 && load.waiting == 0)
        async let a: Void = pool.run(size: 1) { try await Task.sleep(for: .milliseconds(20)) }
        async let b: Void = pool.run(size: 1) { try await Task.sleep(for: .milliseconds(20)) }
        _ = try await (a, b)
        #expect(await pool.load.active == 0)
    }

    @Test("with flows fast, or a fixed bound, a transfer keeps its slot until it returns")
    func kept() async throws {
        let pool = TransferScheduler(limit: 1, ceiling: 2)
        let secondRan = Locked(false)
        let sawSecond = Locked(false)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await pool.run(size: 10) {
                    await TransferScheduler.bodySent()
                    try await Task.sleep(for: .milliseconds(200))
                    sawSecond.withLock { $0 = secondRan.withLock { $0 } }
                }
            }
            group.addTask {
                while await pool.load.active == 0 { try await Task.sleep(for: .milliseconds(1)) }
                try await pool.run(size: 5) { secondRan.withLock { $0 = true } }
            }
            try await group.waitForAll()
        }
        #expect(!sawSecond.withLock { $0 })
    }
}
