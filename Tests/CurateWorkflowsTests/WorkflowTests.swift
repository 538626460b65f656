@testable import CurateWorkflows
import Foundation
import Testing

@Suite struct WorkflowTests {
    func error(_ yaml: String, overrides: [String: String] = [:]) -> String {
        do { _ = try Workflow(yaml: yaml, file: "w.yaml", overrides: overrides); return "" } catch { return error.message }
    }

    @Test func parsesStepsParametersAndOrder() throws {
        let w = try Workflow(yaml: """
            name: demo
            params: {budget: "50", out: work/batch.jsonl}
            steps:
              - {name: select, run: select, args: [--budget, "${budget}", --out, "${out}"], outputs: ["${out}"]}
              - {name: train, run: shell, command: [python3, train.py, "a b; rm -rf /"], inputs: [train.py]}
              - {name: check, run: validate, after: [select], fail_on: "alpha<0.6"}
            """, file: "/tmp/flows/w.yaml", overrides: ["budget": "80"])
        #expect(w.name == "demo" && w.params["budget"] == "80" && w.params["workflow_dir"] == "/tmp/flows")
        #expect(w.steps.map(\.after) == [[], ["select"], ["select"]])
        let select = w.steps[0]
        #expect(try select.args.map { try w.substitute($0, step: select) } == ["--budget", "80", "--out", "work/batch.jsonl"])
        // A value with spaces and semicolons stays one argument.
        #expect(w.steps[1].command[2] == "a b; rm -rf /")
        #expect(try w.order().map(\.name) == ["select", "train", "check"])
    }

    @Test func refusedBeforeAnythingRuns() {
        #expect(error("steps: [{name: a, run: train}]") == "w.yaml:1: step a runs unknown verb 'train' (known: add, annotators, augment, checkout, commit, diff, issues, label, labels, queue, route, select, shell, simulate, tag, triage, validate)")
        #expect(error("steps:\n  - {name: a, run: select, after: [b]}\n  - {name: b, run: select, after: [a]}") == "w.yaml: the steps a, b wait for each other (a cycle in after)")
        #expect(error("steps:\n  - {name: a, run: select, outputs: [../elsewhere.txt]}") == "w.yaml:2: step a: ../elsewhere.txt is outside the repository")
        #expect(error("steps:\n  - {name: a, run: select, outputs: [/tmp/x]}") == "w.yaml:2: step a: /tmp/x is outside the repository")
        #expect(error("steps:\n  - {name: a, run: select, args: [\"${nope}\"]}") == "w.yaml:2: step a uses ${nope}, which is not a parameter")
        #expect(error("params: {a: \"1\"}\nsteps: [{name: s, run: select}]", overrides: ["b": "2"]) == "--set b: the workflow has no parameter b (it has: a)")
        #expect(error("steps:\n  - {name: a, run: select}\n  - {name: a, run: commit}") == "w.yaml:3: two steps are named a")
        #expect(error("steps:\n  - {name: a, run: select, colour: red}").hasPrefix("w.yaml:2: unknown key 'colour' in a step"))
        #expect(error("steps:\n  - {name: a, run: shell}") == "w.yaml:2: shell step a needs command: [program, args…]")
        #expect(error("steps:\n  - {name: a, run: label}") == "w.yaml:2: label step a needs queue")
        #expect(error("name: x\nsteps: [").hasPrefix("w.yaml: not valid YAML"))
        #expect(error("stages: []") == "w.yaml:1: unknown key 'stages' (expected name, params, steps)")
        #expect(Workflow.isInside("work/a/../b.txt") && !Workflow.isInside("work/../../b.txt") && !Workflow.isInside("~/x"))
    }
}
