/// Which entries of an index a platform filter keeps.
public enum IndexSelection {
    /// Docker/BuildKit mark attestation manifests with these annotations.
    static let referenceType = "vnd.docker.reference.type"
    static let referenceDigest = "vnd.docker.reference.digest"

    /// Whether an index entry is an attestation manifest for another entry.
    public static func isAttestation(_ d: Descriptor) -> Bool {
        d.annotations?[referenceType] == "attestation-manifest"
    }

    /// The platforms of an index's image entries (attestation manifests left out), in order.
    public static func platforms(of entries: [Descriptor]) -> [Platform] {
        entries.filter { !isAttestation($0) }.compactMap(\.platform)
    }

    /// The kept entries, in index order. Platform entries are kept when the filter matches them; attestation
    /// entries follow the platform entry they reference (none are kept without `provenance`); entries without a
    /// platform pass.
    public static func select(_ index: ImageIndex, _ filter: PlatformFilter) -> [Descriptor] {
        if filter.isAll && filter.provenance { return index.manifests }
        let kept = Set(index.manifests.filter { !isAttestation($0) && filter.matches($0.platform) }.map(\.digest))
        return index.manifests.filter { d in
            if isAttestation(d) {
                guard filter.provenance else { return false }
                return d.annotations?[referenceDigest].flatMap { try? Digest(parsing: $0) }.map(kept.contains) ?? false
            }
            return kept.contains(d.digest)
        }
    }
}
