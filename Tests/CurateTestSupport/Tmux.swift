import Foundation
import Testing

/// A private tmux server for driving terminal programs as a person would: keys with send-keys, the screen with
/// capture-pane. Runs tmux through the shell (`system`): a new session's server daemonises, which Foundation's
/// Process does not always notice; capture-pane's output goes through a file.
package struct Tmux: Sendable {
    package let socket = "curate-test-\(UUID().uuidString.prefix(8))"

    package init() {}

    @discardableResult
    package func callAsFunction(_ args: [String]) -> String {
        let quoted = args.map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
        let file = NSTemporaryDirectory() + "\(socket)-capture.txt"
        _ = system("tmux -L \(socket) \(quoted) > '\(file)' 2>/dev/null < /dev/null")
        defer { try? FileManager.default.removeItem(atPath: file) }
        return (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
    }

    /// The lines of a pane.
    package func screen(_ target: String) -> [String] {
        self(["capture-pane", "-t", target, "-p"]).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    }

    /// Polls the pane until `condition` holds (at most 30 s: CI runs other tests beside it); records an issue with
    /// the screen when it never does.
    package func waitFor(_ target: String, _ what: String, _ condition: ([String]) -> Bool) -> [String] {
        for _ in 0..<300 {
            let s = screen(target)
            if condition(s) { return s }
            Thread.sleep(forTimeInterval: 0.1)
        }
        let s = screen(target)
        Issue.record("timed out waiting for \(what); screen:\n\(s.joined(separator: "\n"))")
        return s
    }
}
