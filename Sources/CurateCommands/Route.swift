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

        /// The built-in learner's probabilities for the validation share of human-labeled images and the unlabeled
        /// ones, trained on the other human-labeled images.
        func learnedPredictions(_ repo: Repository, labels: LabelSet, classes: [Int]) throws -> Predictions {
            let human = peoplesLabels(labels, column: Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1, $0) })).classes
            var trainX: [Double] = [], trainY: [Int] = [], predictX: [Double] = [], predictIds: [String] = [], d = 0
            for file in try repo.files(at: "HEAD") where file.width != nil {
                guard let image = try? ImageDecoder().decode([UInt8](try repo.data(of: file.hash)), source: file.path).pixels else {
                    Console.warning("skipped \(file.path): cannot decode"); continue
                }
                let f = pixelFeatures(image)
                if d == 0 { d = f.count }
                guard f.count == d else { throw RoutingError("\(file.path): \(image.width)x\(image.height) gives \(f.count) pixel features, other images \(d); pass --predictions") }
                if let y = human[file.path], Router.auditDraw("validation:" + file.path) >= validationShare {
                    trainX += f; trainY.append(y)
                } else {
                    predictX += f; predictIds.append(file.path)
                }
            }
            guard Set(trainY).count >= 2 else { throw RoutingError("the built-in learner needs human labels of at least 2 classes outside the validation share") }
            let model = LogisticRegression.fit(features: trainX, dimensions: d, labels: trainY, classes: classes.count)
            return try Predictions(ids: predictIds, probabilities: model.probabilities(predictX, count: predictIds.count), classes: classes.count)
        }

        func run() async throws {
            try await reportingErrors {
                var policy = RoutingPolicy()
                if let file = self.policy {
                    let text = try readText(file)
                    policy = try RoutingPolicy(yaml: text, file: file)
                }
                if let targetAccuracy { policy.targetAccuracy = targetAccuracy }
                if perClass { policy.perClass = true }
                if let model { policy.model = model }
                try policy.validate()
                let (repo, store) = try repository.openWithStore()
                let where_ = self.policy.map { "policy \($0)" } ?? "routing"
                for q in policy.queues {
                    guard (try? store.queueSummary(q)) != nil else {
                        throw RoutingError("\(where_) names queue \(q), which does not exist (curate queue create \(q) --empty); nothing routed")
                    }
                }
                let labels = try repo.labels(at: "HEAD")
                let classes = labels.schema.classes.sorted { $0.id < $1.id }
                guard classes.count >= 2 else { throw RoutingError("the repository's schema has \(classes.count) classes; routing needs at least 2") }
                let column = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1.id, $0) })
                let loaded: Predictions
                if let predictions {
                    loaded = try Predictions.load(predictions, ids: ids)
                    guard loaded.classes == classes.count else {
                        throw RoutingError("\(predictions): \(loaded.classes) columns, but the schema has \(classes.count) classes (columns are in class-id order)")
                    }
                    let tracked = Set(try repo.files(at: "HEAD").map(\.path))
                    if let unknown = loaded.ids.first(where: { !tracked.contains($0) }) {
                        throw RoutingError("\(predictions): prediction for \(unknown), which is not a tracked file at HEAD; nothing routed")
                    }
                } else {
                    loaded = try learnedPredictions(repo, labels: labels, classes: classes.map(\.id))
                }
                var committeeValues: [Double]?
                if let committee {
                    let c = try NumpyArray(contentsOf: committee)
                    guard c.shape.count == 3, c.shape[1] == loaded.ids.count, c.shape[2] == loaded.classes else {
                        throw RoutingError("\(committee): shape \(c.shape) is not M × \(loaded.ids.count) × \(loaded.classes)")
                    }
                    if let bad = c.values.firstIndex(where: { !$0.isFinite || $0 < 0 || $0 > 1 }) { throw RoutingError("\(committee): value \(c.values[bad]) is not a probability") }
                    committeeValues = c.values
                }
                let (human, labeledBy) = peoplesLabels(labels, column: column)
                let p = loaded
                var forPeople: Set<String>?
                if let batch { forPeople = Set(try readBatch(batch).map(\.item)) }
                let state = try store.routeState()
                let suspended = Set(state.suspended.keys.compactMap { name in classes.firstIndex { $0.name == name } })
                let plan = Router.plan(ids: p.ids, probabilities: p.probabilities, classes: p.classes, committee: committeeValues,
                                       humanLabels: human, retired: state.retired, suspended: suspended, routed: Set(state.items.keys),
                                       forPeople: forPeople, policy: policy)
                let name = { (j: Int) in classes[j].name }
                let suggestion = { (j: Int, confidence: Double) -> String in
                    String(decoding: try! JSONSerialization.data(withJSONObject: ["class": name(j), "confidence": (confidence * 10000).rounded() / 10000], options: [.sortedKeys]), as: UTF8.self)
                }
                // Disagreements among the human queue's answers go to adjudication.
                var adjudicate: [QueueItem] = []
                if policy.adjudicationQueue != nil {
                    var answers: [String: Set<String>] = [:]
                    for a in try store.queueAnswers(policy.humanQueue) where !a.isGold {
                        if let o = try? JSONSerialization.jsonObject(with: Data(a.answer.utf8)) as? [String: Any], let c = o["class"] as? String { answers[a.path, default: []].insert(c) }
                    }
                    for (path, set) in answers.sorted(by: { $0.key < $1.key }) where set.count > 1 && state.items[path]?.decision != .adjudication {
                        adjudicate.append(QueueItem(path: path))
                    }
                }
                // Annotators: likely spam gets nothing; skills per class order what each is served.
                var spam: [String] = [], skills: [String: [String: Double]] = [:]
                if let file = policy.annotatorLabels {
                    guard let format = LabelFormat(rawValue: policy.annotatorFormat) else { throw RoutingError("annotators.format \(policy.annotatorFormat): not a label format") }
                    let folder = (file as NSString).deletingLastPathComponent
                    let set = try format.read(from: file, options: LabelReadOptions(imagesRoot: folder.isEmpty ? "." : folder)).labelSet
                    let crowd = LabeledCrowd(set, gold: try policy.annotatorGold.map { try readGoldCSV($0, schema: set.schema) } ?? [:])
                    guard !crowd.annotators.isEmpty else { throw RoutingError("\(file): no classification labels with an annotator:ID source") }
                    (spam, skills) = crowd.spamAndSkills(schema: set.schema)
                }
                // What goes where.
                var records: [RouteRecord] = []
                var humanItems: [QueueItem] = [], auditItems: [QueueItem] = [], secondItems: [QueueItem] = []
                let audits = Set(plan.audits)
                var accepted = LabelSet(schema: labels.schema)
                let source = policy.modelSource
                for a in plan.accepted {
                    let path = p.ids[a.row]
                    accepted.items.append(Item(path: path))
                    accepted.annotations.append(Annotation(item: path, label: .classification(classes[a.classIndex].id),
                                                           source: .model(name: source.name, version: source.version), createdAt: Date(), confidence: a.confidence))
                    if audits.contains(a.row) {
                        auditItems.append(QueueItem(path: path, predictedClass: name(a.classIndex)))   // blind: no suggestion
                        records.append(RouteRecord(path: path, decision: .audit, predictedClass: name(a.classIndex), confidence: a.confidence, queue: policy.auditQueue))
                    } else {
                        records.append(RouteRecord(path: path, decision: .auto, predictedClass: name(a.classIndex), confidence: a.confidence))
                    }
                }
                var raised = 0, byCommittee = 0
                for h in plan.human {
                    if h.reason == "committee disagrees" { byCommittee += 1 }
                    let path = p.ids[h.row]
                    let top = (0..<p.classes).max { p.probabilities[h.row * p.classes + $0] < p.probabilities[h.row * p.classes + $1] }!
                    let conf = p.probabilities[h.row * p.classes + top]
                    if h.overlap != policy.overlap { raised += 1 }
                    humanItems.append(QueueItem(path: path, suggestion: suggestion(top, conf), overlap: h.overlap == policy.overlap ? nil : h.overlap, predictedClass: name(top)))
                    records.append(RouteRecord(path: path, decision: .human, predictedClass: name(top), confidence: conf, queue: policy.humanQueue))
                }
                let secondQueue = policy.secondOpinionQueue ?? policy.humanQueue
                for s in plan.secondOpinions {
                    let path = p.ids[s.row]
                    secondItems.append(QueueItem(path: path, predictedClass: name(s.modelClass), excluded: labeledBy[path]))
                    records.append(RouteRecord(path: path, decision: .secondOpinion, predictedClass: name(s.modelClass), confidence: s.confidence, queue: secondQueue))
                }
                for item in adjudicate { records.append(RouteRecord(path: item.path, decision: .adjudication, queue: policy.adjudicationQueue)) }

                // Report.
                let thresholds = plan.thresholds.sorted { $0.key < $1.key }
                var lines: [String] = []
                if !policy.perClass {
                    if let t = thresholds.first?.value {
                        lines.append(String(format: "threshold %.4f: %d of %d validation items at or above it, %d wrong (bound %.4f ≤ %.4f)",
                                            t.value, t.covered, plan.validationItems, t.errors, t.bound, 1 - policy.targetAccuracy))
                    } else {
                        lines.append("no threshold meets target \(policy.targetAccuracy) on \(plan.validationItems) validation items (need ≥ \(policy.minValidation) at or above it): nothing auto-accepted")
                    }
                } else {
                    for (c, t) in thresholds {
                        if let t {
                            lines.append(String(format: "  %@: threshold %.4f (%d validation items, %d wrong)", name(c), t.value, t.covered, t.errors))
                        } else {
                            lines.append("  \(name(c)): no threshold passes — not auto-accepted")
                        }
                    }
                    lines.insert("per-class thresholds on \(plan.validationItems) validation items, target \(policy.targetAccuracy):", at: 0)
                }
                lines.append("auto-accepted: \(plan.accepted.count) items labeled model:\(policy.model)" + (plan.audits.isEmpty ? "" : " (\(plan.audits.count) also audited blind in \(policy.auditQueue ?? "?"))"))
                lines.append("to people: \(plan.human.count) items in \(policy.humanQueue), most uncertain first" + (raised > 0 ? " (\(raised) with higher overlap: \(raised - byCommittee) with a margin below \(policy.uncertainMargin.map { String($0) } ?? "–")" + (byCommittee > 0 ? ", \(byCommittee) where the committee disagrees" : "") + ")" : "")
                             + (plan.suspendedToHuman > 0 ? "; \(plan.suspendedToHuman) of them in classes suspended by audits" : ""))
                if !plan.secondOpinions.isEmpty { lines.append("second opinion: \(plan.secondOpinions.count) human labels a confident model disagrees with → \(secondQueue), not to their first annotator") }
                if policy.adjudicationQueue != nil { lines.append("adjudication: \(adjudicate.count) items whose annotators disagree → \(policy.adjudicationQueue!)") }
                if !plan.retire.isEmpty { lines.append("retired: \(plan.retire.count) validation items inside the accepted region (not used again)") }
                if policy.annotatorLabels != nil { lines.append("annotators: " + (spam.isEmpty ? "none likely spam" : "\(spam.count) likely spam receive nothing (\(spam.sorted().joined(separator: ", ")))") + "; class skills for \(skills.count)") }
                if plan.waiting > 0 { lines.append("waiting: \(plan.waiting) items below the threshold outside the batch, for a later round") }
                if plan.skipped > 0 { lines.append("left alone: \(plan.skipped) items routed by an earlier run") }
                let summary: [String: Any] = [
                    "thresholds": Dictionary(uniqueKeysWithValues: thresholds.map { (name($0.key), $0.value.map { ["value": $0.value, "covered": $0.covered, "errors": $0.errors, "bound": $0.bound] as [String: Any] } as Any? ?? NSNull()) }),
                    "validation": plan.validationItems, "accepted": plan.accepted.count, "audited": plan.audits.count, "human": plan.human.count,
                    "overlap_raised": raised, "second_opinion": plan.secondOpinions.count, "adjudication": adjudicate.count, "retired": plan.retire.count,
                    "likely_spam": spam.sorted(), "skipped": plan.skipped, "waiting": plan.waiting, "suspended_to_human": plan.suspendedToHuman,
                    "suspended_classes": state.suspended.keys.sorted(), "target": policy.targetAccuracy, "model": policy.model, "dry_run": dryRun,
                ]
                if !dryRun {
                    if let out { try LabelFormat.jsonl.write(accepted, to: out) }
                    if !accepted.annotations.isEmpty {
                        let staged = repo.root + "/.curate/route-accepted-\(ProcessInfo.processInfo.processIdentifier).jsonl"
                        try LabelFormat.jsonl.write(accepted, to: staged)
                        defer { try? FileManager.default.removeItem(atPath: staged) }
                        _ = try repo.add([], labels: LabelImport(path: staged, format: .jsonl, imagesRoot: repo.root))
                    }
                    if policy.annotatorLabels != nil {
                        for q in policy.queues {
                            let spec = try store.queueSummary(q).spec
                            try store.setQueueAccess(q, annotators: spec.annotators, blocked: spam.sorted())
                            try store.setQueueSkills(q, skills)
                        }
                    }
                    var queued = [QueueBatch(queue: policy.humanQueue, items: humanItems), QueueBatch(queue: secondQueue, items: secondItems)]
                    if let q = policy.auditQueue { queued.append(QueueBatch(queue: q, items: auditItems)) }
                    if let q = policy.adjudicationQueue { queued.append(QueueBatch(queue: q, items: adjudicate)) }
                    try store.recordRoute(RouteRun(model: policy.model, target: policy.targetAccuracy, summary: try jsonText(summary), records: records,
                                                   retire: plan.retire.map { p.ids[$0] }, queued: queued))
                }
                if json { Console.out(try jsonText(summary)) } else {
                    Console.out((dryRun ? "dry run — nothing changed\n" : "") + lines.joined(separator: "\n"))
                    if !dryRun && !plan.accepted.isEmpty { Console.out("the auto-accepted labels are staged: curate commit -m \"…\" records them") }
                }
            }
        }
    }

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
                let (repo, store) = try repository.openWithStore()
                let state = try store.routeState()
                guard state.runs > 0 else { throw RoutingError("no routing runs yet (curate route)") }
                let target = targetAccuracy ?? state.lastTarget ?? 0.95
                guard target > 0, target < 1 else { throw RoutingError("target accuracy \(target) is outside (0, 1)") }
                let classes = try repo.labels(at: "HEAD").schema.classes.sorted { $0.id < $1.id }
                let index = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1.name, $0) })
                var answersByQueue: [String: [String: String]] = [:]
                var pairs: [(model: Int, human: Int)] = []
                var pending = 0
                for record in state.items.values.sorted(by: { $0.path < $1.path }) where record.decision == .audit {
                    guard let queue = record.queue, let model = record.predictedClass.flatMap({ index[$0] }) else { continue }
                    if answersByQueue[queue] == nil {
                        var first: [String: String] = [:]
                        for a in try store.queueAnswers(queue) {
                            if first[a.path] == nil, let o = try? JSONSerialization.jsonObject(with: Data(a.answer.utf8)) as? [String: Any], let c = o["class"] as? String { first[a.path] = c }
                        }
                        answersByQueue[queue] = first
                    }
                    guard let answer = answersByQueue[queue]?[record.path], let human = index[answer] else { pending += 1; continue }
                    pairs.append((model, human))
                }
                let gates = try failOn.map { text throws(QualityError) in try Gates(text) }
                let report = AuditReport(audits: pairs, classes: classes.count, target: target)
                let suspend = report.perClass.filter(\.suspend)
                if !dryRun {
                    for row in suspend {
                        let c = classes[row.classIndex!].name
                        try store.setRouteSuspended(c, reason: String(format: "audited accuracy %.3f, 95%% interval [%.3f, %.3f] below %.3f", row.accuracy, row.low, row.high, target))
                    }
                }
                func describe(_ r: AuditReport.Row) -> [String: Any] {
                    ["class": r.classIndex.map { classes[$0].name } ?? "all", "audited": r.audited, "correct": r.correct, "accuracy": r.accuracy, "low": r.low, "high": r.high, "suspend": r.suspend]
                }
                if let gates {
                    let suspended = Set(state.suspended.keys).union(suspend.map { classes[$0.classIndex!].name })
                    let failed = try gates.failures(["accuracy": report.overall.accuracy, "low": report.overall.low, "high": report.overall.high,
                                                     "audited": Double(report.overall.audited), "suspended": Double(suspended.count)])
                    if !failed.isEmpty { throw CommandFailure(message: "gate failed: " + failed.joined(separator: "; "), kind: .invalidData) }
                }
                if json {
                    Console.out(try jsonText(["target": target, "overall": describe(report.overall), "classes": report.perClass.map(describe), "pending": pending,
                                              "suspended": Array(Set(state.suspended.keys).union(suspend.map { classes[$0.classIndex!].name })).sorted()]))
                    return
                }
                Console.out("audits of auto-accepted labels: \(report.overall.audited) answered, \(pending) waiting; target \(target)")
                let rows = [report.overall] + report.perClass
                Console.out(Table(["class", "audited", "correct", "accuracy", "95% interval", "status"], rows.map { r in
                    let status = r.classIndex.map { state.suspended[classes[$0].name] != nil ? "suspended" : "" } ?? ""
                    return [r.classIndex.map { classes[$0].name } ?? "all", String(r.audited), String(r.correct), String(format: "%.3f", r.accuracy),
                            String(format: "[%.3f, %.3f]", r.low, r.high), r.suspend ? (dryRun ? "below target" : "suspended now") : status.isEmpty ? "ok" : status]
                }).text)
            }
        }
    }
}

/// People's classification labels (any source but a model) as class columns by item, and who gave them.
func peoplesLabels(_ labels: LabelSet, column: [Int: Int]) -> (classes: [String: Int], by: [String: String]) {
    var classes: [String: Int] = [:], by: [String: String] = [:]
    for a in labels.annotations {
        guard case .classification(let id) = a.label, let j = column[id] else { continue }
        if case .model = a.source { continue }
        classes[a.item] = j
        if case .annotator(let who) = a.source { by[a.item] = who }
    }
    return (classes, by)
}
