import Foundation
import CurateCore
import Yams

/// Why a workflow was refused or stopped.
package struct WorkflowError: CurateError {
    /// What stopped the run: a bad workflow, a failed gate, a queue people have not finished, a failed step.
    package enum Reason: Sendable { case invalid, gate, waiting, failed }
    package var reason: Reason
    package var message: String
    package init(_ reason: Reason = .invalid, _ message: String) { self.reason = reason; self.message = message }
    package var description: String { message }
    package var kind: FailureKind {
        switch reason {
        case .invalid, .gate: .invalidData
        case .waiting: .waiting
        case .failed: .internal
        }
    }
}

/// A workflow file: named steps that run Curate's verbs (or the user's commands) in order, with parameters.
///
/// ```yaml
/// name: active-learning
/// params: {budget: 100}
/// steps:
///   - name: select
///     run: select                          # a curate verb, `label`, or `shell`
///     args: [--strategy, margin, --budget, "${budget}", --out, work/batch.jsonl]
///     outputs: [work/batch.jsonl]
///   - name: train
///     run: shell
///     command: [python3, train.py, --data, work/batch.jsonl]   # a list: no shell, values never re-split
///     inputs: [train.py]
///   - name: label
///     run: label
///     queue: digits-human
///     timeout: 3600
///   - name: validate
///     run: validate
///     args: [--labels, work/answers.jsonl, --format, jsonl]
///     fail_on: "alpha<0.6,spam>0"         # the step's own --fail-on: a failure pauses the run
/// ```
/// Steps run in file order; `after: [a, b]` makes the dependencies explicit (default: the step before).
package struct Workflow: Sendable, Equatable {
    package struct Step: Sendable, Equatable {
        package var name: String
        package var run: String
        package var args: [String] = []
        package var command: [String] = []
        package var inputs: [String] = []
        package var outputs: [String] = []
        package var after: [String] = []
        package var failOn: String?
        package var queue: String?
        package var timeout: Double = 3600
        package var line: Int = 0
    }

    package var name: String
    package var params: [String: String]
    package var steps: [Step]

    /// The verbs a step may run: Curate's own, `label` (wait for a queue, or answer it from an oracle) and `shell`.
    package static let verbs: Set<String> = ["select", "route", "label", "validate", "annotators", "issues", "augment", "commit", "add",
                                            "simulate", "triage", "queue", "diff", "tag", "checkout", "labels", "shell"]

    /// Parses and checks a workflow before anything runs: YAML errors with file and line, unknown verbs or keys,
    /// duplicate or unknown step names, cycles, undefined parameters and outputs outside the repository.
    package init(yaml: String, file: String, overrides: [String: String] = [:]) throws(WorkflowError) {
        let root: Node?
        do { root = try BoundedYAML.compose(yaml) } catch { throw WorkflowError(.invalid, "\(file): \(error)") }
        guard let mapping = root?.mapping else { throw WorkflowError(.invalid, "\(file): expected a mapping with name and steps") }
        func line(_ node: Node) -> Int { (node.mark?.line ?? 0) }
        func strings(_ node: Node, _ what: String) throws(WorkflowError) -> [String] {
            guard let seq = node.sequence else { throw WorkflowError(.invalid, "\(file):\(line(node)): \(what) must be a list") }
            var out: [String] = []
            for item in seq {
                guard let s = item.scalar?.string else { throw WorkflowError(.invalid, "\(file):\(line(item)): \(what) items must be text") }
                out.append(s)
            }
            return out
        }
        var name = ((file as NSString).lastPathComponent as NSString).deletingPathExtension
        var params: [String: String] = [:]
        var steps: [Step] = []
        for (k, v) in mapping {
            switch k.string ?? "" {
            case "name":
                guard let s = v.scalar?.string, !s.isEmpty else { throw WorkflowError(.invalid, "\(file):\(line(v)): name must be text") }
                name = s
            case "params":
                guard let m = v.mapping else { throw WorkflowError(.invalid, "\(file):\(line(v)): params must be a mapping") }
                for (pk, pv) in m {
                    guard let key = pk.string, let value = pv.scalar?.string else { throw WorkflowError(.invalid, "\(file):\(line(pv)): params values must be scalars") }
                    params[key] = value
                }
            case "steps":
                guard let seq = v.sequence, !seq.isEmpty else { throw WorkflowError(.invalid, "\(file):\(line(v)): steps must be a non-empty list") }
                for node in seq {
                    guard let m = node.mapping else { throw WorkflowError(.invalid, "\(file):\(line(node)): each step must be a mapping") }
                    var step = Step(name: "", run: "", line: line(node))
                    for (sk, sv) in m {
                        let key = sk.string ?? "?"
                        switch key {
                        case "name": step.name = sv.scalar?.string ?? ""
                        case "run": step.run = sv.scalar?.string ?? ""
                        case "args": step.args = try strings(sv, "args")
                        case "command": step.command = try strings(sv, "command")
                        case "inputs": step.inputs = try strings(sv, "inputs")
                        case "outputs": step.outputs = try strings(sv, "outputs")
                        case "after": step.after = try strings(sv, "after")
                        case "fail_on": step.failOn = sv.scalar?.string
                        case "queue": step.queue = sv.scalar?.string
                        case "timeout":
                            guard let t = sv.float, t > 0 else { throw WorkflowError(.invalid, "\(file):\(line(sv)): timeout must be a positive number of seconds") }
                            step.timeout = t
                        default:
                            throw WorkflowError(.invalid, "\(file):\(line(sk)): unknown key '\(key)' in a step (expected name, run, args, command, inputs, outputs, after, fail_on, queue, timeout)")
                        }
                    }
                    guard !step.name.isEmpty, step.name.allSatisfy({ $0.isLetter || $0.isNumber || "-_".contains($0) }) else {
                        throw WorkflowError(.invalid, "\(file):\(step.line): a step needs a name of letters, digits, '-' and '_'")
                    }
                    guard Self.verbs.contains(step.run) else {
                        throw WorkflowError(.invalid, "\(file):\(step.line): step \(step.name) runs unknown verb '\(step.run)' (known: \(Self.verbs.sorted().joined(separator: ", ")))")
                    }
                    if step.run == "shell" && step.command.isEmpty { throw WorkflowError(.invalid, "\(file):\(step.line): shell step \(step.name) needs command: [program, args…]") }
                    if step.run == "label" && step.queue == nil { throw WorkflowError(.invalid, "\(file):\(step.line): label step \(step.name) needs queue") }
                    if step.run != "shell" && !step.command.isEmpty { throw WorkflowError(.invalid, "\(file):\(step.line): command is for shell steps; \(step.name) takes args") }
                    steps.append(step)
                }
            default:
                throw WorkflowError(.invalid, "\(file):\(line(k)): unknown key '\(k.string ?? "?")' (expected name, params, steps)")
            }
        }
        guard !steps.isEmpty else { throw WorkflowError(.invalid, "\(file): no steps") }
        // ${workflow_dir}: the workflow file's folder (absolute), for files kept beside it.
        let folder = (file as NSString).deletingLastPathComponent
        let absolute = folder.hasPrefix("/") ? folder : (FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(folder)
        params["workflow_dir"] = (absolute as NSString).standardizingPath
        for (key, value) in overrides {
            guard params[key] != nil, key != "workflow_dir" else { throw WorkflowError(.invalid, "--set \(key): the workflow has no parameter \(key) (it has: \(params.keys.filter { $0 != "workflow_dir" }.sorted().joined(separator: ", ")))") }
            params[key] = value
        }
        // Names, dependencies, cycles.
        var seen = Set<String>()
        for (i, step) in steps.enumerated() {
            guard seen.insert(step.name).inserted else { throw WorkflowError(.invalid, "\(file):\(step.line): two steps are named \(step.name)") }
            if step.after.isEmpty && i > 0 { steps[i].after = [steps[i - 1].name] }
        }
        let names = Set(steps.map(\.name))
        for step in steps {
            for d in step.after where !names.contains(d) { throw WorkflowError(.invalid, "\(file):\(step.line): step \(step.name) comes after unknown step \(d)") }
        }
        self.name = name
        self.params = params
        self.steps = steps
        _ = try order(file: file)
        // Parameters used must exist; paths must stay inside the repository.
        for step in steps {
            for text in step.args + step.command + step.inputs + step.outputs + [step.queue ?? "", step.failOn ?? ""] {
                _ = try substitute(text, file: file, step: step)
            }
            for path in try (step.outputs + step.inputs).map({ p throws(WorkflowError) in try substitute(p, file: file, step: step) }) {
                guard Self.isInside(path) else { throw WorkflowError(.invalid, "\(file):\(step.line): step \(step.name): \(path) is outside the repository") }
            }
        }
    }

    /// `${name}` replaced by the parameter's value, inside one argument (values are never split into several).
    package func substitute(_ text: String, file: String = "workflow", step: Step, depth: Int = 0) throws(WorkflowError) -> String {
        guard depth < 8 else { throw WorkflowError(.invalid, "\(file):\(step.line): step \(step.name): parameters refer to each other in a loop") }
        var out = "", rest = Substring(text)
        while let open = rest.range(of: "${") {
            out += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].firstIndex(of: "}") else { throw WorkflowError(.invalid, "\(file):\(step.line): step \(step.name): unclosed ${ in '\(text)'") }
            let key = String(rest[open.upperBound..<close])
            guard let value = params[key] else { throw WorkflowError(.invalid, "\(file):\(step.line): step \(step.name) uses ${\(key)}, which is not a parameter") }
            out += try substitute(value, file: file, step: step, depth: depth + 1)   // values may use other parameters
            rest = rest[rest.index(after: close)...]
        }
        return out + rest
    }

    /// A relative path that stays inside the repository (no leading '/', no climbing above the root with '..').
    static func isInside(_ path: String) -> Bool {
        guard !path.isEmpty, !path.hasPrefix("/"), !path.hasPrefix("~") else { return false }
        var depth = 0
        for part in path.split(separator: "/") {
            if part == ".." { depth -= 1 } else if part != "." { depth += 1 }
            if depth < 0 { return false }
        }
        return true
    }

    /// Steps in an order that respects `after` (file order among ready steps); a cycle is an error naming it.
    package func order(file: String = "workflow") throws(WorkflowError) -> [Step] {
        var done = Set<String>(), result: [Step] = []
        while result.count < steps.count {
            guard let next = steps.first(where: { !done.contains($0.name) && $0.after.allSatisfy(done.contains) }) else {
                let stuck = steps.filter { !done.contains($0.name) }.map(\.name)
                throw WorkflowError(.invalid, "\(file): the steps \(stuck.joined(separator: ", ")) wait for each other (a cycle in after)")
            }
            done.insert(next.name)
            result.append(next)
        }
        return result
    }
}
