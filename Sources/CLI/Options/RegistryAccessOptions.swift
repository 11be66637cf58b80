import ArgumentParser
import Engine
import FoundationEssentials
import Transports

/// TLS and credential options for a source and a destination registry (skopeo's spellings; `--tls-verify` as
/// Hangar's, applying to both sides).
struct RegistryAccessOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Require HTTPS and verify certificates (both sides); false allows plain HTTP and self-signed certificates.", valueName: "bool"))
    var tlsVerify: Bool?

    @Option(name: .long, help: ArgumentHelp("TLS verification for the source only.", valueName: "bool"))
    var srcTlsVerify: Bool?

    @Option(name: .long, help: ArgumentHelp("TLS verification for the destination only.", valueName: "bool"))
    var destTlsVerify: Bool?

    @Option(name: .long, help: ArgumentHelp("Folder of per-registry certificate folders (<dir>/<host[:port]>/*.crt, *.cert, *.key) (default: /etc/docker/certs.d).", valueName: "dir"))
    var certDir: String?

    @OptionGroup var hosts: HostOptions

    @Option(name: .long, help: ArgumentHelp("Source registry credentials.", valueName: "user:password"))
    var srcCreds: String?

    @Option(name: .long, help: ArgumentHelp("Destination registry credentials.", valueName: "user:password"))
    var destCreds: String?

    @Option(name: .long, help: ArgumentHelp("File holding the source credentials as user:password.", valueName: "file"))
    var srcCredsFile: String?

    @Option(name: .long, help: ArgumentHelp("File holding the destination credentials as user:password.", valueName: "file"))
    var destCredsFile: String?

    @Option(name: .long, help: ArgumentHelp("Auth file to search before the default ones (docker config.json / containers auth.json format).", valueName: "file"))
    var authfile: String?

    enum Side { case source, destination }

    /// Registry options for one side.
    func registryOptions(_ side: Side) throws -> RegistryOptions {
        let verify: Bool?
        let inline: String?
        let file: String?
        let flag: String
        switch side {
        case .source:
            verify = srcTlsVerify ?? tlsVerify
            inline = srcCreds
            file = srcCredsFile
            flag = srcCreds != nil ? "--src-creds" : "--src-creds-file"
        case .destination:
            verify = destTlsVerify ?? tlsVerify
            inline = destCreds
            file = destCredsFile
            flag = destCreds != nil ? "--dest-creds" : "--dest-creds-file"
        }
        return try makeRegistryOptions(verify: verify, inline: inline, file: file, flag: flag, certDir: certDir,
                                       authfile: authfile, run: try hosts.run())
    }
}

/// TLS options for a command that talks to one registry: `--tls-verify` and `--cert-dir`.
struct RegistryTLSOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Require HTTPS and verify certificates; false allows plain HTTP and self-signed certificates.", valueName: "bool"))
    var tlsVerify: Bool?

    @Option(name: .long, help: ArgumentHelp("Folder of per-registry certificate folders (default: /etc/docker/certs.d).", valueName: "dir"))
    var certDir: String?

    @OptionGroup var hosts: HostOptions
}

/// TLS and credential options for a command that talks to one registry (skopeo inspect's spellings).
struct SingleRegistryOptions: ParsableArguments {
    @OptionGroup var tls: RegistryTLSOptions

    @Option(name: .long, help: ArgumentHelp("Registry credentials.", valueName: "user:password"))
    var creds: String?

    @Option(name: .long, help: ArgumentHelp("Auth file to search before the default ones.", valueName: "file"))
    var authfile: String?

    func registryOptions() throws -> RegistryOptions {
        try makeRegistryOptions(verify: tls.tlsVerify, inline: creds, file: nil, flag: "--creds",
                                certDir: tls.certDir, authfile: authfile, run: try tls.hosts.run())
    }
}

/// Registry options from parsed flags, set up for the run (`run`: profiles and gate); `flag` names the credential
/// flag in errors. TLS settings not given by flags come from each host's profile, else the defaults.
func makeRegistryOptions(verify: Bool?, inline: String?, file: String?, flag: String, certDir: String?,
                         authfile: String?, run: RegistryRun) throws -> RegistryOptions {
    var explicit: Credential?
    do {
        if let inline {
            explicit = try Credential(parsing: inline)
        } else if let file {
            let text: String
            do { text = try String(contentsOfFile: file, encoding: .utf8) } catch {
                throw CLIError("\(flag) \(file): cannot read the file")
            }
            explicit = try Credential(parsing: text.trimmingWhitespace())
        }
    } catch let e as CredentialError {
        throw CLIError("\(flag): \(e)")
    }
    var files = CredentialStore.defaultAuthFiles()
    if let authfile { files.insert(authfile, at: 0) }
    var options = RegistryOptions(tlsVerify: verify ?? true, certDir: certDir ?? "/etc/docker/certs.d",
                                  credentials: CredentialStore(explicit: explicit, authFiles: files))
    options.tlsVerifyFromFlag = verify != nil
    options.certDirFromFlag = certDir != nil
    run.apply(to: &options)
    return options
}

/// Platform selection for `copy`: `--all` (the default), or `-a/--arch` and `--os` lists.
struct PlatformOptions: ParsableArguments {
    @Flag(name: .long, help: "Copy every platform of an index (the default when neither --arch nor --os is given).")
    var all = false

    @Option(name: [.short, .customLong("arch")], parsing: .singleValue,
            help: ArgumentHelp("Architectures to copy: a comma list or repeated flags (amd64,arm64,arm/v7).", valueName: "list"))
    var arch: [String] = []

    @Option(name: .customLong("os"), parsing: .singleValue,
            help: ArgumentHelp("Operating systems to copy: a comma list or repeated flags.", valueName: "list"))
    var os: [String] = []

    func validate() throws {
        if all && (!arch.isEmpty || !os.isEmpty) { throw ValidationError("--all cannot be combined with --arch or --os") }
    }

    var filter: PlatformFilter {
        platformFilter(all: all || (arch.isEmpty && os.isEmpty), arch: arch, os: os)
    }
}

/// Default `--arch`/`--os` values of a command family.
protocol PlatformDefaults {
    static var arch: String { get }
    static var os: String { get }
}

/// Hangar's `mirror` defaults: amd64,arm64 on linux.
enum MirrorPlatformDefaults: PlatformDefaults {
    static let arch = "amd64,arm64"
    static let os = "linux"
}

/// Hangar's `save`/`sync` defaults: amd64,arm64 on linux,windows.
enum ArchivePlatformDefaults: PlatformDefaults {
    static let arch = "amd64,arm64"
    static let os = "linux,windows"
}

/// Platform selection with a command family's defaults: `--all`, or `-a/--arch` and `--os` given as comma lists
/// (Hangar) or repeated flags (image-syncer).
struct DefaultedPlatformOptions<Defaults: PlatformDefaults>: ParsableArguments {
    @Flag(name: .long, help: "Keep every platform (and attestation) of each index, ignoring --arch and --os.")
    var all = false

    @Option(name: [.short, .customLong("arch")], parsing: .singleValue,
            help: ArgumentHelp("Architectures: a comma list (Hangar) or repeated flags (image-syncer) (default: \(Defaults.arch)).", valueName: "list"))
    var arch: [String] = []

    @Option(name: .customLong("os"), parsing: .singleValue,
            help: ArgumentHelp("Operating systems: a comma list or repeated flags (default: \(Defaults.os)).", valueName: "list"))
    var os: [String] = []

    @Option(name: .long, help: ArgumentHelp("Copy the BuildKit attestation manifests (SLSA provenance, SBOMs) of the kept platforms; false drops them (Hangar's --provenance).", valueName: "bool"))
    var provenance: Bool = true

    /// The filter, with the family's defaults for `--arch`/`--os` when neither is given.
    var filter: PlatformFilter { filter(everyPlatformByDefault: false) }

    /// The filter. A flag not given means any value when `everyPlatformByDefault` (image-syncer keeps every
    /// platform unless `--os`/`--arch` filter), else the family's default (Hangar's).
    func filter(everyPlatformByDefault: Bool) -> PlatformFilter {
        var f = everyPlatformByDefault
            ? platformFilter(all: all || (arch.isEmpty && os.isEmpty), arch: arch, os: os)
            : platformFilter(all: all, arch: arch.isEmpty ? [Defaults.arch] : arch, os: os.isEmpty ? [Defaults.os] : os)
        f.provenance = provenance
        return f
    }
}

typealias MirrorPlatformOptions = DefaultedPlatformOptions<MirrorPlatformDefaults>
typealias ArchivePlatformOptions = DefaultedPlatformOptions<ArchivePlatformDefaults>

/// A filter from comma lists; an empty list means any.
func platformFilter(all: Bool, arch: [String], os: [String]) -> PlatformFilter {
    if all { return .all }
    func list(_ values: [String]) -> [String]? {
        let items = values.flatMap { $0.split(separator: ",") }.map { $0.trimmingSpaces() }
            .filter { !$0.isEmpty }
        return items.isEmpty ? nil : items
    }
    return PlatformFilter(architectures: list(arch), oses: list(os))
}
