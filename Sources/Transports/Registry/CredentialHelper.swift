import Foundation

/// Runs Docker credential helpers: `docker-credential-NAME ACTION` (`get`, `store`, `erase`) with the request
/// on standard input, as Docker does. Used to read credentials (`CredentialStore`) and to store them (`AuthFile`).
enum CredentialHelper {
    /// What a helper answered.
    struct Outcome {
        var status: Int32
        /// Standard output (`get` prints the credentials as JSON here).
        var output: Data
        /// Standard error.
        var errors: String
    }

    /// Why a helper could not be run.
    struct Failure: Error {
        let why: String
    }

    /// Runs the helper NAME with `action`, writing `input` to its standard input.
    static func run(_ name: String, _ action: String, input: String) throws(Failure) -> Outcome {
        guard name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." }) else {
            throw Failure(why: "invalid helper name")
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["docker-credential-\(name)", action]
        let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
        p.standardInput = stdin
        p.standardOutput = stdout
        p.standardError = stderr
        do { try p.run() } catch { throw Failure(why: "cannot run: \(error.localizedDescription)") }
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try? stdin.fileHandleForWriting.close()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        let errors = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return Outcome(status: p.terminationStatus, output: output, errors: errors)
    }
}
