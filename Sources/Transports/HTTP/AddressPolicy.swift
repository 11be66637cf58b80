import FoundationEssentials

#if canImport(Glibc)
import Glibc
#endif

/// The network a host is on, as far as a registry's redirects are concerned.
public enum AddressClass: Int, Sendable, Comparable, CustomStringConvertible {
    /// An ordinary Internet address.
    case publicNetwork
    /// RFC 1918, carrier-grade NAT or IPv6 unique-local addresses.
    case privateNetwork
    /// This machine (127/8, ::1, `localhost`, 0.0.0.0).
    case loopback
    /// 169.254/16 and fe80::/10, where cloud metadata services live.
    case linkLocal

    public static func < (a: AddressClass, b: AddressClass) -> Bool { a.rawValue < b.rawValue }

    public var description: String {
        switch self {
        case .publicNetwork: "a public address"
        case .privateNetwork: "a private-network address"
        case .loopback: "a loopback address"
        case .linkLocal: "a link-local address"
        }
    }

    /// The class of an IP literal, or nil when `host` is not one.
    public static func ofLiteral(_ host: String) -> AddressClass? {
        var h = host
        if h.hasPrefix("[") && h.hasSuffix("]") { h = String(h.dropFirst().dropLast()) }
        var v4 = in_addr()
        if inet_pton(AF_INET, h, &v4) == 1 {
            return ofIPv4(UInt32(bigEndian: v4.s_addr))
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, h, &v6) == 1 {
            return ofIPv6(withUnsafeBytes(of: &v6) { Array($0) })
        }
        return nil
    }

    static func ofIPv4(_ a: UInt32) -> AddressClass {
        let b0 = a >> 24, b1 = (a >> 16) & 0xff
        switch b0 {
        case 127, 0: return .loopback
        case 10: return .privateNetwork
        case 172 where (16...31).contains(b1): return .privateNetwork
        case 192 where b1 == 168: return .privateNetwork
        case 100 where (64...127).contains(b1): return .privateNetwork
        case 169 where b1 == 254: return .linkLocal
        default: return .publicNetwork
        }
    }

    static func ofIPv6(_ b: [UInt8]) -> AddressClass {
        if b[0..<15].allSatisfy({ $0 == 0 }) && (b[15] == 1 || b[15] == 0) { return .loopback }
        if b[0..<10].allSatisfy({ $0 == 0 }) && b[10] == 0xff && b[11] == 0xff {
            return ofIPv4(UInt32(b[12]) << 24 | UInt32(b[13]) << 16 | UInt32(b[14]) << 8 | UInt32(b[15]))
        }
        if b[0] & 0xfe == 0xfc { return .privateNetwork }
        if b[0] == 0xfe && b[1] & 0xc0 == 0x80 { return .linkLocal }
        return .publicNetwork
    }

    /// The class of a host name or IP literal. A name takes the most sensitive class of the addresses it
    /// resolves to; a name that does not resolve counts as public (the connection will fail anyway).
    public static func of(host: String) -> AddressClass {
        let h = host.lowercased()
        if let c = ofLiteral(h) { return c }
        if h == "localhost" || h.hasSuffix(".localhost") { return .loopback }
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(h, nil, &hints, &list) == 0, let first = list else { return .publicNetwork }
        defer { freeaddrinfo(list) }
        var worst = AddressClass.publicNetwork
        var node: UnsafeMutablePointer<addrinfo>? = first
        while let n = node {
            if let sa = n.pointee.ai_addr {
                if n.pointee.ai_family == AF_INET {
                    let a = sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr.s_addr }
                    worst = max(worst, ofIPv4(UInt32(bigEndian: a)))
                } else if n.pointee.ai_family == AF_INET6 {
                    var a = sa.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee.sin6_addr }
                    worst = max(worst, ofIPv6(withUnsafeBytes(of: &a) { Array($0) }))
                }
            }
            node = n.pointee.ai_next
        }
        return worst
    }
}

/// Where a registry may send dray: redirects, upload `Location`s and token realms.
///
/// A registry may point anywhere on the public Internet, and anywhere on its own host. It may point into a
/// private network, or at this machine, only when it is itself on that kind of network (an on-premises registry
/// redirecting to its MinIO, a loopback registry to another loopback port), so a public registry cannot turn
/// dray into a probe of the user's internal network. Link-local targets (cloud metadata services) are refused
/// unless the registry itself is there.
public enum AddressPolicy {
    /// Why `target` may not be reached from `origin`, or nil when it may.
    public static func refusal(to target: URL, from origin: URL,
                               classify: (String) -> AddressClass = AddressClass.of(host:)) -> String? {
        guard let targetHost = target.host?.lowercased(), !targetHost.isEmpty else {
            return "it names no host"
        }
        let originHost = origin.host?.lowercased() ?? ""
        if targetHost == originHost { return nil }
        let targetClass = classify(targetHost)
        if targetClass == .publicNetwork { return nil }
        let originClass = classify(originHost)
        if originClass == targetClass { return nil }
        return "\(targetHost) is \(targetClass) and \(originHost) is not on that network"
    }
}
