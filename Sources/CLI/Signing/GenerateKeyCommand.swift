import ArgumentParser
import Engine
import FoundationEssentials
import Glibc
import Signing

/// `dray generate-key`: a cosign-compatible key pair.
struct GenerateKeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate-key",
        abstract: "Make an ECDSA P-256 key pair in cosign's format: PREFIX.key (encrypted, 0600) and PREFIX.pub.",
        discussion: """
            The private key is written as an ENCRYPTED COSIGN PRIVATE KEY (scrypt N=32768, NaCl secretbox), which \
            cosign reads too. An empty passphrase is allowed, as in cosign.

            Examples:
              dray generate-key --passphrase-file pass.txt
              dray generate-key --prefix mirror-signing
            """)

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: ArgumentHelp("File name prefix.", valueName: "prefix"))
    var prefix: String = "cosign"

    @Option(name: .long, help: ArgumentHelp("Read the passphrase from this file (else $COSIGN_PASSWORD, else the terminal).", valueName: "file"))
    var passphraseFile: String?

    @Flag(name: [.short, .long], help: "Overwrite existing key files.")
    var yes = false

    func run() async throws {
        try await reportingErrors {
            let (keyFile, pubFile) = ("\(prefix).key", "\(prefix).pub")
            for f in [keyFile, pubFile] where FileManager.default.fileExists(atPath: f) && !yes {
                throw CLIError("\(f) exists; pass -y to overwrite it")
            }
            var pass = try Passphrase.read(file: passphraseFile, prompt: "Passphrase for the new key: ", confirm: true)
            defer { pass.withUnsafeMutableBytes { if let p = $0.baseAddress { memset(p, 0, $0.count) } } }
            let key = try SigningKey.generate()
            try AtomicFile.write(Array(try CosignKeyFile.encrypt(key, passphrase: pass).utf8), to: keyFile, mode: 0o600)
            try AtomicFile.write(Array(try key.publicKey().pem().utf8), to: pubFile)
            print("Private key written to \(keyFile)")
            print("Public key written to \(pubFile)")
        }
    }
}
