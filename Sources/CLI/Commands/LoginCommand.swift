import ArgumentParser
import Engine
import FoundationEssentials
import Transports

/// `dray login`: check credentials against a registry, then store them for later runs.
struct LoginCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "login",
        abstract: "Check credentials against a registry and store them in the docker config.json (or --authfile).",
        discussion: """
            The credentials are checked first (through the registry's token service when it has one) and stored \
            only when the registry accepts them. The file is $REGISTRY_AUTH_FILE when set, else \
            $DOCKER_CONFIG/config.json, else ~/.docker/config.json; it is written atomically, mode 0600, keeping \
            everything else in it. A registry the file hands to a credential helper is stored through the helper. \
            Without -u or a password, dray asks on the terminal.

            Examples:
              dray login harbor.example.com -u robot\\$mirror --password-stdin < token.txt
              echo "$PASS" | dray login registry.example.com:5000 -u ci --password-stdin --authfile ./auth.json
              dray login harbor.example.com          # asks for the username and password
            """)

    @Argument(help: ArgumentHelp("The registry (host[:port]).", valueName: "registry"))
    var registry: String

    @Option(name: [.short, .long], help: "Username.")
    var username: String?

    @Option(name: [.short, .long], help: "Password or token (visible to other users of this machine: prefer --password-stdin).")
    var password: String?

    @Flag(name: .long, help: "Read the password from standard input.")
    var passwordStdin = false

    @Option(name: .long, help: ArgumentHelp("The auth file to store the credentials in.", valueName: "file"))
    var authfile: String?

    @OptionGroup var tls: RegistryTLSOptions

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try await reportingErrors {
            let registry = try Self.checkedRegistry(self.registry)
            if password != nil && passwordStdin { throw CLIError("-p/--password and --password-stdin: give one") }
            if passwordStdin && username == nil { throw CLIError("--password-stdin needs -u/--username") }
            if password != nil {
                OutputFile.standardError.write("WARNING: a password on the command line is visible to other users; prefer --password-stdin\n")
            }
            let user = try username ?? Terminal.ask("Username: ", secret: false, otherwise: "a username is needed (-u)")
            guard !user.isEmpty else { throw CLIError("the username is empty") }
            let secret: String
            if let password { secret = password } else if passwordStdin {
                secret = Self.stripNewline(String(decoding: OutputFile.readStandardInput(), as: UTF8.self))
            } else {
                secret = try Terminal.ask("Password: ", secret: true, otherwise: "a password is needed (--password-stdin)")
            }
            guard !secret.isEmpty else { throw CLIError("the password is empty") }
            let credential = Credential(username: user, password: secret)

            let logger = global.makeLogger("dray.login")
            var options = RegistryOptions(tlsVerify: tls.tlsVerify ?? true, certDir: tls.certDir ?? "/etc/docker/certs.d",
                                          credentials: CredentialStore(explicit: credential, authFiles: []))
            options.tlsVerifyFromFlag = tls.tlsVerify != nil
            options.certDirFromFlag = tls.certDir != nil
            try tls.hosts.run().apply(to: &options)
            let client = RegistryClient(registry: registry, options: options, http: HTTPClient(logger: logger))
            let needed: Bool
            do { needed = try await client.checkCredentials() } catch let e as RegistryError where e.status == 401 || e.status == 403 {
                throw CLIError("\(registry) refused the credentials of \(user) (HTTP \(e.status)); nothing was stored")
            }
            let file = AuthFile(path: authfile ?? AuthFile.defaultPath())
            let place: AuthFile.Place
            do { place = try file.store(credential, for: registry) } catch { throw CLIError("\(error)") }
            switch place {
            case .file: print("Login Succeeded: \(user) at \(registry), stored in \(file.path)")
            case .helper(let h): print("Login Succeeded: \(user) at \(registry), stored by docker-credential-\(h)")
            }
            if !needed { print("Note: \(registry) asks for no credentials; they were stored anyway") }
        }
    }

    /// A registry name as references take it (`host`, `host:port`), or a one-line error.
    static func checkedRegistry(_ text: String) throws -> String {
        var name = text
        for scheme in ["https://", "http://"] where name.lowercased().hasPrefix(scheme) { name = String(name.dropFirst(scheme.count)) }
        while name.hasSuffix("/") { name.removeLast() }
        if ["index.docker.io", "registry-1.docker.io"].contains(name) { name = "docker.io" }
        guard !name.isEmpty, !name.contains("/"), let ref = try? Reference(parsing: "\(name)/x/y"), ref.registry == name else {
            throw CLIError("invalid registry \"\(text.prefix(200))\": give host or host:port")
        }
        return name
    }

    /// `s` without the line ending a pipe adds (on scalars: "\r\n" is one Character).
    static func stripNewline(_ s: String) -> String {
        var s = s
        while let last = s.unicodeScalars.last, last == "\n" || last == "\r" { s.unicodeScalars.removeLast() }
        return s
    }
}

/// `dray logout`: remove stored credentials.
struct LogoutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logout",
        abstract: "Remove a registry's stored credentials (or every registry's with --all).",
        discussion: """
            Examples:
              dray logout harbor.example.com
              dray logout --all --authfile ./auth.json
            """)

    @Argument(help: ArgumentHelp("The registry (host[:port]).", valueName: "registry"))
    var registry: String?

    @Flag(name: .long, help: "Remove the credentials of every registry in the file.")
    var all = false

    @Option(name: .long, help: ArgumentHelp("The auth file to change.", valueName: "file"))
    var authfile: String?

    func run() async throws {
        try await reportingErrors {
            let file = AuthFile(path: authfile ?? AuthFile.defaultPath())
            switch (registry, all) {
            case (nil, false): throw CLIError("give a registry, or --all")
            case (.some, true): throw CLIError("give a registry or --all, not both")
            case (nil, true):
                let removed: [String]
                do { removed = try file.removeAll() } catch { throw CLIError("\(error)") }
                print(removed.isEmpty ? "No credentials in \(file.path)" : "Removed the credentials of \(removed.joined(separator: ", ")) from \(file.path)")
            case (let r?, false):
                let name = try LoginCommand.checkedRegistry(r)
                let removed: Bool
                do { removed = try file.remove(name) } catch { throw CLIError("\(error)") }
                print(removed ? "Removed the credentials of \(name) from \(file.path)" : "Not logged in to \(name) (\(file.path))")
            }
        }
    }
}
