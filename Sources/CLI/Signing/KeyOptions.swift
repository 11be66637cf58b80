import ArgumentParser
import Engine
import FoundationEssentials
import Glibc
import Signing

/// Reads a passphrase: from a file (first line), else from the terminal, without echo.
enum Passphrase {
    static func read(file: String?, flag: String = "--passphrase-file", prompt: String, confirm: Bool = false) throws -> [UInt8] {
        let bytes = try readUnremembered(file: file, flag: flag, prompt: prompt, confirm: confirm)
        Secrets.remember(String(decoding: bytes, as: UTF8.self))
        return bytes
    }

    private static func readUnremembered(file: String?, flag: String, prompt: String, confirm: Bool) throws -> [UInt8] {
        if let file {
            guard let data = FileManager.default.contents(atPath: file) else { throw CLIError("\(flag) \(file): cannot read") }
            var bytes = Array(data)
            if let nl = bytes.firstIndex(of: 0x0a) { bytes.removeSubrange(nl...) }
            if bytes.last == 0x0d { bytes.removeLast() }
            return bytes
        }
        if let env = ProcessInfo.processInfo.environment["COSIGN_PASSWORD"] { return Array(env.utf8) }
        guard isatty(STDIN_FILENO) == 1 else {
            throw CLIError("a passphrase is needed: pass \(flag) F (or set COSIGN_PASSWORD), or run on a terminal")
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
        return try Self.load(key, passphraseFile: passphraseFile, keyFlag: "--key", passphraseFlag: "--passphrase-file")
    }

    /// Reads a cosign private key, asking for its passphrase only when the key is encrypted.
    static func load(_ key: String, passphraseFile: String?, keyFlag: String, passphraseFlag: String) throws -> SigningKey {
        do {
            return try CosignKeyFile.read(key) {
                try Passphrase.read(file: passphraseFile, flag: passphraseFlag, prompt: "Passphrase for \(key): ")
            }
        } catch let e as KeyError {
            throw CLIError("\(keyFlag) \(e)")
        }
    }
}

/// `mirror`'s signature flags, spelled as Hangar's.
struct MirrorSignatureOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Sign each mirrored image at its destination with this cosign private key.", valueName: "file"))
    var sigstorePrivateKey: String?

    @Option(name: .long, help: ArgumentHelp("Read the private key's passphrase from this file (else $COSIGN_PASSWORD, else the terminal).", valueName: "file"))
    var sigstorePassphraseFile: String?

    @Flag(name: .long, help: "Do not copy the source images' signatures (.sig attachments).")
    var removeSignatures = false

    @OptionGroup var format: SignatureFormatOption

    /// What to do with the source's signatures.
    var handling: SignatureHandling { removeSignatures ? .remove : .copy }

    /// The signer for `--sigstore-private-key`, or nil. Reads the key (and passphrase) now, before anything moves.
    func signer() throws -> MirrorSigning? {
        guard let sigstorePrivateKey else {
            if sigstorePassphraseFile != nil { throw CLIError("--sigstore-passphrase-file needs --sigstore-private-key") }
            return nil
        }
        let key = try SigningKeyOptions.load(sigstorePrivateKey, passphraseFile: sigstorePassphraseFile,
                                             keyFlag: "--sigstore-private-key", passphraseFlag: "--sigstore-passphrase-file")
        return try MirrorSigning(signer: try Signer(key: key, creator: "dray \(DrayVersion.string)"), format: try format.value())
    }
}

/// `--signature-format`: which formats signing writes.
struct SignatureFormatOption: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("bundle (a Sigstore bundle referrer, as cosign v3), simplesigning (cosign's .sig tag) or both.",
                                            valueName: "format"))
    var signatureFormat: String = SignatureFormat.both.rawValue

    func value() throws -> SignatureFormat {
        guard let f = SignatureFormat(rawValue: signatureFormat) else {
            throw CLIError("--signature-format: \"\(signatureFormat.prefix(40))\" is not bundle, simplesigning or both")
        }
        return f
    }
}

/// Builds a verifier from public key files and an identity rule, naming the flags in errors.
enum VerifierOptions {
    static func make(keys: [String], identity: String, keyFlag: String) throws -> Verifier {
        guard !keys.isEmpty else { throw CLIError("\(keyFlag) is required: a public key (PEM)") }
        let rule: IdentityRule
        do { rule = try IdentityRule(parsing: identity) } catch { throw CLIError("--identity: \(error)") }
        let loaded = try keys.map { f in
            do { return try VerificationKey(file: f) } catch { throw CLIError("\(keyFlag) \(error)") }
        }
        return Verifier(keys: loaded, identity: rule)
    }
}
