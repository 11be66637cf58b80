import ArgumentParser
import Engine
import FoundationEssentials
import Logging
import Transports

/// `dray registries`: the profile in force for registry hosts, and where each value came from.
struct RegistriesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "registries",
        abstract: "Show the registry profile in force for hosts (kind, limits, upload mode, mounts, …) and where each value comes from.",
        discussion: """
            Values come from flags first, then the profile file (--registries-config, else \
            $XDG_CONFIG_HOME/dray/registries.yaml), then what dray knows of the host's kind, then defaults. \
            With --probe, dray asks each host what can be learned at once (is it answering, does it ask for \
            credentials, is it a Harbor). Without hosts: every host the file names.

            Examples:
              dray registries docker.io ghcr.io
              dray registries harbor.example.com --probe --registries-config registries.yaml
            """,
        aliases: ["info"])

    @Argument(help: ArgumentHelp("Registry hosts (host or host:port).", valueName: "host"))
    var hosts: [String] = []

    @Flag(name: .long, help: "Ask each host what can be learned now: whether it answers, its authentication, whether it is a Harbor.")
    var probe = false

    @Option(name: .long, help: ArgumentHelp("Output format: text or json.", valueName: "format"))
    var output: String = "text"

    @OptionGroup var access: SingleRegistryOptions
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try await reportingErrors {
            guard output == "text" || output == "json" else { throw CLIError("--output: \"\(output.prefix(40))\" is not text or json") }
            let options = try access.registryOptions()
            let profiles = options.profiles
            var names = hosts
            if names.isEmpty { names = profiles.file?.entries.map(\.pattern) ?? [] }
            guard !names.isEmpty else {
                throw CLIError("name a host (dray registries HOST), or give a --registries-config file that names some")
            }
            var out: [(host: String, settings: [(key: String, value: String, from: String)], probe: [String: String]?)] = []
            for host in names {
                guard (try? Reference(parsing: "\(host)/x/y"))?.registry == host || host.hasPrefix("*.") else {
                    throw CLIError("\"\(host.prefix(200))\" is not a registry host")
                }
                let resolved = profiles.resolve(host)
                var fields: [(key: String, value: String, from: String)] = []
                for field in RegistryProfile.Field.allCases {
                    let (value, origin) = Self.shown(field, resolved, host: host)
                    fields.append((field.rawValue, value, origin))
                }
                var probed: [String: String]?
                if probe, !host.hasPrefix("*.") {
                    probed = await Self.probe(host, options: options, logger: global.makeLogger("dray.registries"))
                }
                out.append((host, fields, probed))
            }
            if output == "json" {
                let json = JSONValue.array(out.map { entry in
                    var o: [String: JSONValue] = [
                        "host": .string(entry.host),
                        "settings": .array(entry.settings.map { ["key": .string($0.key), "value": .string($0.value), "from": .string($0.from)] }),
                    ]
                    if let p = entry.probe { o["probe"] = .object(p.mapValues(JSONValue.string)) }
                    return .object(o)
                })
                print(json.serializedText(.pretty))
                return
            }
            for entry in out {
                print(entry.host)
                for f in entry.settings {
                    print("  \(f.key.padded(to: 18)) \(f.value.padded(to: 22)) \(f.from)")
                }
                if let probe = entry.probe {
                    for (k, v) in probe.sorted(by: { $0.key < $1.key }) { print("  probe: \(k) = \(v)") }
                }
            }
        }
    }

    /// A field's value in force and where it came from (defaults spelled out).
    static func shown(_ field: RegistryProfile.Field, _ r: RegistryProfiles.Resolved, host: String) -> (String, String) {
        if let v = r.profile.value(field) { return (v, r.origins[field]?.description ?? "default") }
        let d: String = switch field {
        case .kind: "distribution"
        case .apiHost: host
        case .tlsVerify: "true"
        case .certDir: "/etc/docker/certs.d"
        case .authFile: "(standard auth files)"
        case .credentialHelper: "(as the auth files say)"
        case .maxConnections: "unlimited"
        case .requestsPerSecond: "unlimited"
        case .upload: "monolithic"
        case .chunkSize: "-"
        case .mount: "auto"
        case .referrers: "auto (--referrers-mode)"
        case .tagPageSize: "1000"
        case .blobCheck: "mount (a mount from the same repository)"
        case .rateLimitMin: "10"
        }
        return (d, "default")
    }

    /// What the host answers now.
    static func probe(_ host: String, options: RegistryOptions, logger: Logger) async -> [String: String] {
        let client = RegistryClient(registry: host, options: options, http: HTTPClient(logger: logger))
        var out: [String: String] = [:]
        do {
            let base = try await client.baseURL()
            out["api"] = base.absoluteString
            out["credentials"] = try await client.checkCredentials() ? "asked for" : "not asked for"
        } catch {
            out["answers"] = "no: \(error)"
            return out
        }
        out["harbor"] = ((try? await client.isHarbor()) ?? false) ? "yes (GET /api/v2.0/ping answered 200)" : "no"
        return out
    }
}
