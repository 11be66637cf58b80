import Engine
import Foundation
import Testing
import TestSupport
import Transports

@Suite("dray bench: transfer strategies on the user's registries")
struct BenchCLITests {
    @Test("every strategy moves every image; the fastest is named; the scratch repositories are deleted; a bad strategy fails at once")
    func strategies() async throws {
        let a = try RegistryServer(), b = try RegistryServer()
        let src = RegistryClient(registry: a.host, options: MirrorCLITests.noAuth)
        let dst = RegistryClient(registry: b.host, options: MirrorCLITests.noAuth)
        let first = try SyntheticImage.index(layers: 1, layerSize: 40_000, seed: 701, sharedBase: [3])
        let second = try SyntheticImage.index(layers: 1, layerSize: 40_000, seed: 702, sharedBase: [3])
        try await SyntheticImage.push(first, to: src, repository: "team/one", tag: "1")
        try await SyntheticImage.push(second, to: src, repository: "team/two", tag: "1")
        let dir = try TemporaryDirectory()
        try "team/one:1\nteam/two:1\n".write(toFile: dir.file("list.txt"), atomically: false, encoding: .utf8)

        let r = try Dray.run(["bench", "-f", dir.file("list.txt"), "-s", a.host, "-d", "\(b.host)/scratch",
                              "--strategies", "default,spool,chunked=1M,no-mount,blobs=2"])
        #expect(r.status == 0, "\(r.stdoutText)\(r.stderr)")
        for s in ["default", "spool", "chunked=1M", "no-mount", "blobs=2"] {
            #expect(r.stdoutText.contains("\n\(s) "), "a row for \(s): \(r.stdoutText)")
        }
        #expect(r.stdoutText.contains("Fastest from \(a.host) to \(b.host): "))
        #expect(r.stdoutText.contains("Scratch repositories deleted"), "\(r.stdoutText)")
        // The scratch tags are gone: every repository the strategies made lists no tags.
        let catalog = try await dst.catalog()
        let scratch = catalog.filter { $0.hasPrefix("scratch/dray-bench-") }
        #expect(scratch.count == 10, "5 strategies × 2 images: \(catalog)")
        for repo in scratch { #expect(((try? await dst.tags(repo)) ?? []).isEmpty, "\(repo) still has tags") }

        let bad = try Dray.run(["bench", "-f", dir.file("list.txt"), "-d", "\(b.host)/scratch", "--strategies", "default,warp"])
        #expect(bad.status != 0 && bad.stderr.contains("unknown strategy \"warp\""), "\(bad.stderr)")
    }
}
