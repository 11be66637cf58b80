/// How referrers are written at a destination (`--referrers-mode`).
public enum ReferrersMode: String, Sendable, CaseIterable {
    /// Learn: use the referrers API where the registry serves it and indexes `subject`, else the fallback tag.
    case auto
    /// The referrers API only; a destination without it fails the referrer with that reason.
    case api
    /// Always keep the fallback tag (also where the API exists, for readers that only know the tag).
    case tag
}
