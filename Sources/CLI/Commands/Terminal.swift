import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// Questions asked on the terminal.
enum Terminal {
    /// Asks `prompt` on standard error and reads a line from standard input, without echo when `secret`. Fails
    /// with `otherwise` when standard input is not a terminal (a script must pass the value as a flag or on stdin).
    static func ask(_ prompt: String, secret: Bool, otherwise: String) throws -> String {
        guard isatty(STDIN_FILENO) == 1 else { throw CLIError("\(otherwise): standard input is not a terminal") }
        OutputFile.standardError.write(prompt)
        var saved = termios()
        let hide = secret && tcgetattr(STDIN_FILENO, &saved) == 0
        if hide {
            var quiet = saved
            quiet.c_lflag &= ~tcflag_t(ECHO)
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet)
        }
        defer {
            if hide {
                tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved)
                OutputFile.standardError.write("\n")
            }
        }
        return readLine(strippingNewline: true) ?? ""
    }
}
