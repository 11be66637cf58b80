#if canImport(Glibc)
import Glibc
#endif
import Engine
import FoundationEssentials

/// glibc's `pipe2` (behind `_GNU_SOURCE` in <unistd.h>, which the Glibc module does not define).
@_silgen_name("pipe2") private func pipe2(_ fds: UnsafeMutablePointer<Int32>, _ flags: Int32) -> Int32

/// Runs Docker credential helpers: `docker-credential-NAME ACTION` (`get`, `store`, `erase`) with the request
/// on standard input, as Docker does. Used to read credentials (`CredentialStore`) and to store them (`AuthFile`).
enum CredentialHelper {
    /// What a helper answered.
    struct Outcome {
        var status: Int32
        /// Standard output (`get` prints the credentials as JSON here).
        var output: Data
        /// Standard error.
        var errors: String
    }

    /// Why a helper could not be run.
    struct Failure: Error {
        let why: String
    }

    /// Requests larger than this are refused (one must fit in a pipe before the helper starts).
    static let maxInput = 60 * 1024

    /// Runs the helper NAME with `action`, writing `input` to its standard input.
    ///
    /// The helper is started through `/usr/bin/env`, which finds it on the PATH (a missing helper exits 127).
    /// The request is written into the pipe before the helper starts, so a helper that exits without reading
    /// it cannot kill dray with SIGPIPE; its output and errors are read together, so neither can fill up and
    /// stall it.
    static func run(_ name: String, _ action: String, input: String) throws(Failure) -> Outcome {
        guard name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." }) else {
            throw Failure(why: "invalid helper name")
        }
        let request = Array(input.utf8)
        guard request.count <= maxInput else { throw Failure(why: "the request is too large") }
        var stdin: [Int32] = [-1, -1], stdout: [Int32] = [-1, -1], stderr: [Int32] = [-1, -1]
        defer { for fd in stdin + stdout + stderr where fd >= 0 { close(fd) } }
        guard pipe2(&stdin, O_CLOEXEC) == 0, pipe2(&stdout, O_CLOEXEC) == 0, pipe2(&stderr, O_CLOEXEC) == 0 else {
            throw Failure(why: "cannot make pipes: \(String(cString: strerror(errno)))")
        }
        // The request goes into the pipe first (it fits: a pipe holds 64 KiB), then its write end is closed.
        guard FileDescriptorIO.writeAll(stdin[1], request) else {
            throw Failure(why: "cannot write the request: \(String(cString: strerror(errno)))")
        }
        close(stdin[1])
        stdin[1] = -1

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdin[0], 0)
        posix_spawn_file_actions_adddup2(&actions, stdout[1], 1)
        posix_spawn_file_actions_adddup2(&actions, stderr[1], 2)
        let arguments = ["env", "docker-credential-\(name)", action]
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, "/usr/bin/env", &actions, nil, &argv, environ)
        guard spawned == 0 else { throw Failure(why: "cannot run: \(String(cString: strerror(spawned)))") }
        // Only the helper holds these ends now: its exit ends the reads below.
        close(stdin[0])
        stdin[0] = -1
        close(stdout[1])
        stdout[1] = -1
        close(stderr[1])
        stderr[1] = -1

        let (output, errors) = readBoth(stdout[0], stderr[0])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        // Exited normally: its status; killed by a signal: 128 + the signal, as shells report it.
        let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return Outcome(status: code, output: Data(output), errors: String(decoding: errors, as: UTF8.self))
    }

    /// Reads two descriptors to their ends at once.
    private static func readBoth(_ a: Int32, _ b: Int32) -> ([UInt8], [UInt8]) {
        var out: ([UInt8], [UInt8]) = ([], [])
        var fds = [pollfd(fd: a, events: Int16(POLLIN), revents: 0), pollfd(fd: b, events: Int16(POLLIN), revents: 0)]
        var open = 2
        while open > 0 {
            if poll(&fds, 2, -1) < 0 {
                if errno == EINTR { continue }
                break
            }
            for i in 0..<2 where fds[i].fd >= 0 && fds[i].revents != 0 {
                let chunk = FileDescriptorIO.read(fds[i].fd, max: 16 * 1024) ?? []
                if chunk.isEmpty {
                    fds[i].fd = -1
                    open -= 1
                } else if i == 0 {
                    out.0 += chunk
                } else {
                    out.1 += chunk
                }
            }
        }
        return out
    }
}
