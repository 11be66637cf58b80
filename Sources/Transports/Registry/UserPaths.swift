import FoundationEssentials

/// Where a user's files are, from the environment (one rule for credentials, `dray login` and registry profiles).
enum UserPaths {
    /// `$HOME` when set and not empty, else the account's home directory.
    static func home(_ env: [String: String]) -> String {
        if let h = env["HOME"], !h.isEmpty { return h }
        return FileManager.default.homeDirectoryForCurrentUser.path
    }

    /// Docker's config file: `$DOCKER_CONFIG/config.json` when `DOCKER_CONFIG` is set and not empty, else
    /// `~/.docker/config.json`.
    static func dockerConfig(_ env: [String: String]) -> String {
        if let d = env["DOCKER_CONFIG"], !d.isEmpty { return "\(d)/config.json" }
        return "\(home(env))/.docker/config.json"
    }
}
