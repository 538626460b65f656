import ArgumentParser
import CurateAugment
import CurateRemote
import CurateVersioning
import Foundation

/// The `curate` command: a data-prep and labeling toolkit.
package struct Curate: AsyncParsableCommand {
    package static let version = "0.1.0"

    package static let configuration = CommandConfiguration(
        commandName: "curate",
        abstract: "Version, augment, validate, select and label training data.",
        discussion: """
            Curate works on a dataset folder of images (PNG, JPEG) and label files (COCO, YOLO, \
            Pascal VOC, CSV, JSONL).

            Examples:
              curate inspect datasets/photos/images/*.jpg
              curate labels convert datasets/photos/labels.coco.json --from coco --to yolo \\
                  --images datasets/photos --out /tmp/photos-yolo

            Exit codes: 0 success, 1 unexpected failure, 64 usage error, 65 the data failed checks \
            (invalid labels, corrupt image), 66 a file, folder, revision or repository was not found or cannot be \
            read, 69 a server (a remote, the labeling store's database) cannot be reached or refused the credentials, \
            75 the repository lock is held or someone else changed the same thing first (retry; fetch first), 79 a \
            workflow paused until people finish a queue.
            """,
        // The pixel kernels' instruction-set path is part of what a run used (CURATE_CPU forces one).
        version: "\(version) (pixel kernels: \(CPUPath.current.rawValue))",
        subcommands: [
            Init.self, Add.self, StatusCommand.self, Commit.self, Log.self, Show.self, Tag.self, DiffCommand.self,
            Checkout.self, Fsck.self, GC.self, Remote.self, Push.self, Fetch.self, Pull.self, Clone.self, Augment.self, Validate.self, Annotators.self, Issues.self, Select.self, Simulate.self, Triage.self, Queue.self, LabelCommand.self, WatchCommand.self, Route.self, Store.self, RunWorkflow.self, Runs.self,
            Inspect.self, Labels.self, Merge.self,
        ])

    package init() {}

    /// Runs the command line, then exits 1 if the command succeeded but its output could not be written.
    package static func run() async {
        do {
            try CPUPath.configure(environment: ProcessInfo.processInfo.environment)
        } catch {
            Console.error("\(error)")
            Glibc.exit(ExitCodes.usage)
        }
        if let word = CommandLine.arguments.dropFirst().first, let message = unknownCommand(word) {
            Console.error(message)
            Glibc.exit(ExitCodes.usage)
        }
        // A partial clone fetches the files it lacks from its remote when something reads them.
        MissingObjects.install(RemoteObjectSource.finder(environment: ProcessInfo.processInfo.environment))
        await main()
        Console.finish()
    }

    /// The error for a first word that is not a verb ("comit" → did you mean "commit"?), or nil when it is one or
    /// is an option. ArgumentParser alone would blame the next option ("Unknown option '-m'").
    static func unknownCommand(_ word: String) -> String? {
        guard !word.hasPrefix("-") else { return nil }
        let verbs = configuration.subcommands.map { $0._commandName } + ["help"]
        guard !verbs.contains(word) else { return nil }
        let nearest = verbs.map { ($0, editDistance($0, word)) }.min { $0.1 < $1.1 }
        if let (verb, distance) = nearest, distance <= max(1, word.count / 3) {
            return "unknown command '\(word)'; did you mean '\(verb)'? (curate --help lists the commands)"
        }
        return "unknown command '\(word)' (curate --help lists the commands)"
    }
}

/// Levenshtein distance between two words (for suggestions).
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    var previous = Array(0...b.count)
    for i in 1...max(1, a.count) where !a.isEmpty {
        var current = [i] + Array(repeating: 0, count: b.count)
        for j in 1...max(1, b.count) where !b.isEmpty {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        previous = current
    }
    return a.isEmpty ? b.count : previous[b.count]
}
