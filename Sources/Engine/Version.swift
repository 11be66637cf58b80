/// dray's version, printed by `dray version` and sent as the User-Agent.
public enum DrayVersion {
    public static let string = "0.1.0"
}
