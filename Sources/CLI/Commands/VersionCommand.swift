import ArgumentParser
import CCurl
import COpenSSL
import Engine

/// `dray version`.
struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "version", abstract: "Print dray's version and its libraries'.",
        discussion: """
            Examples:
              dray version
              dray --version            # dray's version alone
            """)

    func run() {
        print("dray \(DrayVersion.string)")
        if let failure = dray_curl_load() {
            print("libcurl: \(String(cString: failure))")
        } else {
            print("libcurl \(String(cString: dray_curl_version_string()))")
        }
        print(String(cString: OpenSSL_version(Int32(OPENSSL_VERSION))))
    }
}
