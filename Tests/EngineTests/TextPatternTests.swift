import Engine
import Testing

/// The regular expressions users give in flags and configs (`--immutable-tags`, `--exclude-tag`, `--filter`,
/// image-syncer's `repo:/regex/`, referrer types, cosign-style identities).
@Suite("Text patterns")
struct TextPatternTests {
    @Test("searched anywhere; anchors, classes, quantifiers, groups, alternation and flags as users write them",
          arguments: [
              (#"^v?[0-9]+\.[0-9]+\.[0-9]+$"#, ["v1.2.3", "10.20.30"], ["1.2", "v1.2.3-rc1", "latest", "v1x2x3"]),
              ("rc", ["1.0-rc1", "rc"], ["1.0", "RC"]),
              ("(?i)^release-", ["Release-1", "release-2"], ["pre-release-1"]),
              (#"^\d{4}-\d{2}-\d{2}$"#, ["2026-12-04"], ["2026-1-04", "x2026-12-04"]),
              ("^(latest|stable)$", ["latest", "stable"], ["latest2", "unstable"]),
              (#"-alpine$|^\w+-slim$"#, ["3.19-alpine", "bookworm-slim"], ["alpine-3", "a.b-slim"]),
              ("^application/vnd\\.dev\\.sigstore\\.bundle", ["application/vnd.dev.sigstore.bundle.v0.3+json"], ["application/spdx+json"]),
              (#"^https://github\.com/org/[^/]+/\.github/workflows/.+@refs/tags/v.*$"#,
               ["https://github.com/org/app/.github/workflows/release.yml@refs/tags/v1.0"],
               ["https://github.com/other/app/.github/workflows/release.yml@refs/tags/v1.0"]),
          ] as [(String, [String], [String])])
    func finds(pattern: String, matching: [String], notMatching: [String]) throws {
        let p = try TextPattern(pattern)
        for s in matching { #expect(p.finds(in: s), "\(pattern) should find in \(s)") }
        for s in notMatching { #expect(!p.finds(in: s), "\(pattern) should not find in \(s)") }
        #expect(p.description == "/\(pattern)/")
    }

    @Test("an invalid expression is refused with a one-line message naming it", arguments: ["(", "[a-", "a{2,1}", "*x"])
    func invalid(pattern: String) {
        #expect(throws: TextPatternError.self) { _ = try TextPattern(pattern) }
        do { _ = try TextPattern(pattern) } catch {
            #expect(error.description == "\"\(pattern)\" is not a valid regular expression")
        }
    }

    @Test("one compiled pattern is matched from many tasks at once")
    func concurrent() async throws {
        let p = try TextPattern(#"^v[0-9]+\.[0-9]+$"#)
        let found = await withTaskGroup(of: Int.self) { group in
            for i in 0..<64 { group.addTask { (0..<200).filter { p.finds(in: "v\(i).\($0)") || p.finds(in: "x\($0)") }.count } }
            return await group.reduce(0, +)
        }
        #expect(found == 64 * 200)
    }
}
