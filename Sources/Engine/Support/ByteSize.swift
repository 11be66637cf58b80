/// Sizes as dray reads them everywhere (flags, registry profiles): a byte count, or a number with a unit. Every
/// unit is a power of 1024, as in Hangar and Docker (`2G`, `2GB` and `2GiB` are all 2 × 2^30 bytes), so a size means
/// the same on the command line and in a profile file.
public enum ByteSize {
    private static let units: [(suffix: String, scale: Int64)] = [
        ("TIB", 1 << 40), ("GIB", 1 << 30), ("MIB", 1 << 20), ("KIB", 1 << 10),
        ("TB", 1 << 40), ("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10),
        ("T", 1 << 40), ("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10), ("B", 1),
    ]

    /// The size `text` gives (zero and negative sizes included, for the caller to refuse), or nil when it is not
    /// one or does not fit in 64 bits. A unit may follow a decimal number (`1.5G`) and a space.
    public static func parse(_ text: String) -> Int64? {
        let t = text.trimmingSpaces().uppercased()
        for (suffix, scale) in units where t.hasSuffix(suffix) {
            guard let v = Double(t.dropLast(suffix.count).trimmingSpaces()), v.isFinite else { return nil }
            let bytes = (v * Double(scale)).rounded(.towardZero)
            guard abs(bytes) < 0x1p63 else { return nil }
            return Int64(bytes)
        }
        return Int64(t)
    }
}
