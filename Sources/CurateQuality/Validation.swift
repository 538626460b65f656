import CurateCore
import CurateImaging
import Foundation

/// What `curate validate` checks beyond the labels themselves.
package struct ValidationOptions: Sendable {
    package var consensus: ConsensusMethod = .dawidSkene
    /// Gold labels (CSV `path,label`), held fixed in the consensus and scored.
    package var gold: String?
    /// Decode every image and report the ones that fail.
    package var decode = false
    /// Exact (same bytes) and near (perceptual hash) duplicates.
    package var duplicates = false
    package var nearDistance = 4
    /// Embeddings (.npy N × D) and their row ids, for near duplicates by cosine and k-NN outliers.
    package var embeddings: (values: String, ids: String)?
    package var minCosine = 0.98
    /// Write the labels plus one consensus annotation per item here (JSON Lines).
    package var consensusOut: String?
    /// Write a self-contained HTML report here.
    package var htmlReport: String?

    package init() {}
}

/// One finding, as reported.
package struct FindingRecord: Codable, Sendable, Equatable {
    package var kind: String
    package var item: String
    package var message: String
}

/// One annotator's row of `annotators` and `validate` reports.
package struct AnnotatorRecord: Codable, Sendable, Equatable {
    package var annotator: String
    package var answers: Int
    package var agreement: Double
    package var kappa: Double
    package var entropy: Double
    package var topAnswerShare: Double
    package var verdict: String
    package var evidence: [String]
    package var confusion: [Double]
    package var goldAccuracy: Double?
    package var goldAnswers: Int?
    package var medianSeconds: Double?

    enum CodingKeys: String, CodingKey {
        case annotator, answers, agreement, kappa, entropy, topAnswerShare = "top_answer_share", verdict, evidence, confusion,
             goldAccuracy = "gold_accuracy", goldAnswers = "gold_answers", medianSeconds = "median_seconds"
    }

    /// The rows of a report, with the annotators' names.
    package static func rows(_ report: AnnotatorReport, names: [String]) -> [AnnotatorRecord] {
        report.annotators.map { a in
            AnnotatorRecord(annotator: names[a.worker], answers: a.answers, agreement: a.agreement, kappa: a.kappa, entropy: a.entropy,
                            topAnswerShare: a.topAnswerShare, verdict: a.verdict.rawValue, evidence: a.evidence, confusion: a.confusion,
                            goldAccuracy: a.goldAccuracy, goldAnswers: a.goldAccuracy == nil ? nil : a.goldAnswers, medianSeconds: a.medianSeconds)
        }
    }
}

/// The outcome of `curate validate`.
package struct ValidationReport: Codable, Sendable {
    package struct Agreement: Codable, Sendable {
        package var alpha: Double?
        package var percent: Double?
        package var fleissKappa: Double?
        package var alphaPerClass: [String: Double?]
        enum CodingKeys: String, CodingKey { case alpha, percent, fleissKappa = "fleiss_kappa", alphaPerClass = "alpha_per_class" }
    }
    package struct Consensus: Codable, Sendable {
        package var method: String
        package var confidentItems: Int
        enum CodingKeys: String, CodingKey { case method, confidentItems = "confident_items" }
    }
    package struct Boxes: Codable, Sendable {
        package var pairs: Int
        package var meanIoU: Double
        package var f1: Double
        enum CodingKeys: String, CodingKey { case pairs, meanIoU = "mean_iou", f1 = "f1_at_0.5" }
    }

    package var items: Int
    package var annotations: Int
    package var findings: [FindingRecord]
    package var agreement: Agreement?
    package var consensus: Consensus?
    package var annotators: [AnnotatorRecord]?
    package var boxAgreement: Boxes?
    /// The figures `--fail-on` gates test.
    package var metrics: [String: Double] = [:]
    /// The report as lines for a person.
    package var lines: [String] = []

    enum CodingKeys: String, CodingKey { case items, annotations, findings, agreement, consensus, annotators, boxAgreement = "box_agreement" }
}

/// `curate validate` as a library call.
package enum Validation {
    /// Checks the labels (schema, geometry, unlabeled items, imbalance), optionally the images (decoding,
    /// duplicates, embeddings), and the annotators' agreement, consensus and verdicts.
    /// - Parameter evidence: what the images showed, from the parts of a sharded run (nil: read them here).
    package static func run(_ input: DatasetInput, options: ValidationOptions, evidence: ImageEvidence? = nil) throws -> ValidationReport {
        let set = input.labels
        var findings = input.skipped.map { Finding(.invalidRecord, $0.file + ($0.location.isEmpty ? "" : ":" + $0.location), $0.message) }
        findings += LabelChecks.run(set)
        let examinesImages = options.decode || options.duplicates
        let images = (examinesImages && evidence == nil) || options.htmlReport != nil ? try input.images() : []
        let seen = examinesImages ? evidence ?? ImageEvidence(images, options: options) : ImageEvidence(entries: [])
        if options.decode {
            for e in seen.entries { if let problem = e.problem { findings.append(Finding(.undecodable, e.path, problem)) } }
        }
        let given = givenClasses(set)
        if options.duplicates { findings += duplicateFindings(seen, given: given, schema: set.schema, nearDistance: options.nearDistance) }
        if let (values, ids) = options.embeddings { findings += try embeddingFindings(values, ids: ids, given: given, schema: set.schema, minCosine: options.minCosine) }

        var report = ValidationReport(items: set.items.count, annotations: set.annotations.count,
                                      findings: findings.map { FindingRecord(kind: $0.kind.rawValue, item: $0.item, message: $0.message) })
        report.metrics = ["issues": Double(findings.count), "issues%": Double(findings.count) / Double(max(set.items.count, 1))]
        report.lines = ["\(Plural.count(set.items.count, "item")), \(Plural.count(set.annotations.count, "label")): \(Plural.count(findings.count, "finding"))"]
        for kind in Finding.Kind.allCases {
            let of = findings.filter { $0.kind == kind }
            guard let first = of.first else { continue }
            let example = (first.item.isEmpty ? "" : first.item + ": ") + first.message
            report.lines.append("  \(kind.rawValue): " + (of.count == 1 ? example : "\(of.count) — e.g. \(example)"))
        }
        let labeled = LabeledCrowd(set, gold: try options.gold.map { try GoldLabels.read($0, schema: set.schema) } ?? [:])
        var page: (consensus: Crowd.Result, annotators: AnnotatorReport)?
        let boxes = BoxAgreement(set)
        if labeled.annotators.count >= 2 {
            let ratings = labeled.ratings
            let alpha = ratings.krippendorffAlpha(.nominal)
            if let alpha { report.metrics["alpha"] = alpha }
            let perClass = ratings.alphaPerCategory()
            report.agreement = .init(alpha: alpha, percent: ratings.percentAgreement(), fleissKappa: ratings.fleissKappa(),
                                     alphaPerClass: Dictionary(uniqueKeysWithValues: perClass.map { (set.schema.name(of: Int($0.key)), $0.value) }))
            let kappa = ratings.fleissKappa().map { "Fleiss' kappa \(f($0)) (on the items every annotator answered)" }
                ?? "Fleiss' kappa n/a (no item was answered by all \(labeled.annotators.count) annotators)"
            report.lines.append("agreement of \(labeled.annotators.count) annotators on \(Plural.count(labeled.items.count, "item")): alpha \(f(alpha)), percent \(f(ratings.percentAgreement())), \(kappa)")
            // The classes annotators agree on least (per-class alpha); classes in full agreement are not "least agreed".
            let weakest = perClass.compactMap { k, v in v.map { (k, $0) } }.filter { $0.1 < 1 }.sorted { $0.1 < $1.1 }.prefix(3)
            if !weakest.isEmpty {
                report.lines.append("  least agreed classes (alpha per class): " + weakest.map { "\(set.schema.name(of: Int($0.0))) \(f($0.1))" }.joined(separator: ", "))
            } else if !perClass.isEmpty {
                report.lines.append("  every class in full agreement (alpha per class 1.000)")
            }
            let result = options.consensus.run(labeled.crowd)
            let confident = result.confidence.filter { $0 >= 0.9 }.count
            report.lines.append("consensus (\(options.consensus.rawValue)): \(confident) of \(labeled.items.count) items at confidence ≥ 0.9")
            let annotators = AnnotatorReport(crowd: labeled.crowd, consensus: result, seconds: labeled.seconds)
            page = (result, annotators)
            report.metrics.merge(annotators.metrics) { a, _ in a }
            let spam = annotators.annotators.filter { $0.verdict == .likelySpam }.map { labeled.annotators[$0.worker] }
            let review = annotators.annotators.filter { $0.verdict == .review }.map { labeled.annotators[$0.worker] }
            report.lines.append("annotators: \(annotators.annotators.count - spam.count - review.count) trusted, review: \(review.isEmpty ? "none" : review.joined(separator: ", ")), likely spam: \(spam.isEmpty ? "none" : spam.joined(separator: ", ")) (curate annotators for the evidence)")
            report.consensus = .init(method: options.consensus.rawValue, confidentItems: confident)
            report.annotators = AnnotatorRecord.rows(annotators, names: labeled.annotators)
            if let out = options.consensusOut { try writeConsensus(set, labeled, result, to: out) }
        } else if let boxes {
            report.lines.append("box agreement over \(boxes.pairs) annotator pairs: mean IoU \(f(boxes.meanIoU)), F1@0.5 \(f(boxes.f1))")
        }
        if let boxes { report.boxAgreement = .init(pairs: boxes.pairs, meanIoU: boxes.meanIoU, f1: boxes.f1) }
        if let html = options.htmlReport {
            let byPath = Dictionary(images.compactMap { i in i.data.map { (i.path, $0) } }, uniquingKeysWith: { a, _ in a })
            let text = QualityReportPage(title: "curate validate — " + input.name, set: set, findings: findings,
                                         crowd: page == nil ? nil : labeled, consensus: page?.consensus, annotators: page?.annotators,
                                         image: { path in byPath[path].flatMap { try? ImageDecoder().decode([UInt8]($0), format: .rgb8, source: path).pixels } }).render()
            do { try Data(text.utf8).write(to: URL(fileURLWithPath: html), options: .atomic) } catch {
                throw QualityError("\(html): cannot write: \(error.localizedDescription)", kind: .internal)
            }
            report.lines.append("report: \(html)")
        }
        return report
    }

    static func f(_ v: Double?) -> String { v.map { String(format: "%.3f", $0) } ?? "-" }

    static func pairFindings(_ kind: Finding.Kind, _ a: String, _ b: String, _ detail: String, given: [String: Int], schema: LabelSchema) -> [Finding] {
        var out = [Finding(kind, a, "same as \(b) (\(detail))")]
        if let x = given[a], let y = given[b], x != y {
            out.append(Finding(.conflictingDuplicate, a, "labeled \(schema.name(of: x)), its duplicate \(b) \(schema.name(of: y))"))
        }
        return out
    }

    /// Exact duplicates (identical bytes), then near duplicates by perceptual hash among the rest.
    static func duplicateFindings(_ evidence: ImageEvidence, given: [String: Int], schema: LabelSchema, nearDistance: Int) -> [Finding] {
        var findings: [Finding] = []
        var firstWithBytes: [String: String] = [:]
        var exact = Set<String>()
        for e in evidence.entries {
            guard let digest = e.digest else { continue }
            if let first = firstWithBytes[digest] {
                exact.insert(e.path)
                findings += pairFindings(.exactDuplicate, e.path, first, "identical bytes", given: given, schema: schema)
            } else {
                firstWithBytes[digest] = e.path
            }
        }
        var paths: [String] = [], hashes: [UInt64] = []
        for e in evidence.entries where !exact.contains(e.path) {
            guard let hash = e.hash else { continue }
            paths.append(e.path)
            hashes.append(hash)
        }
        for (i, j, d) in Duplicates.nearPairs(hashes, maxDistance: nearDistance) {
            findings += pairFindings(.nearDuplicate, paths[j], paths[i], "perceptual hashes \(d) bits apart", given: given, schema: schema)
        }
        return findings
    }

    /// Near duplicates by cosine similarity of embeddings, and k-NN outliers: exact up to
    /// ``NearestNeighbours/exactLimit`` items, by an inverted-file index above (docs/sharding.md gives its recall).
    static func embeddingFindings(_ path: String, ids idsPath: String, given: [String: Int], schema: LabelSchema, minCosine: Double) throws -> [Finding] {
        let embeddings = try Embeddings.load(path, ids: idsPath)
        let ids = embeddings.paths
        let graph = NearestNeighbours.graph(embeddings.values, dimensions: embeddings.dimensions, k: 5, minCosine: minCosine)
        var findings: [Finding] = []
        for (i, j, c) in graph.pairs {
            findings += pairFindings(.nearDuplicate, ids[j], ids[i], "cosine \(String(format: "%.3f", c))", given: given, schema: schema)
        }
        let (scores, outliers) = Duplicates.outliers(graph)
        for i in outliers { findings.append(Finding(.outlier, ids[i], "mean cosine distance \(String(format: "%.3f", scores[i])) to its 5 nearest neighbours (over 3 standard deviations above the mean)")) }
        return findings
    }

    static func writeConsensus(_ set: LabelSet, _ labeled: LabeledCrowd, _ result: Crowd.Result, to path: String) throws {
        var out = set
        for (t, item) in labeled.items.enumerated() where result.labels[t] >= 0 {
            out.annotations.append(Annotation(item: item, label: .classification(result.labels[t]), source: .consensus, confidence: result.confidence[t]))
        }
        try LabelFormat.jsonl.write(out, to: path)
    }
}

/// The outcome of `curate annotators`.
package struct AnnotatorsReport: Codable, Sendable {
    package var annotators: [AnnotatorRecord]
    package var teamMedianSeconds: Double?
    /// "N annotators, M answers on K items, consensus METHOD".
    package var headline = ""
    package var metrics: [String: Double] = [:]
    enum CodingKeys: String, CodingKey { case annotators, teamMedianSeconds = "team_median_seconds" }

    /// Judges each annotator of `set` (classification labels with an `annotator:ID` source).
    package static func run(_ set: LabelSet, consensus method: ConsensusMethod, gold: String?) throws -> AnnotatorsReport {
        let labeled = LabeledCrowd(set, gold: try gold.map { try GoldLabels.read($0, schema: set.schema) } ?? [:])
        guard !labeled.annotators.isEmpty else { throw QualityError("no classification labels with an annotator:ID source") }
        let report = AnnotatorReport(crowd: labeled.crowd, consensus: method.run(labeled.crowd), seconds: labeled.seconds)
        var result = AnnotatorsReport(annotators: AnnotatorRecord.rows(report, names: labeled.annotators), teamMedianSeconds: report.teamMedianSeconds)
        result.headline = "\(report.annotators.count) annotators, \(labeled.crowd.responses.count) answers on \(labeled.items.count) items, consensus \(method.rawValue)"
        result.metrics = report.metrics
        return result
    }
}
