import Engine
import Foundation
import Testing

/// dray's trimming without Foundation gives what Foundation's `trimmingCharacters(in:)` gave, checked against it.
@Suite("String trimming")
struct StringTrimmingTests {
    static let samples = [
        "", " ", "\t", "\n", "\r\n", "a", " a ", "\ta b\t", " \n a \n ", "\r\na\r\n", "a\r", "\u{00A0}a\u{00A0}",
        "\u{3000}x\u{2003}", "\u{0085}y\u{2028}", "\u{200B}z\u{200B}", "  multi  word  ", "é ", " e\u{0301}",
        "\t\t\n\n", "# comment \t",
    ]

    @Test("trimmingSpaces is Foundation's .whitespaces, trimmingWhitespace its .whitespacesAndNewlines",
          arguments: samples)
    func sameAsFoundation(text: String) {
        #expect(text.trimmingSpaces() == text.trimmingCharacters(in: .whitespaces))
        #expect(text.trimmingWhitespace() == text.trimmingCharacters(in: .whitespacesAndNewlines))
        let sub = Substring(text)
        #expect(sub.trimmingSpaces() == text.trimmingCharacters(in: .whitespaces))
    }

    @Test("trimming(while:) drops only the ends")
    func ends() {
        #expect("//ns/sub//".trimming { $0 == "/" } == "ns/sub")
        #expect("////".trimming { $0 == "/" } == "")
        #expect("abc".trimming { $0 == "/" } == "abc")
    }
}
