import FoundationEssentials
import Glibc

/// File errors from FoundationEssentials (`Data(contentsOf:)`, `FileManager`) read as `PATH: reason`, with the
/// system's words for the reason ("/x/y: No such file or directory"), wherever an error is shown or wrapped.
/// Without Foundation's localised descriptions they would print as a dump of their code and user info.
extension CocoaError: @retroactive CustomStringConvertible {
    public var description: String {
        let reason: String
        if let posix = underlying as? POSIXError {
            reason = String(cString: strerror(posix.code.rawValue))
        } else {
            reason = Self.reasons[code] ?? "file error \(code.rawValue)"
        }
        guard let path = filePath ?? url?.path else { return reason }
        return "\(path): \(reason)"
    }

    private static let reasons: [CocoaError.Code: String] = [
        .fileNoSuchFile: "no such file", .fileReadNoSuchFile: "no such file", .fileLocking: "the file is locked",
        .fileReadNoPermission: "permission denied", .fileWriteNoPermission: "permission denied",
        .fileReadCorruptFile: "the file is corrupt", .fileReadTooLarge: "the file is too large",
        .fileReadInvalidFileName: "invalid file name", .fileWriteInvalidFileName: "invalid file name",
        .fileWriteFileExists: "the file exists", .fileWriteOutOfSpace: "no space left on the device",
        .fileWriteVolumeReadOnly: "the volume is read-only", .fileReadInapplicableStringEncoding: "the text is not UTF-8",
    ]
}
