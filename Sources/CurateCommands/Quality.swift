import ArgumentParser
import CurateCore
import CurateImaging
import CurateQuality
import CurateVersioning
import Foundation

/// Where a quality command reads labels: a label file, or the repository at a revision.
package struct LabelSourceOptions: ParsableArguments {
    package init() {}

    @Option(help: "Read labels from this file instead of the repository.")
    var labels: String?

    @Option(help: "The format of --labels (default: detected from the file).")
    var format: LabelFormat?

    @Option(help: "The folder --labels item paths are relative to (default: the label file's folder).")
    var images: String?

    @Option(help: "Read the repository's labels at this revision (default HEAD, when no --labels).")
    var rev: String?

    @OptionGroup var repository: RepositoryOption

    package func validate() throws {
    }

    package func load() throws -> LabelSet { try load(lenient: false).set }

    /// With `lenient`, invalid records of a label file are returned instead of stopping the read (a repository's
    /// labels were checked when committed).
    package func load(lenient: Bool) throws -> (set: LabelSet, skipped: [LabelIssue]) {
        if let labels {
            let format = try labelFormat(format, of: labels)
            let folder = (labels as NSString).deletingLastPathComponent
            let result = try format.read(from: labels, options: LabelReadOptions(imagesRoot: images ?? (folder.isEmpty ? "." : folder), lenient: lenient))
            return (result.labelSet, result.skipped)
        }
        return (try repository.open().labels(at: rev ?? "HEAD"), [])
    }

    /// The bytes of every image item: from the repository at --rev, or from the files under --images.
    func imageFiles(_ set: LabelSet) throws -> [(path: String, data: Data)] {
        if labels == nil {
            let repo = try repository.open()
            return try repo.files(at: rev ?? "HEAD").filter { $0.width != nil }.map { ($0.path, try repo.data(of: $0.hash)) }
        }
        let root = images ?? labels.map { ($0 as NSString).deletingLastPathComponent } ?? "."
        return set.items.compactMap { item in
            FileManager.default.contents(atPath: (root.isEmpty ? "." : root) + "/" + item.path).map { (item.path, $0) }
        }
    }
}

extension Curate {
    struct Issues: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "issues",
            abstract: "Find likely label errors from a model's out-of-sample predicted probabilities.",
            discussion: """
                Confident learning, as cleanlab's find_label_issues: per-class thresholds (the mean predicted \
                probability of each class over the items labeled with it), the confident joint of given and \
                likely-true classes calibrated to the label counts, and pruning by the estimated noise rate \
                (--filter prune_by_noise_rate, the default; also prune_by_class, both, confident_learning, \
                predicted_neq_given, low_normalized_margin, low_self_confidence). Flagged items are ranked by \
                --rank-by (normalized_margin: (p(given) − max other + 1) / 2, or self_confidence: p(given)), \
                lowest first, each with the most probable other class as the suggested label.

                Predictions: a .npy of N × K float32/float64 probabilities with --ids (one item path per line, \
                row order), or JSON Lines {"item": PATH, "probs": [...]}. Column k is the class with schema id \
                k. Use out-of-sample probabilities (cross-validation), or the model will vouch for the labels \
                it was trained on. Rows must be finite, within [0, 1] and sum to 1 within 0.001.

                Boxes: with detections in JSON Lines {"item": PATH, "boxes": [{"class": NAME, "box": [x, y, w, h], \
                "score": s}]}, labeled and model boxes (score ≥ --min-score) of the same class are matched by IoU \
                (≥ --iou, greedily, best first): a labeled box with no match is unsupported — or of the wrong class \
                when a model box of another class covers it — and a model box with no match is a missing label.

                --fail-on "issues>5%" (or issues>N) exits 65 when the share (or count) of flagged items (labeled \
                boxes, for detections) is above the bound, for workflows.

                Examples:
                  curate issues --predictions probs.npy --ids ids.txt
                  curate issues --predictions probs.jsonl --labels labels.csv --format csv \\
                      --json
                """)

        @Option(help: "Predicted probabilities (.npy with --ids, or .jsonl).")
        var predictions: String

        @Option(help: "For a .npy: the item path of each row, one per line.")
        var ids: String?

        @OptionGroup var source: LabelSourceOptions

        @Option(help: "How issues are chosen: \(ConfidentLearning.Filter.allCases.map(\.rawValue).joined(separator: ", ")).")
        var filter: String = ConfidentLearning.Filter.pruneByNoiseRate.rawValue

        @Option(help: "How flagged items are ranked: normalized_margin or self_confidence.")
        var rankBy: String = ConfidentLearning.Score.normalizedMargin.rawValue

        @Option(help: "Rows to show in the table (all are in --json).")
        var top: Int = 20

        @Flag(help: "Print the report as JSON.")
        var json = false

        @Option(help: "Exit 65 when a condition holds, e.g. \"issues>5%\".")
        var failOn: String?

        @Option(help: "Boxes: the IoU at which a model box supports a labeled box.")
        var iou: Double = 0.5

        @Option(help: "Boxes: model boxes below this score are ignored.")
        var minScore: Double = 0.5

        /// A JSON Lines file whose first record has "boxes" holds detections, not class probabilities.
        static func holdsBoxes(_ path: String) -> Bool {
            guard path.hasSuffix(".jsonl"), let handle = FileHandle(forReadingAtPath: path) else { return false }
            defer { try? handle.close() }
            let head = String(decoding: (try? handle.read(upToCount: 1 << 16)) ?? Data(), as: UTF8.self)
            guard let first = head.split(separator: "\n").first(where: { !$0.trimmingCharacters(in: .whitespaces).isEmpty }),
                  let object = try? JSONSerialization.jsonObject(with: Data(first.utf8)) as? [String: Any] else { return false }
            return object["boxes"] != nil
        }

        static func print(_ report: BoxIssueReport, schema: LabelSchema, top: Int, json: Bool) {
            func box(_ b: BoundingBox) -> String { "[" + [b.x, b.y, b.width, b.height].map { String(format: "%g", $0) }.joined(separator: ", ") + "]" }
            if json {
                let object: [String: Any] = ["examined_items": report.examinedItems, "labeled_boxes": report.labeledBoxes, "flagged": report.entries.count,
                                             "issues": report.entries.map { e -> [String: Any] in
                                                 var o: [String: Any] = ["kind": e.kind.rawValue, "item": e.item, "class": schema.name(of: e.classID), "box": [e.box.x, e.box.y, e.box.width, e.box.height], "score": e.score]
                                                 if let m = e.modelClass, e.kind == .wrongClass { o["model_class"] = schema.name(of: m) }
                                                 return o
                                             }]
                Console.out((try? jsonText(object)) ?? "{}")
                return
            }
            Console.out("\(report.entries.count) box issues in \(report.examinedItems) items (\(report.labeledBoxes) labeled boxes)")
            guard !report.entries.isEmpty else { return }
            let rows = report.entries.prefix(top).map { e in
                [e.kind.rawValue, e.item, schema.name(of: e.classID) + (e.kind == .wrongClass ? " → " + schema.name(of: e.modelClass ?? 0) : ""), box(e.box), String(format: "%.2f", e.score)]
            }
            Console.out(Table(["issue", "item", "class", "box", "score"], rows).text)
            if report.entries.count > top { Console.out("… \(report.entries.count - top) more (--top N, or --json for all)") }
        }

        func validate() throws {
            guard ConfidentLearning.Filter(rawValue: filter) != nil else {
                throw ValidationError("--filter must be one of \(ConfidentLearning.Filter.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard ConfidentLearning.Score(rawValue: rankBy) != nil else { throw ValidationError("--rank-by must be normalized_margin or self_confidence") }
        }

        func run() async throws {
            try await reportingErrors {
                let gates = try failOn.map { text throws(QualityError) in try Gates(text) }
                let set = try source.load()
                if Self.holdsBoxes(predictions) {
                    let report = BoxIssueReport(labels: set, predictions: try BoxPredictions.load(predictions, schema: set.schema), iouThreshold: iou, minScore: minScore)
                    Self.print(report, schema: set.schema, top: top, json: json)
                    if let gates {
                        let failed = try gates.failures(report.metrics)
                        if !failed.isEmpty { throw CommandFailure(message: "gate failed: " + failed.joined(separator: "; "), kind: .invalidData) }
                    }
                    return
                }
                let loaded = try Predictions.load(predictions, ids: ids)
                // Column k is class id k: a file with more or fewer columns than the schema has classes would
                // suggest classes that do not exist (route refuses it the same way).
                let classCount = set.schema.classes.count
                if classCount > 0, loaded.classes != classCount {
                    throw QualityError("\(predictions): \(loaded.classes) columns, but the schema has \(classCount) classes (columns are in class-id order)")
                }
                let report = try LabelIssueReport(predictions: loaded, given: givenClasses(set), items: set.items.isEmpty ? nil : Set(set.items.map(\.path)),
                                                  filter: ConfidentLearning.Filter(rawValue: filter)!, rankBy: ConfidentLearning.Score(rawValue: rankBy)!)
                if json { Console.out(try Self.json(report, schema: set.schema)) } else { Self.print(report, schema: set.schema, top: top) }
                if report.unpredicted > 0 { Console.warning("\(report.unpredicted) labeled items have no prediction and were not examined") }
                if report.unlabeled > 0 { Console.warning("\(report.unlabeled) predicted items have no classification label and were not examined") }
                if let gates {
                    let failed = try gates.failures(report.metrics)
                    if !failed.isEmpty { throw CommandFailure(message: "gate failed: " + failed.joined(separator: "; "), kind: .invalidData) }
                }
            }
        }

        static func print(_ report: LabelIssueReport, schema: LabelSchema, top: Int) {
            let share = Double(report.entries.count) / Double(max(1, report.examined)) * 100
            Console.out("\(report.entries.count) likely label errors in \(report.examined) items (\(String(format: "%.1f", share))%), filter \(report.filter.rawValue), ranked by \(report.rankedBy.rawValue)")
            guard !report.entries.isEmpty else { return }
            let rows = report.entries.prefix(top).map { e in
                [e.item, schema.name(of: e.given), schema.name(of: e.suggested), String(format: "%.3f", e.score),
                 String(format: "%.3f", e.givenProbability), String(format: "%.3f", e.suggestedProbability)]
            }
            Console.out(Table(["item", "given", "suggested", report.rankedBy.rawValue, "p(given)", "p(suggested)"], rows).text)
            if report.entries.count > top { Console.out("… \(report.entries.count - top) more (--top N, or --json for all)") }
            let classes = report.perClass.keys.sorted().filter { report.perClass[$0]!.flagged > 0 }
            if !classes.isEmpty {
                Console.out("per class: " + classes.map { "\(schema.name(of: $0)) \(report.perClass[$0]!.flagged)/\(report.perClass[$0]!.examined)" }.joined(separator: ", "))
            }
        }

        static func json(_ report: LabelIssueReport, schema: LabelSchema) throws -> String {
            let object: [String: Any] = [
                "filter": report.filter.rawValue, "ranked_by": report.rankedBy.rawValue, "examined": report.examined,
                "flagged": report.entries.count, "unpredicted": report.unpredicted, "unlabeled": report.unlabeled,
                "issues": report.entries.map { e -> [String: Any] in
                    ["item": e.item, "given": schema.name(of: e.given), "suggested": schema.name(of: e.suggested), "score": e.score,
                     "p_given": e.givenProbability, "p_suggested": e.suggestedProbability]
                },
                "per_class": Dictionary(uniqueKeysWithValues: report.perClass.map { (schema.name(of: $0.key), ["examined": $0.value.examined, "flagged": $0.value.flagged]) }),
            ]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
            return String(decoding: data, as: UTF8.self)
        }
    }
}

/// A plain text table: columns padded to their widest cell, numbers right-aligned.
package struct Table {
    package var text: String

    package init(_ header: [String], _ rows: [[String]]) {
        let all = [header] + rows
        let widths = header.indices.map { c in all.map { $0[c].count }.max() ?? 0 }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { c, cell in
                let pad = String(repeating: " ", count: widths[c] - cell.count)
                return Double(cell) != nil ? pad + cell : cell + pad
            }.joined(separator: "  ").replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
        }
        text = ([line(header)] + rows.map(line)).joined(separator: "\n")
    }
}

/// Options shared by `validate` and `annotators`: gold labels and the consensus method.
struct ConsensusOptions: ParsableArguments {
    @Option(help: "Gold (honeypot) labels: a CSV `path,label` with class names or ids; held fixed and scored.")
    var gold: String?

    @Option(help: "Consensus method: dawid-skene, majority or mace.")
    var consensus: String = "dawid-skene"

    func validate() throws {
        guard ["dawid-skene", "majority", "mace"].contains(consensus) else { throw ValidationError("--consensus must be dawid-skene, majority or mace") }
    }

    /// Gold labels by item path, class names resolved with `schema`.
    func goldLabels(_ schema: LabelSchema) throws -> [String: Int] {
        guard let gold else { return [:] }
        return try readGoldCSV(gold, schema: schema)
    }

    func run(_ crowd: Crowd) -> Crowd.Result {
        switch consensus {
        case "majority":
            // Ties go to the annotators who agree more with a first, unweighted vote (or score better on gold).
            crowd.majorityVote(weights: AnnotatorReport(crowd: crowd, consensus: crowd.majorityVote()).qualityWeights(workers: crowd.workers))
        case "mace": crowd.mace()
        default: crowd.dawidSkene()
        }
    }
}

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
                let gates = try failOn.map { text throws(QualityError) in try Gates(text) }
                let set = try source.load()
                let labeled = LabeledCrowd(set, gold: try options.goldLabels(set.schema))
                guard !labeled.annotators.isEmpty else { throw QualityError("no classification labels with an annotator:ID source") }
                let consensus = options.run(labeled.crowd)
                let report = AnnotatorReport(crowd: labeled.crowd, consensus: consensus, seconds: labeled.seconds)
                if json {
                    Console.out(try jsonText(Self.json(report, names: labeled.annotators)))
                } else {
                    Console.out("\(report.annotators.count) annotators, \(labeled.crowd.responses.count) answers on \(labeled.items.count) items, consensus \(options.consensus)")
                    Console.out(Self.table(report, names: labeled.annotators))
                }
                if let gates {
                    let failed = try gates.failures(report.metrics)
                    if !failed.isEmpty { throw CommandFailure(message: "gate failed: " + failed.joined(separator: "; "), kind: .invalidData) }
                }
            }
        }

        static func table(_ report: AnnotatorReport, names: [String]) -> String {
            let rows = report.annotators.map { a in
                [names[a.worker], String(a.answers), String(format: "%.2f", a.agreement), String(format: "%.2f", a.kappa),
                 a.goldAccuracy.map { String(format: "%.2f", $0) } ?? "-", String(format: "%.2f", a.entropy),
                 a.medianSeconds.map { String(format: "%.1f", $0) } ?? "-", a.verdict.rawValue, a.evidence.first ?? ""]
            }
            return Table(["annotator", "answers", "agree", "kappa", "gold", "entropy", "median s", "verdict", "evidence"], rows).text
        }

        static func json(_ report: AnnotatorReport, names: [String]) -> [String: Any] {
            var object: [String: Any] = ["annotators": report.annotators.map { a -> [String: Any] in
                var entry: [String: Any] = ["annotator": names[a.worker], "answers": a.answers, "agreement": a.agreement, "kappa": a.kappa,
                                            "entropy": a.entropy, "top_answer_share": a.topAnswerShare, "verdict": a.verdict.rawValue,
                                            "evidence": a.evidence, "confusion": a.confusion]
                if let g = a.goldAccuracy { entry["gold_accuracy"] = g; entry["gold_answers"] = a.goldAnswers }
                if let s = a.medianSeconds { entry["median_seconds"] = s }
                return entry
            }]
            if let t = report.teamMedianSeconds { object["team_median_seconds"] = t }
            return object
        }
    }

    struct Validate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check labels: schema and geometry, agreement among annotators, consensus, annotators.",
            discussion: """
                Checks: records the label file's reader rejects (missing images, boxes outside the image, \
                unknown classes…: every one is listed, the rest is still checked); classes not in the schema; empty boxes (no area), degenerate boxes (under 1 px), boxes \
                leaving the image by more than half a pixel; duplicate boxes (same class and source, IoU > 0.95); \
                items without labels; with --decode, images that fail to decode; class imbalance (most frequent \
                class over 10× the least). With --duplicates: exact duplicates (same bytes) and near duplicates \
                (perceptual hash — imagehash's phash — at most --near-distance bits apart); with --embeddings \
                (and --embedding-ids): near duplicates by cosine ≥ --min-cosine and outliers (mean cosine \
                distance to the 5 nearest neighbours over 3 standard deviations above the mean). Duplicates whose \
                labels differ are also reported as conflicting.
                Agreement among annotators of the same items (classification answers with an annotator:ID \
                source): percent agreement, Krippendorff's alpha (nominal, missing answers allowed) overall and \
                per class, Fleiss' kappa over the items every annotator answered; for boxes, mean IoU of matched \
                boxes and F1 at IoU 0.5 over annotator pairs.
                Consensus (--consensus dawid-skene, majority or mace; --gold held fixed) with a posterior per \
                item; --consensus-out FILE writes the labels plus one annotation per item with source \
                "consensus" and its confidence (JSON Lines). The annotator verdicts of `curate annotators` are \
                summarised.
                --fail-on "alpha<0.6,issues>5%,spam>0" exits 65 when a condition holds (issues are the check \
                findings; the share is of items).

                Example:
                  curate validate --labels datasets/digits/crowd.jsonl --format jsonl \\
                      --images datasets/digits --gold datasets/digits/gold.csv
                """)

        @OptionGroup var source: LabelSourceOptions
        @OptionGroup var options: ConsensusOptions

        @Option(help: "Write the labels with the consensus annotations added (JSON Lines).")
        var consensusOut: String?

        @Flag(help: "Also decode every image (slower) and report the ones that fail.")
        var decode = false

        @Flag(help: "Find exact duplicates (content hash) and near duplicates (perceptual hash) among the images.")
        var duplicates = false

        @Option(help: "Near duplicates: perceptual hashes at most this many bits apart (of 64).")
        var nearDistance: Int = 4

        @Option(help: "Embeddings (.npy, N × D) for near duplicates by cosine similarity and k-NN outliers.")
        var embeddings: String?

        @Option(help: "The item path of each embedding row, one per line.")
        var embeddingIds: String?

        @Option(help: "Near duplicates by embedding: cosine similarity at least this.")
        var minCosine: Double = 0.98

        @Option(help: "Write a self-contained HTML report (charts and thumbnails inline) to this file.")
        var report: String?

        @Flag(help: "Print the report as JSON.")
        var json = false

        @Option(help: "Exit 65 when a condition holds, e.g. \"alpha<0.6,issues>5%,spam>0\".")
        var failOn: String?

        func validate() throws {
            if embeddings != nil && embeddingIds == nil { throw ValidationError("--embeddings needs --embedding-ids") }
        }

        func run() async throws {
            try await reportingErrors {
                let gates = try failOn.map { text throws(QualityError) in try Gates(text) }
                let (set, skipped) = try source.load(lenient: true)
                var findings = skipped.map { Finding(.invalidRecord, $0.file + ($0.location.isEmpty ? "" : ":" + $0.location), $0.message) }
                findings += LabelChecks.run(set)
                if decode { findings += decodeFailures(set) }
                let given = givenClasses(set)
                if duplicates { findings += try duplicateFindings(set, given: given) }
                if let embeddings, let embeddingIds { findings += try embeddingFindings(embeddings, ids: embeddingIds, given: given, schema: set.schema) }
                var metrics: [String: Double] = ["issues": Double(findings.count), "issues%": Double(findings.count) / Double(max(set.items.count, 1))]
                var object: [String: Any] = ["items": set.items.count, "annotations": set.annotations.count,
                                             "findings": findings.map { ["kind": $0.kind.rawValue, "item": $0.item, "message": $0.message] }]
                var lines = ["\(set.items.count) items, \(set.annotations.count) labels: \(findings.count) findings"]
                for kind in Finding.Kind.allCases {
                    let of = findings.filter { $0.kind == kind }
                    guard !of.isEmpty else { continue }
                    lines.append("  \(kind.rawValue): \(of.count)" + (of.first.map { " — e.g. \($0.item.isEmpty ? "" : $0.item + ": ")\($0.message)" } ?? ""))
                }
                let labeled = LabeledCrowd(set, gold: try options.goldLabels(set.schema))
                var page: (consensus: Crowd.Result, annotators: AnnotatorReport)?
                if labeled.annotators.count >= 2 {
                    let ratings = labeled.ratings
                    let alpha = ratings.krippendorffAlpha(.nominal)
                    if let alpha { metrics["alpha"] = alpha }
                    let perClass = ratings.alphaPerCategory()
                    object["agreement"] = ["alpha": alpha as Any, "percent": ratings.percentAgreement() as Any, "fleiss_kappa": ratings.fleissKappa() as Any,
                                           "alpha_per_class": Dictionary(uniqueKeysWithValues: perClass.map { (set.schema.name(of: Int($0.key)), $0.value as Any) })]
                    lines.append("agreement of \(labeled.annotators.count) annotators on \(labeled.items.count) items: alpha \(f(alpha)), percent \(f(ratings.percentAgreement())), Fleiss' kappa \(f(ratings.fleissKappa())) (items all answered)")
                    let weakest = perClass.compactMap { k, v in v.map { (k, $0) } }.sorted { $0.1 < $1.1 }.prefix(3)
                    if !weakest.isEmpty { lines.append("  least agreed classes: " + weakest.map { "\(set.schema.name(of: Int($0.0))) \(f($0.1))" }.joined(separator: ", ")) }
                    let result = options.run(labeled.crowd)
                    let confident = result.confidence.filter { $0 >= 0.9 }.count
                    lines.append("consensus (\(options.consensus)): \(confident) of \(labeled.items.count) items at confidence ≥ 0.9")
                    let report = AnnotatorReport(crowd: labeled.crowd, consensus: result, seconds: labeled.seconds)
                    page = (result, report)
                    metrics.merge(report.metrics) { a, _ in a }
                    let spam = report.annotators.filter { $0.verdict == .likelySpam }.map { labeled.annotators[$0.worker] }
                    let review = report.annotators.filter { $0.verdict == .review }.map { labeled.annotators[$0.worker] }
                    lines.append("annotators: \(report.annotators.count - spam.count - review.count) trusted, review: \(review.joined(separator: ", ").nonEmpty ?? "none"), likely spam: \(spam.joined(separator: ", ").nonEmpty ?? "none") (curate annotators for the evidence)")
                    object["consensus"] = ["method": options.consensus, "confident_items": confident]
                    object["annotators"] = Annotators.json(report, names: labeled.annotators)["annotators"]
                    if let consensusOut { try writeConsensus(set, labeled, result, to: consensusOut) }
                } else if let box = BoxAgreement(set) {
                    lines.append("box agreement over \(box.pairs) annotator pairs: mean IoU \(f(box.meanIoU)), F1@0.5 \(f(box.f1))")
                }
                if let box = BoxAgreement(set) { object["box_agreement"] = ["pairs": box.pairs, "mean_iou": box.meanIoU, "f1_at_0.5": box.f1] }
                if let report {
                    let files = try source.imageFiles(set)
                    let byPath = Dictionary(files.map { ($0.path, $0.data) }, uniquingKeysWith: { a, _ in a })
                    let html = QualityReportPage(title: "curate validate — " + (source.labels ?? "repository at \(source.rev ?? "HEAD")"), set: set, findings: findings,
                                                 crowd: page == nil ? nil : labeled, consensus: page?.consensus, annotators: page?.annotators,
                                                 image: { path in byPath[path].flatMap { try? ImageDecoder().decode([UInt8]($0), format: .rgb8, source: path).pixels } }).render()
                    try Data(html.utf8).write(to: URL(fileURLWithPath: report), options: .atomic)
                    lines.append("report: \(report)")
                }
                if json { Console.out(try jsonText(object)) } else { lines.forEach { Console.out($0) } }
                if let gates {
                    let failed = try gates.failures(metrics)
                    if !failed.isEmpty { throw CommandFailure(message: "gate failed: " + failed.joined(separator: "; "), kind: .invalidData) }
                }
            }
        }

        func f(_ v: Double?) -> String { v.map { String(format: "%.3f", $0) } ?? "-" }

        func pairFindings(_ kind: Finding.Kind, _ a: String, _ b: String, _ detail: String, given: [String: Int], schema: LabelSchema) -> [Finding] {
            var out = [Finding(kind, a, "same as \(b) (\(detail))")]
            if let x = given[a], let y = given[b], x != y {
                out.append(Finding(.conflictingDuplicate, a, "labeled \(schema.name(of: x)), its duplicate \(b) \(schema.name(of: y))"))
            }
            return out
        }

        func duplicateFindings(_ set: LabelSet, given: [String: Int]) throws -> [Finding] {
            let files = try source.imageFiles(set)
            var findings: [Finding] = []
            var firstWithHash: [ContentHash: String] = [:]
            var exact = Set<String>()
            for file in files {
                let hash = ContentHash.of(file.data)
                if let first = firstWithHash[hash] {
                    exact.insert(file.path)
                    findings += pairFindings(.exactDuplicate, file.path, first, "identical bytes", given: given, schema: set.schema)
                } else {
                    firstWithHash[hash] = file.path
                }
            }
            // Perceptual hashes of the rest (exact copies are already reported).
            var paths: [String] = [], hashes: [UInt64] = []
            for file in files where !exact.contains(file.path) {
                guard let image = try? ImageDecoder().decode([UInt8](file.data), source: file.path).pixels else { continue }
                paths.append(file.path)
                hashes.append(Duplicates.perceptualHash(image))
            }
            for (i, j, d) in Duplicates.nearPairs(hashes, maxDistance: nearDistance) {
                findings += pairFindings(.nearDuplicate, paths[j], paths[i], "perceptual hashes \(d) bits apart", given: given, schema: set.schema)
            }
            return findings
        }

        func embeddingFindings(_ path: String, ids idsPath: String, given: [String: Int], schema: LabelSchema) throws -> [Finding] {
            let embeddings = try Embeddings.load(path, ids: idsPath)
            let ids = embeddings.paths, n = ids.count
            let sims = Duplicates.cosineMatrix(embeddings.values, dimensions: embeddings.dimensions)
            var findings: [Finding] = []
            for (i, j, c) in Duplicates.similarPairs(sims, count: n, minCosine: minCosine) {
                findings += pairFindings(.nearDuplicate, ids[j], ids[i], "cosine \(String(format: "%.3f", c))", given: given, schema: schema)
            }
            let (scores, outliers) = Duplicates.outliers(sims, count: n)
            for i in outliers { findings.append(Finding(.outlier, ids[i], "mean cosine distance \(String(format: "%.3f", scores[i])) to its 5 nearest neighbours (over 3 standard deviations above the mean)")) }
            return findings
        }

        func decodeFailures(_ set: LabelSet) -> [Finding] {
            let root = source.images ?? source.labels.map { ($0 as NSString).deletingLastPathComponent } ?? "."
            return set.items.compactMap { item -> Finding? in
                do { _ = try ImageDecoder().decode(fileAt: (root.isEmpty ? "." : root) + "/" + item.path); return nil } catch {
                    return Finding(.undecodable, item.path, "\(error)")
                }
            }
        }

        func writeConsensus(_ set: LabelSet, _ labeled: LabeledCrowd, _ result: Crowd.Result, to path: String) throws {
            var out = set
            for (t, item) in labeled.items.enumerated() where result.labels[t] >= 0 {
                out.annotations.append(Annotation(item: item, label: .classification(result.labels[t]), source: .consensus, confidence: result.confidence[t]))
            }
            try LabelFormat.jsonl.write(out, to: path)
        }
    }
}

package func jsonText(_ object: [String: Any]) throws -> String {
    String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]), as: UTF8.self)
}

extension String {
    var nonEmpty: String? { isEmpty ? nil : self }
}

/// A gold file (`path,label` with a header): class ids by item path, names resolved with `schema`.
func readGoldCSV(_ path: String, schema: LabelSchema) throws -> [String: Int] {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw QualityError("\(path): cannot read") }
    var result: [String: Int] = [:]
    for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where n > 0 {
        let parts = line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        if parts.count == 1 && parts[0].isEmpty { continue }
        guard parts.count >= 2 else { throw QualityError("\(path):\(n + 1): expected path,label") }
        guard let k = schema.id(named: parts[1]) ?? Int(parts[1]).flatMap({ schema.labelClass(id: $0)?.id }) else {
            throw QualityError("\(path):\(n + 1): unknown class '\(parts[1])'")
        }
        result[parts[0]] = k
    }
    return result
}
