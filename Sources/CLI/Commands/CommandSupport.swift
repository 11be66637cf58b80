import ArgumentParser
import Engine
import FoundationEssentials
import Logging
import Transports

/// A failure reported to the user as one line on standard error, with a non-zero exit.
struct CLIError: Error, CustomStringConvertible {
    let message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}

/// Runs a command body; any error becomes `dray: error: …` on one line and exit status 1.
func reportingErrors(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let e as ExitCode {
        throw e
    } catch let e as ValidationError {
        throw e
    } catch {
        let text = Secrets.redact(String(describing: error).replacing("\n", with: " ")).escapingControlCharacters
        OutputFile.standardError.write("dray: error: \(text)\n")
        throw ExitCode.failure
    }
}

/// Reads an image list or config given with `flag`: at most 64 MiB of UTF-8 text.
func readListFile(_ path: String, flag: String = "-f") throws -> String {
    do { return try TextFile.read(path, limit: 64 << 20) } catch {
        throw CLIError("\(flag) \(path)\(error.line.map { ":\($0)" } ?? ""): \(error)")
    }
}

/// Builds transports from command-line locations (`docker://REF`, `REF`, `oci:PATH[:NAME]`).
struct TransportFactory {
    let http: HTTPClient

    init(logger: Logger) {
        http = HTTPClient(logger: logger)
    }

    func locate(_ s: String, flag: String) throws -> ImageLocator { try Self.locate(s, flag: flag) }

    /// A location as typed: `docker://REF`, `REF`, `oci:`, `oci-archive:`, `docker-archive:`.
    static func locate(_ s: String, flag: String) throws -> ImageLocator {
        do { return try ImageLocator(parsing: s) } catch { throw CLIError("\(flag): \(error)") }
    }

    /// A registry reference (`docker://REF` or `REF`), for commands that only talk to registries.
    func parse(_ s: String, flag: String) throws -> Reference { try Self.parse(s, flag: flag) }

    /// A registry reference (`docker://REF` or `REF`), for commands that only talk to registries.
    static func parse(_ s: String, flag: String) throws -> Reference {
        switch try locate(s, flag: flag) {
        case .docker(let r): return r
        case .ociLayout, .ociArchive, .dockerArchive:
            throw CLIError("\(flag): this command needs a registry image, not \"\(s.prefix(200))\"")
        }
    }

    func client(_ reference: Reference, options: RegistryOptions) -> RegistryClient {
        RegistryClient(registry: reference.registry, options: options, http: http)
    }

    /// A source and the identifier to read. A layout without a name must hold exactly one image.
    func source(_ locator: ImageLocator, options: RegistryOptions) throws -> (any ImageSource, ManifestIdentifier, String) {
        switch locator {
        case .docker(let r):
            return (RegistryImageSource(client: client(r, options: options), repository: r.repository),
                    ManifestIdentifier(r), r.description)
        case .ociLayout(let path, let name):
            let layout = try OCILayout(path: path, create: false)
            let chosen: String
            if let name {
                chosen = name
            } else {
                let names = try layout.names().filter { !LayoutNaming.isAttachment($0) }
                guard names.count == 1 else {
                    throw CLIError("oci:\(path) holds \(names.count) images; name one as oci:\(path):NAME")
                }
                chosen = names[0]
            }
            return (OCILayoutImageSource(layout: layout, name: chosen), .tag(chosen), "oci:\(path):\(chosen)")
        case .ociArchive(let path, let name):
            let (source, chosen) = try OCIArchive.source(path, name: name)
            return (source, .tag(chosen), "oci-archive:\(path):\(chosen)")
        case .dockerArchive(let path, let name):
            let archive = try DockerArchive(path: path)
            let image = try archive.image(named: name)
            let chosen = name ?? image.repoTags?.first ?? "image"
            return (try archive.source(image, name: chosen), .tag(chosen), "docker-archive:\(path):\(chosen)")
        }
    }

    /// The source end of `locator` (see `ImageLocator.openSource`), errors named for `flag`.
    func sourceEnd(_ locator: ImageLocator, options: RegistryOptions, flag: String = "source") throws -> ImageEnd<any ImageSource> {
        do { return try locator.openSource(registry: options, http: http) } catch let e as CLIError { throw e } catch {
            throw CLIError("\(flag) \(locator): \(error)")
        }
    }

    /// The destination end of `locator` (see `ImageLocator.openDestination`), errors named for `flag`.
    func destinationEnd(_ locator: ImageLocator, options: RegistryOptions, defaultName: String, flag: String = "destination") throws
        -> ImageEnd<any ImageDestination>
    {
        do { return try locator.openDestination(registry: options, http: http, defaultName: defaultName) } catch let e as CLIError { throw e } catch {
            throw CLIError("\(flag) \(locator): \(error)")
        }
    }

    /// A destination, the identifier to write, its name for messages, and what to do once the copy is complete
    /// (an archive is written then). A layout image is named `defaultName` unless the location names it.
    func destination(_ locator: ImageLocator, options: RegistryOptions, defaultName: String) throws
        -> (any ImageDestination, ManifestIdentifier, String, commit: () throws -> Void)
    {
        switch locator {
        case .docker(let r):
            let id: ManifestIdentifier = r.tag.map { .tag($0) } ?? ManifestIdentifier(r)
            return (RegistryImageDestination(client: client(r, options: options), repository: r.repository), id,
                    r.description, {})
        case .ociLayout(let path, let name):
            let layout = try OCILayout(path: path, create: true)
            let chosen = name ?? defaultName
            return (OCILayoutImageDestination(layout: layout, name: chosen), .tag(chosen), "oci:\(path):\(chosen)", {})
        case .ociArchive(let path, let name):
            let archive = try OCIArchiveDestination(path: path)
            let chosen = name ?? defaultName
            return (archive.image(chosen), .tag(chosen), "oci-archive:\(path):\(chosen)", archive.commit)
        case .dockerArchive:
            throw CLIError("docker-archive: is read only; write oci-archive:PATH instead (docker load reads it too)")
        }
    }
}

extension Int64 {
    /// Bytes in a human unit (1000-based, as registries and Docker print them).
    var humanBytes: String {
        let units = ["B", "kB", "MB", "GB", "TB"]
        var v = Double(self)
        var i = 0
        while v >= 1000 && i < units.count - 1 {
            v /= 1000
            i += 1
        }
        return i == 0 ? "\(self) B" : "\(v.fixed(1)) \(units[i])"
    }
}

extension String {
    /// The text padded with spaces to `width` characters, on the right (or the left, for numbers in a column);
    /// longer text is kept whole.
    func padded(to width: Int, left: Bool = false) -> String {
        let pad = String(repeating: " ", count: max(0, width - count))
        return left ? pad + self : self + pad
    }
}

extension Double {
    /// The value with `places` decimals, rounded ("3.14" for 2): what `String(format: "%.2f")` prints, without
    /// Foundation's format machinery (a run prints a few of these per image).
    func fixed(_ places: Int) -> String {
        guard isFinite else { return "\(self)" }
        var scale = 1.0
        for _ in 0..<places { scale *= 10 }
        let scaled = (abs(self) * scale).rounded()
        guard scaled < 9e15 else { return "\(self)" }
        let n = Int64(scaled), unit = Int64(scale)
        let sign = self < 0 ? "-" : ""
        guard places > 0 else { return "\(sign)\(n)" }
        let fraction = String(n % unit)
        return "\(sign)\(n / unit).\(String(repeating: "0", count: places - fraction.count))\(fraction)"
    }
}
