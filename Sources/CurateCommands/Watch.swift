import ArgumentParser
import CurateCore
import CurateLabeling
import CurateStore
import Foundation

extension Curate {
    struct WatchCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "watch",
            abstract: "Watch a labeling team live: pace, gold accuracy, agreement, verdicts; block and unblock.",
            discussion: """
                A full-screen view for the lead, refreshed every --interval seconds from what changed since the last \
                refresh (its cost depends on the new answers, not on the queue's size): per annotator, answers, \
                items per hour, median seconds and its ratio to the rest of the team, gold accuracy with its 95% \
                Wilson interval, agreement with others on the same items, the verdict (blocked, likely spam, review, \
                new, trusted) and its evidence; for the queue, done/total, answers still needed, pace, ETA, the \
                class pairs people disagree on most, and alerts as decisions and verdicts change. When the queue has \
                a vetting policy (curate queue policy) and you may vet (always on the embedded store; a lead on \
                PostgreSQL), each refresh applies it. Keys: ↑/↓ (j/k) select, Enter shows the annotator's \
                confusions and recent answers, s changes the sort, b blocks, u unblocks (or clears a review), q quits. \
                --json prints the state once (for scripts).

                Examples:
                  curate watch --queue round1
                  curate watch --queue round1 --json
                """)

        @Option(help: "The queue.") var queue: String
        @Option(help: "Seconds between refreshes.") var interval: Double = 1
        @Flag(help: "Print the state once as JSON (and apply the policy once).") var json = false
        @OptionGroup var repository: RepositoryOption

        func validate() throws {
            guard interval.isFinite, interval >= 0.1, interval <= 3600 else { throw ValidationError("--interval must be between 0.1 and 3600 seconds") }
        }

        func run() async throws {
            try await reportingErrors {
                let store = try repository.store()
                let lead = try Curate.Queue.Unblock.lead(nil, store: store)
                if !json { return try Watch.run(queue: queue, store: store, interval: interval, lead: lead) }
                let spec = try store.queueSummary(queue).spec
                let policy = try Vetting.policy(of: spec)
                var monitor = TeamMonitor(queue: queue, overlap: spec.overlap)
                let started = DispatchTime.now().uptimeNanoseconds
                try Vetting.refresh(&monitor, policy: policy, store: store, mayVet: store.mayVet())
                let elapsed = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e6
                try printJSON(WatchReport(monitor: monitor, policy: policy, hasPolicy: policy != nil, refreshMilliseconds: elapsed))
            }
        }
    }
}
