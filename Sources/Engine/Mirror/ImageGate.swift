/// A check each image must pass at its source before anything of it is written (`mirror --verify-key …`).
///
/// The engine resolves the source's tag once and hands the gate that top manifest digest and the platform
/// manifests the copy keeps; what is then copied is exactly what the gate saw. The gate admits the image and says
/// why (which signature let it in), or throws `GateRefusal` with the reason; the image then fails and nothing of it
/// is written.
public protocol ImageGate: Sendable {
    /// Admits the image `target`, whose source top manifest is `top` and whose kept platform manifests are `kept`
    /// (`rewritten` when a filter dropped some of the index's), reading its signatures through `sources`.
    func admit(_ target: MirrorTarget, top: Digest, kept: [Digest], rewritten: Bool,
               sources: @escaping @Sendable (Reference) -> any ImageSource) async throws -> String
}

/// An image the gate did not let through.
public struct GateRefusal: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
