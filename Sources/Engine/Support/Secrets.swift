import Synchronization

/// The secrets this process holds (passwords, the `Basic` values made from them, bearer tokens, passphrases), so
/// that text about to leave the process (log lines, error messages, reports) can be scrubbed of them.
///
/// Code never prints a secret on purpose; this catches the rest: a registry that echoes the `Authorization` header
/// into an error body, a token in a URL someone pasted into a list, a password inside an exception's text.
public enum Secrets {
    /// What replaces a secret.
    public static let mask = "[redacted]"
    /// Secrets shorter than this are not scrubbed: masking every "a" would garble the text and hide nothing.
    public static let minimumLength = 4

    /// The remembered secrets, longest first (kept in that order as they are added: every log line is redacted).
    private static let known = Mutex<[String]>([])

    /// Remembers a secret for `redact`.
    public static func remember(_ secret: String) {
        guard secret.utf8.count >= minimumLength else { return }
        known.withLock { list in
            guard !list.contains(secret) else { return }
            let at = list.firstIndex { $0.utf8.count < secret.utf8.count } ?? list.endIndex
            list.insert(secret, at: at)
        }
    }

    /// `text` with every remembered secret replaced by `mask`, longest first (a token that contains a password is
    /// masked whole).
    public static func redact(_ text: String) -> String {
        let secrets = known.withLock { $0 }
        guard !secrets.isEmpty else { return text }
        var out = text
        for s in secrets where out.contains(s) {
            out = out.replacing(s, with: mask)
        }
        return out
    }
}
