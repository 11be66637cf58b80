import Engine
import COpenSSL
import Foundation

/// A registry token endpoint for tests: issues ES256 JWTs the distribution registry accepts (`auth: token`),
/// checking HTTP basic credentials when users are configured, and answering OAuth2 refresh-token grants (a form
/// POST) for the refresh tokens it knows.
public final class TokenServer: @unchecked Sendable {
    public let service = "dray-test-registry"
    public let issuer = "dray-test-issuer"
    public let certificatePath: String
    private let keyPEM: String
    private let certDER: [UInt8]
    private var server: MiniHTTPServer!
    private let users: [String: String]
    /// Refresh token → subject, for `grant_type=refresh_token`.
    private let refreshTokens: [String: String]
    private let lifetimeLock = NSLock()
    private var _tokenLifetime: Int
    /// Lifetime written into the token's `exp` (may be changed while serving).
    public var tokenLifetime: Int {
        get { lifetimeLock.withLock { _tokenLifetime } }
        set { lifetimeLock.withLock { _tokenLifetime = newValue } }
    }
    /// `expires_in` told to clients (may differ, to test refresh after a 401).
    public let advertisedLifetime: Int

    /// The realm URL for the registry's config.
    public var realm: String { "http://\(server.host)/token" }
    /// A registry's `auth` setting that trusts this token server.
    public var registryAuth: RegistryServer.Auth {
        .token(realm: realm, service: service, issuer: issuer, rootCertBundle: certificatePath)
    }
    /// Every token request received.
    public var requests: [MiniHTTPServer.Request] { server.requests }

    public init(folder: String, users: [String: String] = [:], refreshTokens: [String: String] = [:],
                tokenLifetime: Int = 300, advertisedLifetime: Int? = nil) throws {
        let pair = try TestCA.tokenSigningPair(in: folder)
        certificatePath = pair.cert
        keyPEM = try String(contentsOfFile: pair.key, encoding: .utf8)
        let der = try Shell.check("openssl", ["x509", "-in", pair.cert, "-outform", "DER"])
        certDER = der.stdout
        self.users = users
        self.refreshTokens = refreshTokens
        for (user, password) in users { Secrets.rememberCredential(user, password) }
        for token in refreshTokens.keys { Secrets.remember(token) }
        self._tokenLifetime = tokenLifetime
        self.advertisedLifetime = advertisedLifetime ?? tokenLifetime
        server = try MiniHTTPServer { [unowned self] req in self.handle(req) }
    }

    private func handle(_ req: MiniHTTPServer.Request) -> MiniHTTPServer.Response {
        guard req.path == "/token" else { return .init(status: 404) }
        var subject = ""
        var scopes = req.query.filter { $0.0 == "scope" }.map(\.1)
        if req.method == "POST" {
            // OAuth2: grant_type=refresh_token&refresh_token=…&service=…&scope=A B&client_id=…
            var form: [String: String] = [:]
            for pair in String(decoding: req.body, as: UTF8.self).split(separator: "&") {
                let kv = pair.split(separator: "=", maxSplits: 1).map {
                    String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0)
                }
                form[kv[0]] = kv.count > 1 ? kv[1] : ""
            }
            guard form["grant_type"] == "refresh_token", let token = form["refresh_token"], let who = refreshTokens[token],
                  form["client_id"]?.isEmpty == false, form["service"] == service
            else {
                return .init(status: 401, headers: [("Content-Type", "application/json")],
                             body: Array(#"{"errors":[{"code":"UNAUTHORIZED","message":"invalid refresh token"}]}"#.utf8))
            }
            subject = who
            scopes = (form["scope"] ?? "").split(separator: " ").map(String.init)
        } else if !users.isEmpty {
            guard let auth = req.headers["authorization"], auth.hasPrefix("Basic "),
                  let raw = Data(base64Encoded: String(auth.dropFirst(6))),
                  let pair = String(data: raw, encoding: .utf8), let colon = pair.firstIndex(of: ":"),
                  users[String(pair[..<colon])] == String(pair[pair.index(after: colon)...])
            else {
                return .init(status: 401, headers: [("Content-Type", "application/json")],
                             body: Array(#"{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}"#.utf8))
            }
            subject = String(pair[..<colon])
        }
        var access: [[String: Any]] = []
        for v in scopes {
            let parts = v.split(separator: ":")
            guard parts.count == 3 else { continue }
            access.append(["type": String(parts[0]), "name": String(parts[1]),
                           "actions": parts[2].split(separator: ",").map(String.init)])
        }
        let now = Int(Date().timeIntervalSince1970)
        let claims: [String: Any] = [
            "iss": issuer, "sub": subject, "aud": service, "exp": now + tokenLifetime, "nbf": now - 5, "iat": now,
            "jti": UUID().uuidString, "access": access,
        ]
        do {
            let token = try sign(claims)
            Secrets.remember(token)
            let body: [String: Any] = ["token": token, "access_token": token, "expires_in": advertisedLifetime,
                                       "issued_at": ISO8601DateFormatter().string(from: Date())]
            return .init(status: 200, headers: [("Content-Type", "application/json")],
                         body: Array(try JSONSerialization.data(withJSONObject: body)))
        } catch {
            return .init(status: 500, body: Array("\(error)".utf8))
        }
    }

    private static func b64url(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    private func sign(_ claims: [String: Any]) throws -> String {
        let header: [String: Any] = ["typ": "JWT", "alg": "ES256", "x5c": [Data(certDER).base64EncodedString()]]
        let h = Self.b64url(Array(try JSONSerialization.data(withJSONObject: header)))
        let c = Self.b64url(Array(try JSONSerialization.data(withJSONObject: claims)))
        let input = Array("\(h).\(c)".utf8)
        let der = try ecdsaSign(input)
        return "\(h).\(c).\(Self.b64url(try Self.joseSignature(der)))"
    }

    private func ecdsaSign(_ message: [UInt8]) throws -> [UInt8] {
        // The memory BIO reads the bytes in place, so they must outlive it: a String passed straight to
        // BIO_new_mem_buf is a temporary C string, freed before PEM_read_bio_PrivateKey reads it (an intermittent
        // "bad key" and a 500 from this server).
        let pem = Array(keyPEM.utf8)
        let parsed = pem.withUnsafeBytes { buf -> OpaquePointer? in
            guard let bio = BIO_new_mem_buf(buf.baseAddress, Int32(buf.count)) else { return nil }
            defer { BIO_free(bio) }
            return PEM_read_bio_PrivateKey(bio, nil, nil, nil)
        }
        guard let key = parsed else { throw TestSupportError("bad key") }
        defer { EVP_PKEY_free(key) }
        guard let ctx = EVP_MD_CTX_new() else { throw TestSupportError("ctx") }
        defer { EVP_MD_CTX_free(ctx) }
        guard EVP_DigestSignInit(ctx, nil, dray_EVP_sha256(), nil, key) == 1 else { throw TestSupportError("init") }
        var len = 0
        guard EVP_DigestSign(ctx, nil, &len, message, message.count) == 1 else { throw TestSupportError("len") }
        var sig = [UInt8](repeating: 0, count: len)
        guard EVP_DigestSign(ctx, &sig, &len, message, message.count) == 1 else { throw TestSupportError("sign") }
        return Array(sig[0..<len])
    }

    /// DER `ECDSA-Sig-Value` → the 64-byte `r || s` form JOSE uses.
    static func joseSignature(_ der: [UInt8]) throws -> [UInt8] {
        var p: UnsafePointer<UInt8>? = nil
        return try der.withUnsafeBufferPointer { buf in
            p = buf.baseAddress
            guard let sig = d2i_ECDSA_SIG(nil, &p, der.count) else { throw TestSupportError("bad DER signature") }
            defer { ECDSA_SIG_free(sig) }
            var r: OpaquePointer? = nil, s: OpaquePointer? = nil
            ECDSA_SIG_get0(sig, &r, &s)
            var out = [UInt8](repeating: 0, count: 64)
            out.withUnsafeMutableBufferPointer { o in
                _ = BN_bn2binpad(r, o.baseAddress, 32)
                _ = BN_bn2binpad(s, o.baseAddress! + 32, 32)
            }
            return out
        }
    }
}
