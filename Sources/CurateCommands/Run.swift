import ArgumentParser
import CurateStore
import CurateVersioning
import CurateWorkflows
import Foundation

extension Curate {
    struct RunWorkflow: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run",
            abstract: "Run a workflow (YAML pipeline of curate verbs and your own commands) in the repository.",
            discussion: """
                Steps run in order (or as `after:` says) with the repository root as their folder: a curate verb \
                with its args, `label` (wait until a queue is done: answered by --oracle, labeled here in this \
                terminal, or by others until its timeout), or `shell` (a command as a list: no shell, parameter \
                values never split). ${name} takes a parameter (params: in the file, --set name=value here).

                A step whose definition, input files, repository state and earlier steps are unchanged since it \
                last finished — and whose outputs are still as it left them — is skipped, as dvc repro does; \
                --force STEP reruns it. A step's fail_on: gate (its verb's --fail-on) that fails pauses the run \
                with exit 65 and says which check failed and by how much; a queue not done pauses it with exit 79; \
                a failing step stops it with exit 1. `curate run FILE --resume` continues a paused, failed or \
                killed run without repeating its finished steps (a killed step starts over, its outputs removed \
                first). Ctrl-C or SIGTERM stops the step's process, records the run as paused and exits 130 (143), \
                printing the command that resumes it — with --repo and --set as given, so it works when pasted. \
                Runs are recorded in the repository: `curate runs`.

                Before anything runs the file is checked: YAML errors (file:line), unknown verbs or keys, cycles, \
                unknown parameters, outputs or inputs outside the repository.

                Examples:
                  curate run workflows/active-learning.yaml \\
                      --oracle datasets/digits/labels.csv
                  curate run workflows/quality-gate.yaml --set labels=answers.jsonl
                  curate run workflows/quality-gate.yaml --resume
                """)

        @Argument(help: "The workflow file.")
        var file: String

        @Option(name: .customLong("set"), help: "A parameter, as name=value (repeatable).")
        var settings: [String] = []

        @Flag(help: "Continue the last paused, failed or killed run of this workflow.")
        var resume = false

        @Option(help: "Run this step even if nothing changed (repeatable).")
        var force: [String] = []

        @Option(help: "Answer label steps from these known labels (CSV path,label, JSON Lines or COCO); also CURATE_ORACLE.")
        var oracle: String?

        @Option(help: "Who labels when a label step opens the session in this terminal (default: $USER).")
        var annotator: String?

        @OptionGroup var repository: RepositoryOption

        func run() async throws {
            try await reportingErrors {
                let text = try readText(file)
                var overrides: [String: String] = [:]
                for s in settings {
                    guard let eq = s.firstIndex(of: "="), eq != s.startIndex else { throw CommandFailure(message: "--set takes name=value, not \(s)", kind: .usage) }
                    overrides[String(s[..<eq])] = String(s[s.index(after: eq)...])
                }
                let workflow = try Workflow(yaml: text, file: file, overrides: overrides)
                for name in force where !workflow.steps.contains(where: { $0.name == name }) {
                    throw CommandFailure(message: "--force \(name): no such step (steps: \(workflow.steps.map(\.name).joined(separator: ", ")))", kind: .usage)
                }
                let (repo, store) = try repository.openWithStore()
                var options = WorkflowRunner.Options()
                options.resume = resume
                options.force = Set(force)
                options.oracle = (oracle ?? ProcessInfo.processInfo.environment["CURATE_ORACLE"]).map { path in
                    path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
                }
                // A label step's session answers as the database role on a shared store, as $USER on the local one.
                options.annotator = try store.annotator(requested: annotator ?? (store is SQLiteStore ? options.annotator : nil))
                if let o = options.oracle, !FileManager.default.fileExists(atPath: o) { throw CommandFailure(message: "\(o): cannot read (the oracle's labels)", kind: .notFound) }
                // The resume hint, pastable from this folder: the same repository and parameters.
                options.resumeCommand = (["curate", "run", file, "--resume"] + (repository.path == "." ? [] : ["--repo", repository.path])
                                         + settings.flatMap { ["--set", $0] }).map(shellQuoted).joined(separator: " ")
                let runner = WorkflowRunner(workflow: workflow, file: file, repository: repo, store: store, verbs: InProcessVerbs(), options: options) { Console.out($0) }
                // Ctrl-C or SIGTERM: the run is recorded as paused (not left "running") and says how to resume; a
                // step's process gets the same signal from the terminal (or is stopped by the resume).
                let signals = [Int32(SIGINT), Int32(SIGTERM)].map { (number: Int32) -> DispatchSourceSignal in
                    signal(number, SIG_IGN)
                    let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
                    source.setEventHandler {
                        let reason = number == SIGINT ? "interrupted (Ctrl-C)" : "stopped (SIGTERM)"
                        if let message = runner.interrupted(reason) { Console.error(message) }
                        Foundation.exit(128 + number)   // as a shell reports a process stopped by that signal
                    }
                    source.resume()
                    return source
                }
                defer {
                    for s in signals { s.cancel() }
                    signal(SIGINT, SIG_DFL)
                    signal(SIGTERM, SIG_DFL)
                }
                try await runner.run()
            }
        }
    }
}

/// An argument as a POSIX shell reads it back (quoted only when it needs to be).
func shellQuoted(_ argument: String) -> String {
    let plain = argument.allSatisfy { $0.isLetter || $0.isNumber || "-_./=:,@%+".contains($0) }
    return plain && !argument.isEmpty ? argument : "'" + argument.replacingOccurrences(of: "'", with: "'\\''") + "'"
}

/// Runs workflow steps' verbs in this process: parsed by the same commands as on the command line, run with the
/// repository root as the current folder, their errors handed back typed (a failed gate is a `GateFailure`).
struct InProcessVerbs: VerbExecutor {
    func run(verb: String, arguments: [String], root: String) async throws {
        let fm = FileManager.default
        let previous = fm.currentDirectoryPath
        guard fm.changeCurrentDirectoryPath(root) else { throw CommandFailure(message: "\(root): cannot enter the repository folder", kind: .notFound) }
        defer { _ = fm.changeCurrentDirectoryPath(previous) }
        let command: any ParsableCommand
        do { command = try Curate.parseAsRoot([verb] + arguments) } catch {
            let text = Curate.message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
            throw CommandFailure(message: text, kind: .usage)
        }
        try await InProcess.$active.withValue(true) {
            if var async = command as? any AsyncParsableCommand { try await async.run() } else {
                var sync = command
                try sync.run()
            }
        }
    }
}
