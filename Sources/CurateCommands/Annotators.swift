import ArgumentParser
import CurateCore
import CurateQuality
import Foundation

extension Curate {
    struct Annotators: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Judge each annotator: accuracy on gold, agreement with consensus, confusions, speed.",
            discussion: """
                Reads the classification answers of annotators (labels whose source is annotator:ID, with the \
                seconds each took when recorded), estimates the consensus (--consensus dawid-skene by default, \
                majority or mace) with --gold items held fixed, and reports per annotator: answers, share agreeing \
                with the consensus, Cohen's kappa with it (0 is chance), accuracy on gold, answer entropy (0 = one \
                constant answer), median seconds per item, and a verdict with its evidence:
                  likely spam  kappa with the consensus below 0.2 (chance level), one class ≥ 90% of answers \
                with kappa below 0.6, or a median time under a quarter of the team's (needs ≥ 10 answers);
                  review       kappa below 0.6, gold accuracy below 0.7, or a systematic confusion — \
                P(answer b | true a) ≥ 0.3 in the Dawid-Skene matrix of an annotator who is otherwise \
                consistent: an honest misreading, not fraud;
                  trusted      otherwise.
                --fail-on "spam>0" exits 65 when any annotator is likely spam.

                Example:
                  curate annotators --labels datasets/digits/crowd.jsonl --format jsonl \\
                      --images datasets/digits --gold datasets/digits/gold.csv
                """)

        @OptionGroup var source: LabelSourceOptions
        @OptionGroup var options: ConsensusOptions

        @Flag(help: "Print the report as JSON.")
        var json = false

        @Option(help: "Exit 65 when a condition holds, e.g. \"spam>0\".")
        var failOn: String?

        func run() async throws {
            try await reportingErrors {
                let gates = try gates(failOn)
                let report = try AnnotatorsReport.run(try source.load(), consensus: options.consensus, gold: options.gold)
                if json { Console.out(try report.compactJSON()) } else {
                    Console.out(report.headline)
                    Console.out(Self.table(report.annotators))
                }
                try checkGates(gates, report.metrics)
            }
        }

        static func table(_ rows: [AnnotatorRecord]) -> String {
            let f = { (v: Double?, format: String) in v.map { String(format: format, $0) } ?? "-" }
            return Table(["annotator", "answers", "agree", "kappa", "gold", "entropy", "median s", "verdict", "evidence"], rows.map { a in
                [a.annotator, String(a.answers), f(a.agreement, "%.2f"), f(a.kappa, "%.2f"), f(a.goldAccuracy, "%.2f"), f(a.entropy, "%.2f"),
                 f(a.medianSeconds, "%.1f"), a.verdict, a.evidence.first ?? ""]
            }).text
        }
    }
}
