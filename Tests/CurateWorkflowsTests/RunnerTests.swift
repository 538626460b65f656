import CurateCore
import CurateStore
import CurateTestSupport
import CurateVersioning
@testable import CurateWorkflows
import Foundation
import Synchronization
import Testing

/// The runner with a fake verb executor: what it calls, how typed outcomes pause or fail a run, caching and resume
/// — without the CLI.
@Suite struct RunnerTests {
    /// Records every verb call; fails the ones told to, with the error given.
    final class FakeVerbs: VerbExecutor {
        let calls = Mutex<[String]>([])
        let failures = Mutex<[String: any Error & Sendable]>([:])

        func run(verb: String, arguments: [String], root: String) async throws {
            let call = ([verb] + arguments).joined(separator: " ")
            calls.withLock { $0.append(call) }
            if let error = failures.withLock({ $0[verb] }) { throw error }
        }
        var made: [String] { calls.withLock { $0 } }
        func fail(_ verb: String, with error: (any Error & Sendable)?) { failures.withLock { $0[verb] = error } }
    }

    let yaml = """
        name: w
        params: {budget: "5"}
        steps:
          - {name: pick, run: select, args: [--budget, "${budget}"]}
          - {name: check, run: validate, after: [pick], fail_on: "alpha<0.6"}
          - {name: tag, run: tag, args: [v1], after: [check]}
        """

    func runner(_ scratch: ScratchDirectory, _ verbs: FakeVerbs, resume: Bool = false) throws -> WorkflowRunner {
        let repo = try Repository.open(at: scratch.path)
        var options = WorkflowRunner.Options()
        options.resume = resume
        options.interactive = false
        return WorkflowRunner(workflow: try Workflow(yaml: yaml, file: "w.yaml"), file: "w.yaml", repository: repo,
                              store: try SQLiteStore.open(curateDirectory: repo.root + "/.curate"), verbs: verbs, options: options) { _ in }
    }

    func repository() throws -> ScratchDirectory {
        let scratch = ScratchDirectory()
        _ = try Repository.initialize(at: scratch.path)
        return scratch
    }

    @Test func stepsRunInOrderWithSubstitutedArgumentsAndGates() async throws {
        let scratch = try repository()
        let verbs = FakeVerbs()
        let run = try await runner(scratch, verbs).run()
        #expect(verbs.made == ["select --budget 5", "validate --fail-on alpha<0.6", "tag v1"])
        // Unchanged: a second run calls nothing.
        #expect(try await runner(scratch, verbs).run() == run + 1)
        #expect(verbs.made.count == 3)
        let steps = try SQLiteStore.open(curateDirectory: scratch.path + "/.curate").workflowSteps(run: run + 1)
        #expect(steps.map(\.status) == [.cached, .cached, .cached])
    }

    /// A `GateFailure` pauses (exit 65 at the CLI), any other error fails the step; resume runs only what is left.
    @Test func aGateFailurePausesAndResumeContinues() async throws {
        let scratch = try repository()
        let verbs = FakeVerbs()
        verbs.fail("validate", with: GateFailure(["alpha is 0.41, the gate fails at alpha<0.6"]))
        do {
            _ = try await runner(scratch, verbs).run()
            Issue.record("the gate did not pause the run")
        } catch let error as WorkflowError {
            #expect(error.reason == .gate && error.kind == .invalidData)
            #expect(error.message == "paused at step check: gate failed: alpha is 0.41, the gate fails at alpha<0.6. Fix the data, then: curate run w.yaml --resume")
        }
        #expect(verbs.made == ["select --budget 5", "validate --fail-on alpha<0.6"])
        verbs.fail("validate", with: nil)
        _ = try await runner(scratch, verbs, resume: true).run()
        #expect(verbs.made == ["select --budget 5", "validate --fail-on alpha<0.6", "validate --fail-on alpha<0.6", "tag v1"])
        let runs = try SQLiteStore.open(curateDirectory: scratch.path + "/.curate").workflowRuns()
        #expect(runs.map(\.status) == [.done])
    }

    @Test func anyOtherErrorFailsTheStep() async throws {
        let scratch = try repository()
        let verbs = FakeVerbs()
        verbs.fail("select", with: InputError("batch.jsonl:3: expected {\"item\": PATH, …}"))
        do {
            _ = try await runner(scratch, verbs).run()
            Issue.record("the failure did not stop the run")
        } catch let error as WorkflowError {
            #expect(error.reason == .failed)
            #expect(error.message == "step pick failed: curate select: batch.jsonl:3: expected {\"item\": PATH, …}. Fix it, then: curate run w.yaml --resume")
        }
        #expect(verbs.made == ["select --budget 5"])
        let store = try SQLiteStore.open(curateDirectory: scratch.path + "/.curate")
        #expect(try store.workflowRuns().map(\.status) == [.failed])
    }
}
