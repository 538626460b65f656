import ArgumentParser
import CurateCore
import CurateLabeling
import CurateStore
import CurateVersioning
import Foundation

extension Curate.Queue {
    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a queue's answers as labels (JSON Lines, source annotator:ID) for add/validate.",
            discussion: """
                Classes, class sets and boxes become labels. In review queues an accepted suggestion becomes the
                suggested class or boxes, by the annotator who accepted it; a rejection is a decision, not a label.
                --decisions FILE writes every answer that is not a label — rejections, skips, flags with their
                notes — as JSON Lines {"item", "annotator", "decision", "note", "created"}.

                Examples:
                  curate queue export round1 --out answers.jsonl
                  curate queue export review1 --out accepted.jsonl --decisions decisions.jsonl
                """)
        @Argument var name: String
        @Option var out: String
        @Option(help: "Also write the decisions that are not labels (rejections, skips, flags with notes) to this JSON Lines file.")
        var decisions: String?
        @OptionGroup var repository: RepositoryOption

        func run() async throws {
            try await reportingErrors {
                let (repo, store) = try repository.openWithStore()
                let export = try Queues.export(name, schema: try repo.labels(at: "HEAD").schema, store: store)
                try LabelFormat.jsonl.write(export.labels, to: out)
                if let decisions {
                    try writeOutput(Data(try export.decisions.map { try $0.compactJSON() + "\n" }.joined().utf8), to: decisions)
                }
                let notes = ["accepted", "rejected", "skipped", "flagged", "unreadable"].compactMap { k in export.counts[k].map { "\($0) \(k)" } }
                let left = export.decisions.count
                let labels = export.labels.annotations.count
                Console.out(Plural.count(export.answers, "answer") + " exported: " + Plural.count(labels, "label") + " on " + Plural.count(export.items, "item")
                    + " written to \(out)"
                    + (notes.isEmpty ? "" : " (" + notes.joined(separator: ", ") + ")")
                    + (left == 0 ? "" : decisions.map { "; \(Plural.count(left, "decision")) written to \($0)" } ?? "; \(Plural.count(left, "decision")) not written (--decisions FILE)"))
            }
        }
    }
}
