import Foundation

/// A certificate authority made for a test, with server certificates for loopback, using the `openssl` tool.
public struct TestCA: Sendable {
    public let folder: String
    public var caCertificate: String { "\(folder)/ca.crt" }
    public var caKey: String { "\(folder)/ca.key" }

    /// Creates a P-256 CA in `folder`.
    public init(in folder: String) throws {
        self.folder = folder
        try Shell.check("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                                    "-nodes", "-keyout", "\(folder)/ca.key", "-out", "\(folder)/ca.crt", "-days", "2",
                                    "-subj", "/CN=dray test CA"])
    }

    /// A server certificate for 127.0.0.1 and localhost, signed by this CA: (certificate, key) paths.
    public func serverCertificate(name: String = "server") throws -> (cert: String, key: String) {
        let key = "\(folder)/\(name).key", csr = "\(folder)/\(name).csr", cert = "\(folder)/\(name).crt"
        let ext = "\(folder)/\(name).ext"
        try "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
            .write(toFile: ext, atomically: false, encoding: .utf8)
        try Shell.check("openssl", ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                                    "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1"])
        try Shell.check("openssl", ["x509", "-req", "-in", csr, "-CA", caCertificate, "-CAkey", caKey,
                                    "-CAcreateserial", "-out", cert, "-days", "2", "-extfile", ext])
        return (cert, key)
    }

    /// A client certificate signed by this CA: (certificate, key) paths.
    public func clientCertificate(name: String = "client") throws -> (cert: String, key: String) {
        let key = "\(folder)/\(name).key", csr = "\(folder)/\(name).csr", cert = "\(folder)/\(name).cert"
        let ext = "\(folder)/\(name).ext"
        try "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n".write(toFile: ext, atomically: false, encoding: .utf8)
        try Shell.check("openssl", ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                                    "-keyout", key, "-out", csr, "-subj", "/CN=dray test client"])
        try Shell.check("openssl", ["x509", "-req", "-in", csr, "-CA", caCertificate, "-CAkey", caKey,
                                    "-CAcreateserial", "-out", cert, "-days", "2", "-extfile", ext])
        return (cert, key)
    }

    /// A self-signed P-256 certificate and key for signing registry tokens: (certificate, key) paths.
    public static func tokenSigningPair(in folder: String) throws -> (cert: String, key: String) {
        let key = "\(folder)/token.key", cert = "\(folder)/token.crt"
        try Shell.check("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                                    "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=dray token signer"])
        return (cert, key)
    }
}
