import ArgumentParser
import Engine
import Foundation
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
        let text = String(describing: error).replacingOccurrences(of: "\n", with: " ")
        FileHandle.standardError.write(Data("dray: error: \(text)\n".utf8))
        throw ExitCode.failure
    }
}

/// Builds transports from command-line references.
struct TransportFactory {
    let http: HTTPClient

    init(logger: Logger) {
        http = HTTPClient(logger: logger)
    }

    func parse(_ s: String, flag: String) throws -> Reference {
        do {
            switch try ImageLocator(parsing: s) {
            case .docker(let r): return r
            }
        } catch {
            throw CLIError("\(flag): \(error)")
        }
    }

    func client(_ reference: Reference, options: RegistryOptions) -> RegistryClient {
        RegistryClient(registry: reference.registry, options: options, http: http)
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
        return i == 0 ? "\(self) B" : String(format: "%.1f %@", v, units[i])
    }
}
