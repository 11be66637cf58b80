/// One parsed `WWW-Authenticate` challenge.
public struct AuthChallenge: Sendable, Hashable {
    /// `basic` or `bearer` (lower-cased).
    public var scheme: String
    /// Parameters with lower-cased names (`realm`, `service`, `scope`, `error`).
    public var parameters: [String: String]

    public init(scheme: String, parameters: [String: String]) {
        self.scheme = scheme
        self.parameters = parameters
    }

    /// Parses every challenge in a `WWW-Authenticate` value, e.g.
    /// `Bearer realm="https://auth.example/token",service="reg",scope="repository:a/b:pull"`.
    public static func parse(_ header: String) -> [AuthChallenge] {
        var result: [AuthChallenge] = []
        var chars = Array(header.unicodeScalars)
        chars.append(" ")
        var i = 0
        func skipSpaces() { while i < chars.count, chars[i] == " " || chars[i] == "\t" || chars[i] == "," { i += 1 } }
        func token() -> String {
            var s = ""
            while i < chars.count, !" \t,=\"".unicodeScalars.contains(chars[i]) {
                s.unicodeScalars.append(chars[i])
                i += 1
            }
            return s
        }
        while i < chars.count {
            skipSpaces()
            let scheme = token()
            if scheme.isEmpty { break }
            var params: [String: String] = [:]
            while true {
                // Look ahead: `name=` is a parameter of this challenge; a bare token starts the next challenge.
                while i < chars.count, chars[i] == " " || chars[i] == "\t" || chars[i] == "," { i += 1 }
                let save = i
                let name = token()
                guard !name.isEmpty, i < chars.count, chars[i] == "=" else {
                    i = save
                    break
                }
                i += 1
                var value = ""
                if i < chars.count, chars[i] == "\"" {
                    i += 1
                    while i < chars.count, chars[i] != "\"" {
                        if chars[i] == "\\", i + 1 < chars.count { i += 1 }
                        value.unicodeScalars.append(chars[i])
                        i += 1
                    }
                    i += 1
                } else {
                    value = token()
                }
                params[name.lowercased()] = value
            }
            result.append(AuthChallenge(scheme: scheme.lowercased(), parameters: params))
        }
        return result
    }
}
