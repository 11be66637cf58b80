import Engine
import Testing

@Suite("Semantic versions, ranges and tag selection")
struct SemverTests {
    @Test("versions parse as tags carry them, and order as semver.org says")
    func ordering() {
        #expect(SemanticVersion("v1.27.3") == SemanticVersion(major: 1, minor: 27, patch: 3))
        #expect(SemanticVersion("1.2")?.parts == 2)
        for bad in ["latest", "1.2.3.4", "01.2", "1..2", "1.2.3-", "1.2.3-01", "", "v", "1.2.3+", "main-1.2"] {
            #expect(SemanticVersion(bad) == nil, "\(bad)")
        }
        // The precedence example of semver.org, item 11.
        let chain = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11",
                     "1.0.0-rc.1", "1.0.0", "1.0.1", "1.1.0", "2.0.0"].map { SemanticVersion($0)! }
        for (a, b) in zip(chain, chain.dropFirst()) { #expect(a < b, "\(a) < \(b)") }
        #expect(SemanticVersion("1.2.3+build.5") == SemanticVersion("1.2.3"))
    }

    @Test("ranges", arguments: [
        (">=1.2 <2", ["1.2.0", "1.9.9", "1.10.0"], ["1.1.9", "2.0.0", "2.0.0-rc.1", "1.5.0-beta"]),
        ("~1.2", ["1.2.0", "1.2.9"], ["1.3.0", "1.1.0"]),
        ("~1.2.3", ["1.2.3", "1.2.10"], ["1.3.0", "1.2.2"]),
        ("^1.2.3", ["1.2.3", "1.9.0"], ["2.0.0", "1.2.2"]),
        ("^0.2.3", ["0.2.3", "0.2.9"], ["0.3.0"]),
        ("^0.0.3", ["0.0.3"], ["0.0.4"]),
        ("1.2.x", ["1.2.0", "1.2.7"], ["1.3.0"]),
        ("1.x || >=3.1", ["1.0.0", "1.99.0", "3.1.0", "4.0.0"], ["2.0.0", "3.0.9"]),
        ("1.2 - 1.4", ["1.2.0", "1.4.9"], ["1.5.0", "1.1.9"]),
        ("<=1.2", ["1.2.9", "0.1.0"], ["1.3.0"]),
        (">1.2", ["1.3.0"], ["1.2.9"]),
        ("*", ["0.0.1", "9.9.9"], ["1.0.0-rc.1"]),
        (">=1.0.0-rc.1 <1.1", ["1.0.0-rc.2", "1.0.0", "1.0.5"], ["1.0.1-rc.1", "1.0.0-beta"]),
        (">= 1.2 < 2", ["1.5.0"], ["2.1.0"]),
    ])
    func ranges(range: String, inside: [String], outside: [String]) throws {
        let r = try SemverRange(range)
        for v in inside { #expect(r.contains(SemanticVersion(v)!), "\(v) in \(range)") }
        for v in outside { #expect(!r.contains(SemanticVersion(v)!), "\(v) not in \(range)") }
    }

    @Test("bad ranges are refused with the part that is wrong")
    func badRanges() {
        #expect(throws: SemverRangeError.invalid(">=one", "not a version")) { try SemverRange(">=one <2") }
        #expect(throws: SemverRangeError.self) { try SemverRange("1.2 ||") }
    }

    @Test("a selection excludes first, keeps versions in range, newest first, the latest N")
    func selection() throws {
        let tags = ["latest", "1.25.0", "v1.26.1", "1.26.0", "1.27.0-rc.1", "1.24.9", "1.26.1-alpine", "2.0.0", "main"]
        #expect(try TagSelection(range: SemverRange(">=1.25 <2")).select(tags) == ["v1.26.1", "1.26.0", "1.25.0"])
        #expect(try TagSelection(latest: 2).select(tags) == ["2.0.0", "v1.26.1"], "pre-releases and variants only when a range names them")
        #expect(try TagSelection(latest: 2, excluded: ["^2\\."]).select(tags) == ["v1.26.1", "1.26.0"])
        #expect(try TagSelection(range: SemverRange(">=1.27.0-rc.0 <1.28")).select(tags) == ["1.27.0-rc.1"])
        #expect(try TagSelection(excluded: ["alpine$", "^main$"]).select(tags) == ["latest", "1.25.0", "v1.26.1", "1.26.0", "1.27.0-rc.1", "1.24.9", "2.0.0"])
        #expect(throws: TagSelectionError.self) { try TagSelection(latest: 0) }
        #expect(throws: TagSelectionError.self) { try TagSelection(excluded: ["("]) }
    }
}
