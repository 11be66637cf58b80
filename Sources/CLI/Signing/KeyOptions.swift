import ArgumentParser
import Foundation
import Signing

/// Reads a passphrase: from a file (first line), else from the terminal, without echo.
enum Passphrase {
    static func read(file: String?, prompt: String, confirm: Bool = false) throws -> [UInt8] {
        if let file {
            guard let data = FileManager.default.contents(atPath: file) else { throw CLIError("--passphrase-file \(file): cannot read") }
            var bytes = Array(data)
            if let nl = bytes.firstIndex(of: 0x0a) { bytes.removeSubrange(nl...) }
            if bytes.last == 0x0d { bytes.removeLast() }
            return bytes
        }
        if let env = ProcessInfo.processInfo.environment["COSIGN_PASSWORD"] { return Array(env.utf8) }
        guard isatty(STDIN_FILENO) == 1 else {
            throw CLIError("a passphrase is needed: pass --passphrase-file F (or set COSIGN_PASSWORD), or run on a terminal")
        }
        func ask(_ p: String) -> [UInt8] {
            guard let s = getpass(p) else { return [] }
            return Array(UnsafeBufferPointer(start: UnsafeRawPointer(s).assumingMemoryBound(to: UInt8.self), count: strlen(s)))
        }
        let first = ask(prompt)
        if confirm, ask("Again: ") != first { throw CLIError("the passphrases differ") }
        return first
    }
}

/// `--key` and `--passphrase-file` for commands that sign.
struct SigningKeyOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("A cosign private key (encrypted, or PKCS#8).", valueName: "file"))
    var key: String?

    @Option(name: .long, help: ArgumentHelp("Read the key's passphrase from this file (else $COSIGN_PASSWORD, else the terminal).", valueName: "file"))
    var passphraseFile: String?

    func load() throws -> SigningKey {
        guard let key else { throw CLIError("--key is required: a cosign private key") }
        do {
            return try CosignKeyFile.read(key) { try Passphrase.read(file: passphraseFile, prompt: "Passphrase for \(key): ") }
        } catch let e as KeyError {
            throw CLIError("--key \(e)")
        }
    }
}
