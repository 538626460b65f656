import ArgumentParser
import CurateCore
import CurateImaging
import CurateQuality
import CurateRouting
import CurateSelection
import CurateStore
import CurateVersioning
import Foundation

extension Curate {
    struct Route: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Route items: confident predictions auto-accepted under a calibrated threshold, the rest to people.",
            discussion: """
                The threshold t is the lowest model confidence whose human-labeled validation items at or above it \
                meet the target: error(t) + c·√(1/n(t)) ≤ 1 − target, with n(t) ≥ min_validation (c = 0.35 and 30 \
                by default; per predicted class with --per-class). Validation items are the items with human labels \
                (at HEAD) that have a prediction; those inside the accepted region are retired from later runs, and \
                new ones must come from people (label a random sample of each batch). If no threshold passes, \
                nothing is auto-accepted and the output says so.

                Items at or above t get the model's class as a label with source model:NAME@VERSION and its \
                confidence (staged in the repository; commit them). A share (audit.rate) of them also goes to \
                people, blind. Items below t go to the human queue, most uncertain first, with overlap raised where \
                the margin is small or the committee disagrees; human labels a confident model contradicts go to a \
                second annotator (never the first); items whose annotators disagree go to the adjudication queue, \
                worked by its experts only. With annotators.labels in the policy, annotators measured as likely spam \
                receive nothing and each annotator is served first the classes they are most accurate on. Items \
                routed once are not routed again.

                `curate route report` measures the auto-accepted labels against the audits (95% Wilson interval, \
                per class) and stops auto-accepting a class whose interval lies below the target.

                Examples:
                  curate queue create digits-human \\
                      --empty && curate queue create digits-experts --empty --annotators ana
                  curate route --predictions probs.npy --ids ids.txt \\
                      --policy workflows/routing.yaml --dry-run
                  curate route --predictions preds.jsonl --target-accuracy 0.95 --per-class
                  curate route report
                """,
            subcommands: [Run.self, Report.self],
            defaultSubcommand: Run.self)
    }
}

extension Curate.Route {
    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run", abstract: "Route the predicted items (the default).",
            discussion: """
                Examples:
                  curate route --predictions probs.npy --ids ids.txt \\
                      --policy workflows/routing-digits.yaml --dry-run
                  curate route --learner --embeddings emb.npy --ids ids.txt \\
                      --target-accuracy 0.95 --batch batch.jsonl
                """)

        @Option(help: "Model probabilities: N × K .npy (with --ids) or JSON Lines {\"item\", \"probs\"}; columns in class-id order.")
        var predictions: String?

        @Flag(help: "No predictions: train the built-in learner (logistic regression on pixels) on the human-labeled images outside the validation share, and predict the validation and unlabeled images.")
        var learner = false

        @Option(help: "With --learner: the share of human-labeled items held out for validation (chosen by a hash of the path, so stable across runs).")
        var validationShare = 0.3

        @Option(help: "For a .npy: the item of each row, one per line.")
        var ids: String?

        @Option(help: "Committee samples M × N × K (.npy, rows as --ids): members disagreeing raise overlap.")
        var committee: String?

        @Option(help: "A routing policy (YAML; see the workflows folder).")
        var policy: String?

        @Option(help: "Target accuracy of auto-accepted labels, in (0, 1) (overrides the policy).")
        var targetAccuracy: Double?

        @Flag(help: "One threshold per predicted class.")
        var perClass = false

        @Option(help: "The model, as NAME@VERSION (overrides the policy).")
        var model: String?

        @Option(help: "Only these items may go to people (a batch from curate select: JSON Lines with \"item\"); the threshold still auto-accepts across all predicted items, and the rest below it wait for a later round.")
        var batch: String?

        @Option(help: "Also write the auto-accepted labels here (JSON Lines).")
        var out: String?

        @Flag(help: "Say what would happen; change nothing.")
        var dryRun = false

        @Flag(help: "Print the outcome as JSON.")
        var json = false

        @OptionGroup var repository: RepositoryOption

        func validate() throws {
            guard (predictions != nil) != learner else { throw ValidationError("give --predictions FILE or --learner") }
            guard validationShare > 0, validationShare < 1 else { throw ValidationError("--validation-share must be within (0, 1)") }
            if committee != nil && predictions == nil { throw ValidationError("--committee goes with --predictions") }
        }

        func run() async throws {
            try await reportingErrors {
                var policy = try self.policy.map { try RoutingPolicy(yaml: readText($0), file: $0) } ?? RoutingPolicy()
                if let targetAccuracy { policy.targetAccuracy = targetAccuracy }
                if perClass { policy.perClass = true }
                if let model { policy.model = model }
                let source: RouteRequest.Source = predictions.map { .predictions(path: $0, ids: ids, committee: committee) } ?? .learner(validationShare: validationShare)
                let (repo, store) = try repository.openWithStore()
                let report = try Routing.route(RouteRequest(source: source, policy: policy, policyFile: self.policy, batch: batch, out: out, dryRun: dryRun),
                                               repository: repo, store: store)
                for path in report.undecodable { Console.warning("skipped \(path): cannot decode") }
                if json { Console.out(try report.compactJSON()); return }
                Console.out((dryRun ? "dry run — nothing changed\n" : "") + report.lines.joined(separator: "\n"))
                if !dryRun && report.accepted > 0 { Console.out("the auto-accepted labels are staged: curate commit -m \"…\" records them") }
            }
        }
    }
}
