import Foundation

extension NSRegularExpression {
    /// Whether the expression matches anywhere in `text` (anchor it with ^…$ for the whole text).
    public func finds(in text: String) -> Bool {
        firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }
}
