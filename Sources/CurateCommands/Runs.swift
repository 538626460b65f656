import ArgumentParser
import CurateStore
import CurateVersioning
import CurateWorkflows
import Foundation

extension Curate {
    struct Runs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List workflow runs recorded in the repository.", discussion: "Examples:\n  curate runs\n  curate runs --json")

        @Option(help: "Only this workflow's runs.")
        var workflow: String?

        @Flag(help: "Print JSON.")
        var json = false

        @OptionGroup var repository: RepositoryOption

        func run() async throws {
            try await reportingErrors {
                let store = try repository.store()
                let runs = try store.workflowRuns(workflow: workflow)
                var rows: [[String]] = [], objects: [[String: Any]] = []
                let format = ISO8601DateFormatter()
                for r in runs {
                    let steps = try store.workflowSteps(run: r.id)
                    let ran = steps.filter { $0.status == .done }.count, skipped = steps.filter { $0.status == .cached }.count
                    let seconds = (r.finished ?? Date()).timeIntervalSince(r.started)
                    rows.append([String(r.id), r.workflow, r.status.rawValue, format.string(from: r.started), String(format: "%.1f s", seconds),
                                 "\(ran) ran, \(skipped) skipped", r.message ?? ""])
                    objects.append(["id": r.id, "workflow": r.workflow, "file": r.file, "status": r.status.rawValue, "started": format.string(from: r.started),
                                    "seconds": seconds, "params": r.params, "message": r.message ?? NSNull(),
                                    "steps": steps.map { ["step": $0.step, "status": $0.status.rawValue, "seconds": ($0.finished ?? Date()).timeIntervalSince($0.started), "message": $0.message ?? NSNull()] as [String: Any] }])
                }
                if json { return Console.out(try jsonText(["runs": objects])) }
                if rows.isEmpty { return Console.out("no workflow runs (curate run FILE)") }
                Console.out(Table(["run", "workflow", "status", "started", "time", "steps", "message"], rows).text)
            }
        }
    }
}
