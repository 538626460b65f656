import ArgumentParser
import CurateCore
import CurateLabeling
import CurateStore
import CurateVersioning
import Foundation

extension Curate.Queue {
    struct Next: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Lease the next item to an annotator; print its path and the lease token (for scripts).",
            discussion: "The answer must present the lease: curate queue answer Q --annotator ID --item PATH --lease TOKEN --label L.\n\nExample:\n  curate queue next round1 --annotator ana --json")
        @Argument var name: String
        @Option(help: "Who is labeling (on a PostgreSQL store: your database role, unless a lead names someone).") var annotator: String?
        @OptionGroup var repository: RepositoryOption

        @Flag(help: "Print JSON: {\"item\", \"lease\"}.") var json = false

        func run() async throws {
            try await reportingErrors {
                let store = try repository.store()
                let annotator = try store.annotator(requested: annotator)
                guard let item = try store.leaseNext(name, annotator: annotator) else {
                    if let block = try store.activeBlock(name, annotator: annotator) { throw QueueRules.paused(name, annotator: annotator, reason: block.reason) }
                    Console.out("nothing left for \(annotator) in \(name)")
                    throw ExitCode(1)
                }
                if json { return try printJSON(["item": item.path, "lease": item.lease ?? ""]) }
                Console.out(item.path)
                Console.out("lease \(item.lease ?? "")")
            }
        }
    }

    struct Answer: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Store an answer (for scripts and oracles), under the lease curate queue next gave.",
            discussion: "Example:\n  curate queue answer round1 --annotator ana --item images/3/0003.png \\\n      --lease TOKEN --label 3 --seconds 2.4")
        @Argument var name: String
        @Option(help: "Who answers (on a PostgreSQL store: your database role, unless a lead names someone).") var annotator: String?
        @Option var item: String
        @Option(help: "The class (classify), or classes separated by '|' (multilabel).")
        var label: String
        @Option(help: "Seconds spent on the item (finite, ≥ 0).") var seconds: Double = 0
        @Option(help: "The lease token curate queue next printed for this item.") var lease: String
        @OptionGroup var repository: RepositoryOption

        func run() async throws {
            try await reportingErrors {
                let (repo, store) = try repository.openWithStore()
                let who = try store.annotator(requested: annotator)
                let decision = try Queues.answer(name, item: item, annotator: who, classes: label.split(separator: "|").map(String.init), seconds: seconds, lease: lease,
                                                 schema: try repo.labels(at: "HEAD").schema, store: store)
                Console.out("stored \(item): \(label)")
                if let decision, decision.action == .block {
                    Console.warning("\(who)'s work in queue \(name) is now paused for review: \(decision.reason)")
                }
            }
        }
    }
}
