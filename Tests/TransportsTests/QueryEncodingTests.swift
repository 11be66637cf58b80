import Foundation
import Testing
@testable import Transports

/// Query values are encoded strictly (a Go registry reads `+` as a space), now without Foundation.
@Suite("Query encoding")
struct QueryEncodingTests {
    @Test("ASCII text is encoded as Foundation encoded it with the same allowed characters",
          arguments: ["application/spdx+json", "a b", "n=1&last=x", "v1.0_rc~2", "user@host:5000/path", "100%", "\"q\"", "#frag?"])
    func ascii(text: String) {
        let allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~:/@")
        #expect(RegistryClient.queryEncoded(text) == text.addingPercentEncoding(withAllowedCharacters: allowed))
    }

    @Test("a plus sign and non-ASCII letters are percent-encoded byte by byte")
    func strict() {
        #expect(RegistryClient.queryEncoded("application/spdx+json") == "application/spdx%2Bjson")
        #expect(RegistryClient.queryEncoded("é") == "%C3%A9")
        #expect(RegistryClient.queryEncoded("") == "")
    }
}
