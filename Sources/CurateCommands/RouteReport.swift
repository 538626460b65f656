import ArgumentParser
import CurateCore
import CurateImaging
import CurateQuality
import CurateRouting
import CurateSelection
import CurateStore
import CurateVersioning
import Foundation

extension Curate.Route {
    struct Report: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Accuracy of auto-accepted labels measured by the blind audits, with 95% Wilson intervals.",
            discussion: """
                Compares each audited item's model label with the first human answer in its audit queue. A class \
                whose whole interval lies below the target stops being auto-accepted (recorded in the repository; \
                later route runs send its items to people). --dry-run measures without suspending.

                Examples:
                  curate route report
                  curate route report --dry-run --json
                """)

        @Option(help: "The target (default: the last route run's).")
        var targetAccuracy: Double?

        @Flag(help: "Measure only; suspend nothing.")
        var dryRun = false

        @Option(help: "Exit 65 when a condition holds, e.g. \"low<0.95\": accuracy, low / high (the overall 95% interval), audited, suspended (classes).")
        var failOn: String?

        @Flag(help: "Print the report as JSON.")
        var json = false

        @OptionGroup var repository: RepositoryOption

        func run() async throws {
            try await reportingErrors {
                let gates = try gates(failOn)
                let (repo, store) = try repository.openWithStore()
                let outcome = try Routing.audit(repository: repo, store: store, target: targetAccuracy, dryRun: dryRun)
                try checkGates(gates, outcome.metrics)
                if json { Console.out(try outcome.compactJSON()); return }
                Console.out("audits of auto-accepted labels: \(outcome.overall.audited) answered, \(outcome.pending) waiting; target \(outcome.target)")
                guard outcome.overall.audited > 0 else {
                    // Nothing to measure: an accuracy of 0 with the interval [0, 1] would read as a result.
                    Console.out(outcome.pending > 0 ? "no audits answered yet: \(Plural.count(outcome.pending, "audit")) waiting in the audit queue" : "no audits yet: route sends a share of the auto-accepted items (audit.rate in the routing file) to the audit queue; report once people answered them")
                    return
                }
                Console.out(Table(["class", "audited", "correct", "accuracy", "95% interval", "status"], ([outcome.overall] + outcome.classes).map { r in
                    let status = r.class != "all" && outcome.suspendedBefore.contains(r.class) ? "suspended" : ""
                    return [r.class, String(r.audited), String(r.correct), String(format: "%.3f", r.accuracy), String(format: "[%.3f, %.3f]", r.low, r.high),
                            r.suspend ? (dryRun ? "below target" : "suspended now") : status.isEmpty ? "ok" : status]
                }).text)
            }
        }
    }
}
