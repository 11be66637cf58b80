import Engine
import Testing

@Suite("Load plans: matching a list against saved names")
struct LoadPlanTests {
    static func plan(_ saved: [String], list: String, sourceRegistry: String? = nil) -> LoadPlan {
        LoadPlan(saved: saved, origin: "s.tar.gz", list: (file: "l.txt", text: list), sourceRegistry: sourceRegistry,
                 destination: "harbor.local", project: nil, skipped: { _ in })
    }

    @Test("exact names, --source-registry, the one image of another registry; the user's lines and line numbers")
    func matching() {
        let saved = ["mirror.example.com/library/nginx:1.25", "mirror.example.com/library/nginx:sha256-\(String(repeating: "a", count: 64)).sig",
                     "docker.io/team/app:1"]
        let p = Self.plan(saved, list: "# images\nnginx:1.25\nteam/app:1\nabsent:2\n")
        #expect(p.targets.map(\.source.description) == ["mirror.example.com/library/nginx:1.25", "docker.io/team/app:1"])
        #expect(p.targets.map(\.line) == ["nginx:1.25", "team/app:1"])
        #expect(p.targets.map(\.origin) == ["l.txt:2", "l.txt:3"])
        #expect(p.targets.map(\.destination.description) == ["harbor.local/library/nginx:1.25", "harbor.local/team/app:1"])
        #expect(p.missing.map(\.line) == ["absent:2"])
        #expect(p.missing.first?.error == "l.txt:4: docker.io/library/absent:2 is not in s.tar.gz")
        #expect(p.missing.first?.id == 3 && p.count == 3)
        #expect(p.names.count == 3, "signature entries are looked up, not loaded as images")

        let flagged = Self.plan(saved, list: "nginx:1.25\n", sourceRegistry: "mirror.example.com")
        #expect(flagged.targets.map(\.source.registry) == ["mirror.example.com"] && flagged.missing.isEmpty)
    }

    @Test("the same repository and tag under two registries needs --source-registry")
    func ambiguous() {
        let saved = ["a.example.com/library/nginx:1.25", "b.example.com/library/nginx:1.25"]
        let p = Self.plan(saved, list: "nginx:1.25\n")
        #expect(p.targets.isEmpty)
        #expect(p.missing.first?.error?.contains("several registries (a.example.com, b.example.com); pass --source-registry") == true)
        let q = Self.plan(saved, list: "nginx:1.25\n", sourceRegistry: "b.example.com")
        #expect(q.targets.map(\.source.description) == ["b.example.com/library/nginx:1.25"])
    }
}
