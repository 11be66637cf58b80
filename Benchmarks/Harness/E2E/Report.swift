import Foundation

/// The results as a Markdown table (with the issue's targets checked) and an SVG chart.
struct Report {
    let rows: [Row]
    let corpus: Corpus
    let machine: String
    let command: String

    static func mb(_ bytes: Int64) -> String { String(format: "%.1f", Double(bytes) / 1e6) }

    /// The peer a scenario's dray row is compared with.
    static func peer(of scenario: String) -> String {
        switch scenario {
        case "big": "skopeo"
        case "save": "skopeo ×4 + tar"
        default: "skopeo ×4"
        }
    }

    /// The issue's target for dray's wall time against the peer, as a ratio.
    static func target(_ scenario: String, latency: Int) -> Double? {
        switch (scenario, latency > 0) {
        case ("cold", false): 0.8
        case ("cold", true): 0.5
        case ("noop", true): 0.1
        case ("big", _): 0.9
        case ("small", true): 0.25
        case ("save", _): 0.8
        case ("load", _): 0.6
        default: nil
        }
    }

    func ratio(_ r: Row) -> Double? {
        guard r.tool == "dray", let p = rows.first(where: { $0.scenario == r.scenario && $0.latency == r.latency && $0.tool == Self.peer(of: r.scenario) }),
              p.wall > 0 else { return nil }
        return r.wall / p.wall
    }

    /// Bytes a scenario moves, for CPU per GB.
    func moved(_ r: Row) -> Int64 {
        switch r.scenario {
        case "save": corpus.uniqueBytes
        case "big": corpus.bigSize
        default: r.bytesToDestination
        }
    }

    func markdown() -> String {
        var out = """
            Machine: \(machine)

            Corpus: \(corpus.images) three-platform images (Docker and OCI media types alternating) sharing a base layer per \
            platform, \(Self.mb(corpus.uniqueBytes)) MB of unique blobs; big: one \(Self.mb(corpus.bigSize)) MB layer; small: \
            \(corpus.smallImages) images of a few KB.\(corpus.attached ? " Every corpus image has a Sigstore bundle, an SBOM (referrers, by the fallback tag) and a cosign .sig attached to its index." : "") Each scenario starts from a fresh destination registry.

            Command: `\(command)`

            """
        for latency in Array(Set(rows.map(\.latency))).sorted() {
            out += "\n**Added latency: \(latency) ms each way (\(2 * latency) ms round trips)**\n\n"
            out += "| scenario | tool | wall s | CPU s | CPU s/GB | peak RSS MB | sent to destination MB | requests | dray ÷ peer | target |\n"
            out += "|---|---|---:|---:|---:|---:|---:|---:|---:|---|\n"
            for r in rows where r.latency == latency {
                let gb = Double(moved(r)) / 1e9
                var ratioText = "", targetText = ""
                if let q = ratio(r) {
                    ratioText = String(format: "%.2f", q)
                    if let t = Self.target(r.scenario, latency: latency) {
                        targetText = String(format: "≤ %.2f %@", t, q <= t ? "✅" : "❌")
                    }
                    if r.scenario == "big" { targetText += r.peakRSS <= 48_000_000 ? "; RSS ≤ 48 MB ✅" : "; RSS ≤ 48 MB ❌" }
                }
                let failed = r.failures.isEmpty ? "" : " (FAILED)"
                out += "| \(r.scenario) | \(r.tool)\(failed) | \(String(format: "%.2f", r.wall)) | \(String(format: "%.2f", r.cpu)) | "
                out += "\(gb > 0.01 ? String(format: "%.2f", r.cpu / gb) : "") | \(Self.mb(r.peakRSS)) | "
                out += "\(Self.mb(r.bytesToDestination)) | \(r.requests) | \(ratioText) | \(targetText) |\n"
            }
            let notes = rows.filter { $0.latency == latency && $0.note != nil }
            if !notes.isEmpty { out += "\n" + notes.map { "- \($0.scenario): \($0.note!)\n" }.joined() }
        }
        return out
    }

    /// Horizontal bars of wall time: dray against its peer, per scenario and latency.
    func svg() -> String {
        struct Group { var label: String; var bars: [(String, Double)] }
        var groups: [Group] = []
        for latency in Array(Set(rows.map(\.latency))).sorted() {
            for scenario in ["cold", "noop", "big", "small", "save", "load"] {
                let here = rows.filter { $0.latency == latency && $0.scenario == scenario }
                guard !here.isEmpty else { continue }
                groups.append(Group(label: "\(scenario), \(2 * latency) ms RTT", bars: here.map { ($0.tool, $0.wall) }))
            }
        }
        let barHeight = 16.0, gap = 14.0, left = 170.0, width = 760.0, chart = 460.0
        var y = 40.0
        var body = ""
        for g in groups {
            let longest = max(g.bars.map(\.1).max() ?? 1, 0.001)
            body += "<text x=\"8\" y=\"\(y + barHeight - 3)\" font-weight=\"bold\">\(g.label)</text>\n"
            for (tool, wall) in g.bars {
                let w = max(1, chart * wall / longest)
                let colour = tool == "dray" ? "#2b7bb9" : "#b0b0b0"
                body += "<rect x=\"\(left)\" y=\"\(y)\" width=\"\(String(format: "%.1f", w))\" height=\"\(barHeight)\" fill=\"\(colour)\"/>\n"
                body += "<text x=\"\(left + w + 6)\" y=\"\(y + barHeight - 3)\">\(tool) \(String(format: "%.2f", wall)) s</text>\n"
                y += barHeight + 3
            }
            y += gap
        }
        return """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(y + 10))" font-family="sans-serif" font-size="12">
            <text x="8" y="20" font-size="14" font-weight="bold">Wall time, dray (blue) and skopeo (grey); shorter is better; bars scaled per scenario</text>
            \(body)</svg>

            """
    }
}
