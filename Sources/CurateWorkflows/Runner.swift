import CurateCore
import CurateStore
import CurateVersioning
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Runs a curate verb for a workflow step, in this process, with the repository root as the current folder.
///
/// The runner learns the outcome from the error type, never from text: a `GateFailure` pauses the run (its
/// `--fail-on` gate failed); any other error fails the step.
package protocol VerbExecutor: Sendable {
    /// Runs `curate VERB ARGUMENTS…` in `root`; returns when it succeeded.
    func run(verb: String, arguments: [String], root: String) async throws
}

/// Runs a workflow in a repository: each step's verb in this process through a `VerbExecutor` (the user's own
/// commands as processes, without a shell), skipping steps whose inputs are unchanged, pausing on failed gates,
/// recording every step so that `--resume` continues a paused or killed run.
package struct WorkflowRunner {
    package struct Options: Sendable {
        package var resume = false
        /// Steps to run even if unchanged.
        package var force: Set<String> = []
        /// Answers label steps from these known labels (a label file: CSV path,label, JSON Lines or COCO).
        package var oracle: String?
        /// Who labels in an interactive label step.
        package var annotator = ProcessInfo.processInfo.environment["USER"] ?? "annotator"
        /// Whether a label step may open the labeling session in this terminal.
        package var interactive = isatty(0) == 1 && isatty(1) == 1
        /// Seconds between checks while a label step waits for others to finish a queue.
        package var pollSeconds = 2.0
        /// The command that resumes this run, as the user would paste it (with `--repo` and `--set` when given).
        package var resumeCommand: String?
        package init() {}
    }

    /// The run in progress (nil before it is recorded and after it ended), for `interrupted()`.
    private let current = Current()
    private final class Current: Sendable {
        let value = Mutex<(run: Int, step: WorkflowStepRecord?)?>(nil)
        /// Set once a signal stops the run: the step's failure that follows is the stop, not a failure.
        let stopping = Mutex(false)
    }

    package var workflow: Workflow
    /// The workflow file as given (recorded with the run, and shown in resume hints).
    package var file: String
    package var repository: Repository
    /// Where runs, steps and queues are recorded.
    package var store: any LabelingStore
    /// Runs the verbs.
    package var verbs: any VerbExecutor
    package var options: Options
    package var log: @Sendable (String) -> Void

    package init(workflow: Workflow, file: String, repository: Repository, store: any LabelingStore, verbs: any VerbExecutor, options: Options,
                log: @escaping @Sendable (String) -> Void) {
        self.workflow = workflow
        self.file = file
        self.repository = repository
        self.store = store
        self.verbs = verbs
        self.options = options
        self.log = log
    }

    /// Runs (or resumes) the workflow; returns the run's id. Throws a ``WorkflowError``: `.gate` when a gate paused
    /// the run, `.waiting` when a queue is not done, `.failed` when a step failed.
    @discardableResult
    package func run() async throws -> Int {
        let repo = repository
        let store = self.store
        let runs = try store.workflowRuns(workflow: workflow.name)
        let runID: Int, token: String
        var finishedHere: [String: WorkflowStepRecord] = [:]
        if options.resume {
            guard let last = runs.last(where: { $0.status != .done }), runs.last?.id == last.id else {
                throw WorkflowError(.invalid, "nothing to resume: the last run of \(workflow.name) finished (run it again without --resume)")
            }
            runID = last.id
            token = last.token
            for s in try store.workflowSteps(run: runID) where s.status == .done || s.status == .cached { finishedHere[s.step] = s }
            try store.reopenWorkflowRun(runID)
            log("resuming run \(runID) of \(workflow.name) (\(finishedHere.count) steps already finished)")
        } else {
            let head = repo.headID() ?? "no commits"
            // A HEAD made by this workflow's last finished run is the state that run saw: not a change.
            if let done = runs.last(where: { $0.status == .done }), done.endRevision == head { token = done.token } else { token = head }
            let params = String(decoding: try JSONSerialization.data(withJSONObject: workflow.params, options: [.sortedKeys]), as: UTF8.self)
            runID = try store.startWorkflowRun(workflow: workflow.name, file: file, params: params, token: token)
            log("run \(runID) of \(workflow.name)")
        }
        current.value.withLock { $0 = (runID, nil) }
        defer { current.value.withLock { $0 = nil } }
        var keys: [String: String] = [:]
        let ordered = try workflow.order(file: file)
        for (index, step) in ordered.enumerated() {
            let label = "[\(index + 1)/\(ordered.count)] \(step.name)"
            let key = try self.key(step, token: token, upstream: step.after.map { keys[$0] ?? "" })
            keys[step.name] = key
            // Finished earlier in this run and unchanged since (a fix to its inputs makes it run again).
            if let done = finishedHere[step.name], done.key == key, try outputsMatch(done.outputs) {
                log("\(label): finished earlier in this run")
                continue
            }
            if !options.force.contains(step.name), let cached = try store.lastDoneStep(workflow: workflow.name, step: step.name),
               cached.key == key, try outputsMatch(cached.outputs) {
                try store.recordWorkflowStep(WorkflowStepRecord(run: runID, step: step.name, status: .cached, key: key, started: Date(), finished: Date(), outputs: cached.outputs))
                log("\(label): unchanged, skipped")
                continue
            }
            // A step left running by a killed run: stop what is left of it (if it is still that process), and start
            // clean (no half-written output).
            if let leftover = try store.workflowSteps(run: runID).first(where: { $0.step == step.name && $0.status == .running }), let pid = leftover.pid {
                stopLeftover(pid, identity: leftover.process)
            }
            // Outputs are moved aside, not deleted: put back if the step fails, removed once it succeeded.
            let outputs = try StepOutputs(root: repo.root, paths: step.outputs.map { try workflow.substitute($0, file: file, step: step) },
                                          step: step.name, run: runID)
            let started = Date()
            var record = WorkflowStepRecord(run: runID, step: step.name, status: .running, key: key, started: started)
            try store.recordWorkflowStep(record)
            current.value.withLock { $0?.step = record }
            log("\(label): \(describe(step))")
            do {
                try await execute(step) { pid in
                    record.pid = pid
                    record.process = ProcessIdentity.of(pid)
                    try? store.recordWorkflowStep(record)
                    current.value.withLock { [record] in $0?.step = record }
                }
                outputs.commit()
            } catch let error as WorkflowError {
                // Stopped by a signal: `interrupted` records the run and ends the process; record nothing here.
                while current.stopping.withLock({ $0 }) { try await Task.sleep(for: .seconds(1)) }
                outputs.restore()
                record.status = error.reason == .failed ? .failed : .paused
                record.finished = Date()
                record.message = error.message
                try store.recordWorkflowStep(record)
                try store.finishWorkflowRun(runID, status: error.reason == .failed ? .failed : .paused, message: error.message, endRevision: repo.headID())
                let hint = resumeHint
                switch error.reason {
                case .gate: throw WorkflowError(.gate, "paused at step \(step.name): \(error.message). Fix the data, then: \(hint)")
                case .waiting: throw WorkflowError(.waiting, "paused at step \(step.name): \(error.message). When it is labeled: \(hint)")
                default: throw WorkflowError(.failed, "step \(step.name) failed: \(error.message). Fix it, then: \(hint)")
                }
            }
            record.status = .done
            record.finished = Date()
            record.pid = nil
            record.outputs = try outputHashes(step)
            record.process = nil
            try store.recordWorkflowStep(record)
            log(String(format: "%@: done in %.1f s", label, Date().timeIntervalSince(started)))
        }
        try store.finishWorkflowRun(runID, status: .done, message: nil, endRevision: repo.headID())
        log("run \(runID) of \(workflow.name) finished")
        return runID
    }

    /// The command that resumes this workflow's run.
    var resumeHint: String { options.resumeCommand ?? "curate run \(file) --resume" }

    /// Records that the run was stopped from outside (Ctrl-C, SIGTERM) while a step was running: the step and the
    /// run become paused with `reason`, so `curate runs` does not show them running and `--resume` continues.
    /// Returns the message to print (nil when no run was in progress). Safe to call from a signal handler's queue.
    package func interrupted(_ reason: String) -> String? {
        current.stopping.withLock { $0 = true }
        guard let (runID, step) = current.value.withLock({ $0 }) else { return nil }
        let message = "\(reason)" + (step.map { " during step \($0.step)" } ?? "") + "; to continue: \(resumeHint)"
        if let pid = step?.pid, pid > 0 {
            // The step runs in its own process group, which the terminal's Ctrl-C does not reach: stop it here
            // (its outputs were moved aside; the resumed step starts clean).
            kill(-pid, SIGTERM)
            kill(pid, SIGTERM)
            for _ in 0..<50 where kill(pid, 0) == 0 { usleep(20_000) }
            if kill(pid, 0) == 0 { kill(-pid, SIGKILL); kill(pid, SIGKILL) }
        }
        if var step {
            step.status = .paused
            step.finished = Date()
            step.message = reason
            try? store.recordWorkflowStep(step)
        }
        try? store.finishWorkflowRun(runID, status: .paused, message: message, endRevision: repository.headID())
        return message
    }

    func describe(_ step: Workflow.Step) -> String {
        switch step.run {
        case "shell": return ((try? step.command.map { try workflow.substitute($0, step: step) }) ?? step.command).joined(separator: " ")
        case "label": return "label queue \((try? workflow.substitute(step.queue ?? "?", step: step)) ?? "?")" + (options.oracle != nil ? " (answered by the oracle)" : "")
        default: return "curate " + ([step.run] + ((try? step.args.map { try workflow.substitute($0, step: step) }) ?? step.args)).joined(separator: " ")
        }
    }

    /// What a step depends on: its definition after parameters, the repository state, its input files and the
    /// steps before it.
    func key(_ step: Workflow.Step, token: String, upstream: [String]) throws -> String {
        var parts: [String] = ["run=" + step.run, "token=" + token]
        parts += try step.args.map { "arg=" + (try workflow.substitute($0, step: step)) }
        parts += try step.command.map { "cmd=" + (try workflow.substitute($0, step: step)) }
        parts += ["queue=" + (step.queue ?? ""), "fail_on=" + (step.failOn ?? ""), "oracle=" + (options.oracle.map(hashPath) ?? "")]
        for input in step.inputs { let path = try workflow.substitute(input, step: step); parts.append("in=\(path)=" + hashPath(repository.root + "/" + path)) }
        parts += upstream.map { "after=" + $0 }
        return ContentHash.of(Data(parts.joined(separator: "\n").utf8)).hex
    }

    /// A file's or folder's contents as one hash ("missing" when absent).
    func hashPath(_ path: String) -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return "missing" }
        if !isDirectory.boolValue { return (FileManager.default.contents(atPath: path).map { ContentHash.of($0).hex }) ?? "unreadable" }
        let files = (FileManager.default.enumerator(atPath: path)?.allObjects as? [String] ?? []).sorted()
        var text = ""
        for f in files {
            var dir: ObjCBool = false
            if FileManager.default.fileExists(atPath: path + "/" + f, isDirectory: &dir), !dir.boolValue {
                text += f + " " + ((FileManager.default.contents(atPath: path + "/" + f).map { ContentHash.of($0).hex }) ?? "unreadable") + "\n"
            }
        }
        return ContentHash.of(Data(text.utf8)).hex
    }

    func outputHashes(_ step: Workflow.Step) throws -> String {
        var hashes: [String: String] = [:]
        for output in step.outputs {
            let path = try workflow.substitute(output, step: step)
            hashes[path] = hashPath(repository.root + "/" + path)
        }
        return String(decoding: try JSONSerialization.data(withJSONObject: hashes, options: [.sortedKeys]), as: UTF8.self)
    }

    /// Whether a cached step's outputs are still there, unchanged.
    func outputsMatch(_ json: String?) throws -> Bool {
        guard let json, let hashes = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: String] else { return true }
        return hashes.allSatisfy { path, hash in hash != "missing" && hashPath(repository.root + "/" + path) == hash }
    }

    /// Stops a step's process left by a killed run, only if `identity` shows it is still that process (not one that
    /// reused its pid after it died or after a reboot).
    func stopLeftover(_ pid: Int32, identity: String?) {
        guard pid > 0, kill(pid, 0) == 0 else { return }
        guard let identity, ProcessIdentity.of(pid) == identity else {
            log("process \(pid), recorded for the killed run's step, is now another program (pid reused): left alone")
            return
        }
        kill(-pid, SIGTERM)   // the step's process group (Process starts each child in its own)
        kill(pid, SIGTERM)
        for _ in 0..<50 where kill(pid, 0) == 0 { usleep(20_000) }
        if ProcessIdentity.of(pid) == identity {
            kill(-pid, SIGKILL)
            kill(pid, SIGKILL)
        }
        log("stopped process \(pid) left running by the killed run")
    }

    func execute(_ step: Workflow.Step, started: (Int32) -> Void) async throws {
        switch step.run {
        case "label":
            try await label(step)
        case "shell":
            let command = try step.command.map { try workflow.substitute($0, step: step) }
            guard let program = command.first else { throw WorkflowError(.invalid, "step \(step.name): empty command") }
            // The program itself, found like execvp does, given its arguments as they are: never a shell, never an
            // option parser (a parameter such as "-S touch FILE" is a program name that does not exist).
            let executable = try Self.locate(program, root: repository.root)
            let (status, message) = try spawn(executable, Array(command.dropFirst()), started: started)
            if status != 0 { throw WorkflowError(.failed, "\(program) \(status)" + (message.isEmpty ? "" : ": \(message)")) }
        default:
            var args = try step.args.map { try workflow.substitute($0, step: step) }
            if let gates = step.failOn { args += ["--fail-on", try workflow.substitute(gates, step: step)] }
            try await runVerb(step.run, args)
        }
    }

    /// A verb through the executor: a failed gate pauses the run, any other failure fails the step.
    func runVerb(_ verb: String, _ arguments: [String]) async throws {
        fflush(nil)   // our own lines first
        do {
            try await verbs.run(verb: verb, arguments: arguments, root: repository.root)
        } catch let gate as GateFailure {
            throw WorkflowError(.gate, gate.message)
        } catch let error as WorkflowError {
            throw error
        } catch {
            throw WorkflowError(.failed, "curate \(verb): \(error)")
        }
    }

    /// Runs a process in the repository, its output passed through; returns how it ended and its last stderr line.
    func spawn(_ executable: String, _ arguments: [String], started: (Int32) -> Void) throws -> (Termination, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: repository.root)
        let collected = Collected()
        let pipe = Pipe()
        process.standardError = pipe
        fflush(nil)   // our own lines first
        do { try process.run() } catch { throw WorkflowError(.failed, "cannot start \(executable): \(error.localizedDescription)") }
        started(process.processIdentifier)
        let done = DispatchSemaphore(value: 0)
        let handle = pipe.fileHandleForReading
        DispatchQueue.global().async {
            while true {
                let data = handle.availableData
                if data.isEmpty { break }
                StandardStreams.write(STDERR_FILENO, data)
                collected.append(data)
            }
            done.signal()
        }
        process.waitUntilExit()
        done.wait()
        var last = collected.text.split(separator: "\n").last.map(String.init) ?? ""
        if last.hasPrefix("error: ") { last.removeFirst("error: ".count) }
        let ended: Termination = process.terminationReason == .uncaughtSignal ? .signalled(process.terminationStatus) : .exited(process.terminationStatus)
        return (ended, last)
    }

    /// A label step: answered by the oracle, labeled here by a person, or awaited until others finish it.
    func label(_ step: Workflow.Step) async throws {
        let queue = try workflow.substitute(step.queue ?? "", step: step)
        let store = self.store
        func summary() throws -> QueueSummary { try store.queueSummary(queue) }
        if let oracle = options.oracle {
            let truth = try Self.oracleLabels(oracle)
            let spec = try summary().spec
            // As many oracle annotators as the items' overlap needs (experts-only queues: as their experts).
            var answered = 0, unknown = 0
            for i in 1...32 {
                guard let name = spec.annotators.map({ i <= $0.count ? $0[i - 1] : nil }) ?? "oracle-\(i)" else { break }
                var served = 0
                while let item = try store.leaseNext(queue, annotator: name) {
                    let answer: String
                    if let c = truth[item.path] { answer = #"{"class":"\#(c)"}"# } else { answer = #"{"skip":true}"#; unknown += 1 }
                    try store.storeAnswer(queue, path: item.path, annotator: name, answer: answer, seconds: 0, lease: item.lease ?? "")
                    served += 1
                }
                answered += served
                if served == 0 && i >= spec.overlap { break }
            }
            log("  the oracle answered \(answered) times in \(queue)" + (unknown > 0 ? " (\(unknown) items it does not know, skipped)" : ""))
            let s = try summary()
            if s.done < s.items { throw WorkflowError(.waiting, "queue \(queue) has \(s.done) of \(s.items) items done after the oracle answered") }
            return
        }
        var s = try summary()
        if s.done >= s.items { log("  queue \(queue) is done (\(s.items) items)"); return }
        if options.interactive {
            var ended = ""
            do { try await runVerb("label", ["--queue", queue, "--annotator", options.annotator]) } catch let error as WorkflowError { ended = " (the session: \(error.message))" }
            s = try summary()
            if s.done >= s.items { return }
            throw WorkflowError(.waiting, "queue \(queue) has \(s.done) of \(s.items) items done" + ended)
        }
        let deadline = Date().addingTimeInterval(step.timeout)
        log("  waiting for queue \(queue): \(s.done) of \(s.items) done (label it with curate label --queue \(queue) --annotator ID)")
        while Date() < deadline {
            try await Task.sleep(for: .seconds(options.pollSeconds))
            s = try summary()
            if s.done >= s.items { return }
        }
        throw WorkflowError(.waiting, "queue \(queue) has \(s.done) of \(s.items) items done after \(Int(step.timeout)) s")
    }

    /// Known labels by path (classification): the oracle's answers.
    static func oracleLabels(_ path: String) throws -> [String: String] {
        let ext = (path as NSString).pathExtension.lowercased()
        let format: LabelFormat = ext == "csv" ? .csv : ext == "jsonl" ? .jsonl : .coco
        let set = try format.read(from: path, options: LabelReadOptions(imagesRoot: LabelReadOptions.defaultRoot(forLabelFile: path))).labelSet
        var truth: [String: String] = [:]
        for a in set.annotations { if case .classification(let id) = a.label { truth[a.item] = set.schema.name(of: id) } }
        return truth
    }
}

/// Bytes gathered from a child's stderr on another thread.
final class Collected: Sendable {
    private let data = Mutex(Data())
    func append(_ d: Data) { data.withLock { $0.append(d); if $0.count > 65536 { $0.removeFirst($0.count - 65536) } } }
    var text: String { data.withLock { String(decoding: $0, as: UTF8.self) } }
}

/// How a step's process ended: "exited with 3" or "killed by signal 9".
enum Termination: Equatable, CustomStringConvertible {
    case exited(Int32)
    case signalled(Int32)

    static func != (a: Termination, code: Int32) -> Bool { a != .exited(code) }

    var description: String {
        switch self {
        case .exited(let code): return "exited with \(code)"
        case .signalled(let signal): return "was killed by signal \(signal)" + (signal == SIGKILL ? " (SIGKILL: out of memory, or killed by hand?)" : "")
        }
    }
}

/// Who a process is beyond its pid: the boot and the start time the kernel gives it (`/proc/PID/stat` field 22),
/// so a pid reused after the process died, or after a reboot, is never taken for it.
enum ProcessIdentity {
    static func of(_ pid: Int32) -> String? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        // After "pid (comm)": field 3 (state) is index 0, so field 22 (starttime) is index 19.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 19 else { return nil }
        let boot = (try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "unknown-boot"
        return boot + "/" + fields[19]
    }
}

extension WorkflowRunner {
    /// The executable for a shell step's program: a path (relative to the repository) when it has a `/`, else the
    /// first executable file of that name on `PATH`, as `execvp` finds it.
    static func locate(_ program: String, root: String) throws -> String {
        func executable(_ path: String) -> Bool {
            var st = stat()
            return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG && access(path, X_OK) == 0
        }
        if program.contains("/") {
            let path = program.hasPrefix("/") ? program : root + "/" + program
            guard executable(path) else { throw WorkflowError(.failed, "cannot run \(program): not an executable file") }
            return path
        }
        let search = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for folder in search.split(separator: ":") where !folder.isEmpty {
            let path = folder + "/" + program
            if executable(path) { return path }
        }
        throw WorkflowError(.failed, "cannot run '\(program)': no such program on PATH")
    }
}

/// A step's declared outputs: each must resolve (symlinks followed) to a place inside the repository and outside
/// `.curate`; what is there is moved aside before the step runs, put back if it fails, removed once it succeeded.
final class StepOutputs {
    private var moved: [(original: String, aside: String)] = []
    private let asideFolder: String

    /// The aside folder is named by run and step, so a resumed run finds the outputs a killed attempt moved there:
    /// those are the originals, and whatever the killed attempt left at the output paths is discarded.
    init(root: String, paths: [String], step: String, run: Int) throws {
        asideFolder = root + "/.curate/aside/run\(run)-" + ContentHash.of(Data(step.utf8)).short(16)
        let fm = FileManager.default
        var checked: [String] = []
        for output in paths {
            let full = try Self.checked(output, root: root)
            checked.append(full)
        }
        // `.complete` is written once every original is aside: before it, a file still at an output path is an
        // original (the move was interrupted); after it, it is what a killed attempt wrote.
        let complete = asideFolder + "/.complete"
        let earlierAttemptFinishedMoving = fm.fileExists(atPath: complete)
        for (index, (output, full)) in zip(paths, checked).enumerated() {
            let aside = asideFolder + "/\(index)"
            var st = stat()
            if lstat(aside, &st) == 0 {
                try? fm.removeItem(atPath: full)   // a killed attempt's partial output; the original is aside
                moved.append((full, aside))
            } else if lstat(full, &st) == 0 {
                if earlierAttemptFinishedMoving {
                    try? fm.removeItem(atPath: full)   // no original here: the killed attempt made this
                } else {
                    try? fm.createDirectory(atPath: asideFolder, withIntermediateDirectories: true)
                    guard rename(full, aside) == 0 else {
                        let reason = String(cString: strerror(errno))
                        restore()
                        throw WorkflowError(.failed, "step \(step): cannot move the old output \(output) aside: \(reason)")
                    }
                    moved.append((full, aside))
                }
            }
            let parent = (full as NSString).deletingLastPathComponent
            if !fm.fileExists(atPath: parent) { try? fm.createDirectory(atPath: parent, withIntermediateDirectories: true) }
        }
        try? fm.createDirectory(atPath: asideFolder, withIntermediateDirectories: true)
        _ = fm.createFile(atPath: complete, contents: Data())
    }

    /// The output's absolute path after checking that it, and every existing folder above it, stays in the repository.
    static func checked(_ output: String, root: String) throws -> String {
        guard !output.isEmpty, !output.hasPrefix("/"), !output.split(separator: "/").contains("..") else {
            throw WorkflowError(.invalid, "output \(output): must be a path inside the repository (no leading / or ..)")
        }
        let full = root + "/" + output
        // The deepest part that exists, with symlinks resolved, plus what does not exist yet.
        var existing = full
        var rest: [String] = []
        var st = stat()
        while lstat(existing, &st) != 0 {
            rest.insert((existing as NSString).lastPathComponent, at: 0)
            existing = (existing as NSString).deletingLastPathComponent
        }
        var real: String
        if let resolved = realpath(existing, nil) {
            real = String(cString: resolved)
            free(resolved)
        } else {
            // A dangling symlink: where it points is unknown, so it cannot be proven safe.
            throw WorkflowError(.invalid, "output \(output): \(existing) is a symbolic link to a missing place; remove it")
        }
        if !rest.isEmpty { real += "/" + rest.joined(separator: "/") }
        guard real.hasPrefix(root + "/"), !(real == root + "/.curate" || real.hasPrefix(root + "/.curate/")) else {
            throw WorkflowError(.invalid, "output \(output): resolves to \(real), outside the repository (a symbolic link?); nothing was changed")
        }
        return full
    }

    /// The step succeeded: the old outputs go.
    func commit() {
        for (_, aside) in moved { try? FileManager.default.removeItem(atPath: aside) }
        try? FileManager.default.removeItem(atPath: asideFolder)
        moved = []
    }

    /// The step failed: whatever it left at an output is removed and the old output put back.
    func restore() {
        for (original, aside) in moved.reversed() {
            try? FileManager.default.removeItem(atPath: original)
            rename(aside, original)
        }
        try? FileManager.default.removeItem(atPath: asideFolder)
        moved = []
    }
}
