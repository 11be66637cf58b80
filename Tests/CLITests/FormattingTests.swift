import Foundation
import Testing
@testable import CLI

@Suite("Number formatting in log lines")
struct FormattingTests {
    @Test("fixed decimals print what printf's %.Nf prints")
    func fixedMatchesPrintf() {
        var values: [Double] = [0, 0.004, 0.005, 0.015, 0.994, 0.995, 1, 1.25, 9.999, 10, 123.456, 1e6 + 0.5, -0.001, -2.345]
        var x: UInt64 = 12345
        for _ in 0..<500 {
            x = x &* 6364136223846793005 &+ 1442695040888963407
            values.append(Double(x >> 11) / Double(1 << 53) * 5000)
        }
        for v in values {
            for places in 0...3 {
                // Binary doubles that sit exactly on a rounding tie may round either way; skip those.
                let scaled = abs(v) * pow(10, Double(places))
                if abs(scaled - scaled.rounded(.down) - 0.5) < 1e-9 { continue }
                #expect(v.fixed(places) == String(format: "%.\(places)f", v), "\(v) with \(places) places")
            }
        }
    }

    @Test("byte counts in human units")
    func humanBytes() {
        #expect(Int64(999).humanBytes == "999 B")
        #expect(Int64(315_100_000).humanBytes == "315.1 MB")
        #expect(Int64(1_000_000_000).humanBytes == "1.0 GB")
    }
}
