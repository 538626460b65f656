import CurateCore
import CurateImaging
import CurateQuality
import CurateSelection
import CurateStore
import CurateVersioning
import Foundation

/// What `curate route` is asked to do.
package struct RouteRequest: Sendable {
    /// Where the model's probabilities come from.
    package enum Source: Sendable {
        /// A file of probabilities (`.npy` with `ids`, or JSON Lines), optionally with committee samples.
        case predictions(path: String, ids: String?, committee: String?)
        /// The built-in learner, trained on the human labels outside a validation share.
        case learner(validationShare: Double)
    }

    package var source: Source
    package var policy: RoutingPolicy
    /// The policy file, for messages ("policy FILE names queue …").
    package var policyFile: String?
    /// A batch: only its items may go to people.
    package var batch: String?
    /// Also write the auto-accepted labels here (JSON Lines).
    package var out: String?
    package var dryRun: Bool

    package init(source: Source, policy: RoutingPolicy, policyFile: String? = nil, batch: String? = nil, out: String? = nil, dryRun: Bool = false) {
        self.source = source
        self.policy = policy
        self.policyFile = policyFile
        self.batch = batch
        self.out = out
        self.dryRun = dryRun
    }
}

/// The outcome of a routing run: what `route --json` prints and the run's record keeps.
package struct RouteReport: Codable, Sendable, Equatable {
    package struct Threshold: Codable, Sendable, Equatable {
        package var value: Double
        package var covered: Int
        package var errors: Int
        package var bound: Double
    }

    /// Per class name (or "all"), the threshold; nil when none passes.
    package var thresholds: [String: Threshold?]
    package var validation: Int
    package var accepted: Int
    package var audited: Int
    package var human: Int
    package var overlapRaised: Int
    package var secondOpinion: Int
    package var adjudication: Int
    package var retired: Int
    package var likelySpam: [String]
    package var skipped: Int
    package var waiting: Int
    package var suspendedToHuman: Int
    package var suspendedClasses: [String]
    package var target: Double
    package var model: String
    package var dryRun: Bool
    /// Of `overlapRaised`, those raised because the committee disagrees.
    package var raisedByCommittee = 0
    /// Annotators given per-class skills (with `annotators:` in the policy).
    package var skilled = 0
    /// Items the built-in learner could not decode.
    package var undecodable: [String] = []
    /// The policy as run (for the text lines; not in the JSON).
    package var policy = RoutingPolicy()
    /// The class names in id order (for the text lines).
    package var classNames: [String] = []

    enum CodingKeys: String, CodingKey {
        case thresholds, validation, accepted, audited, human, overlapRaised = "overlap_raised", secondOpinion = "second_opinion", adjudication,
             retired, likelySpam = "likely_spam", skipped, waiting, suspendedToHuman = "suspended_to_human", suspendedClasses = "suspended_classes",
             target, model, dryRun = "dry_run"
    }

    /// The report as lines for a person.
    package var lines: [String] {
        var lines: [String] = []
        let sorted = classNames.compactMap { c in thresholds[c].map { (key: c, value: $0) } }
        if !policy.perClass {
            if let t = sorted.first?.value {
                lines.append(String(format: "threshold %.4f: %d of %d validation items at or above it, %d wrong (bound %.4f ≤ %.4f)",
                                    t.value, t.covered, validation, t.errors, t.bound, 1 - target))
            } else {
                lines.append("no threshold meets target \(target) on \(validation) validation items (need ≥ \(policy.minValidation) at or above it): nothing auto-accepted")
            }
        } else {
            lines.append("per-class thresholds on \(validation) validation items, target \(target):")
            for (c, t) in sorted {
                if let t {
                    lines.append(String(format: "  %@: threshold %.4f (%d validation items, %d wrong)", c, t.value, t.covered, t.errors))
                } else {
                    lines.append("  \(c): no threshold passes — not auto-accepted")
                }
            }
        }
        lines.append("auto-accepted: \(accepted) items labeled model:\(model)" + (audited == 0 ? "" : " (\(audited) also audited blind in \(policy.auditQueue ?? "?"))"))
        lines.append("to people: \(human) items in \(policy.humanQueue), most uncertain first"
                     + (overlapRaised > 0 ? " (\(overlapRaised) with higher overlap: \(overlapRaised - raisedByCommittee) with a margin below \(policy.uncertainMargin.map { String($0) } ?? "–")"
                        + (raisedByCommittee > 0 ? ", \(raisedByCommittee) where the committee disagrees" : "") + ")" : "")
                     + (suspendedToHuman > 0 ? "; \(suspendedToHuman) of them in classes suspended by audits" : ""))
        if secondOpinion > 0 {
            lines.append("second opinion: \(secondOpinion) human labels a confident model disagrees with → \(policy.secondOpinionQueue ?? policy.humanQueue), not to their first annotator")
        }
        if let q = policy.adjudicationQueue { lines.append("adjudication: \(adjudication) items whose annotators disagree → \(q)") }
        if retired > 0 { lines.append("retired: \(retired) validation items inside the accepted region (not used again)") }
        if policy.annotatorLabels != nil {
            lines.append("annotators: " + (likelySpam.isEmpty ? "none likely spam" : "\(likelySpam.count) likely spam receive nothing (\(likelySpam.joined(separator: ", ")))") + "; class skills for \(skilled)")
        }
        if waiting > 0 { lines.append("waiting: \(waiting) items below the threshold outside the batch, for a later round") }
        if skipped > 0 { lines.append("left alone: \(skipped) items routed by an earlier run") }
        return lines
    }
}

/// The outcome of `route report`: audited accuracy of auto-accepted labels, per class.
package struct AuditOutcome: Codable, Sendable, Equatable {
    package struct Row: Codable, Sendable, Equatable {
        package var `class`: String
        package var audited: Int
        package var correct: Int
        package var accuracy: Double
        package var low: Double
        package var high: Double
        package var suspend: Bool
    }

    package var target: Double
    package var overall: Row
    package var classes: [Row]
    /// Audited items still waiting for a human answer.
    package var pending: Int
    /// Classes not auto-accepted any more (earlier runs and this one).
    package var suspended: [String]
    /// Classes suspended before this report.
    package var suspendedBefore: [String] = []

    enum CodingKeys: String, CodingKey { case target, overall, classes, pending, suspended }

    /// The figures `--fail-on` gates test.
    package var metrics: [String: Double] {
        ["accuracy": overall.accuracy, "low": overall.low, "high": overall.high, "audited": Double(overall.audited), "suspended": Double(suspended.count)]
    }
}

/// `curate route` and `curate route report`, as library calls: read the repository's labels and the labeling
/// store's routing state, decide, record.
package enum Routing {
    /// Routes the predicted items: auto-accepted labels staged in `repository`, the rest queued in `store` (nothing
    /// changes with `dryRun`). See `Router.plan` for the decisions.
    package static func route(_ request: RouteRequest, repository repo: Repository, store: any LabelingStore) throws -> RouteReport {
        let policy = request.policy
        try policy.validate()
        let where_ = request.policyFile.map { "policy \($0)" } ?? "routing"
        let known = Set(try store.queueNames())
        for q in policy.queues where !known.contains(q) {
            throw RoutingError("\(where_) names queue \(q), which does not exist (curate queue create \(q) --empty); nothing routed")
        }
        let labels = try repo.labels(at: "HEAD")
        let classes = labels.schema.classes.sorted { $0.id < $1.id }
        guard classes.count >= 2 else { throw RoutingError("the repository's schema has \(classes.count) classes; routing needs at least 2") }
        let column = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1.id, $0) })
        let name = { (j: Int) in classes[j].name }

        // Predictions (and committee samples) for the items.
        let p: Predictions
        var committee: Committee?
        var undecodable: [String] = []
        switch request.source {
        case .predictions(let path, let ids, let committeePath):
            p = try Predictions.load(path, ids: ids)
            guard p.classes == classes.count else {
                throw RoutingError("\(path): \(p.classes) columns, but the schema has \(classes.count) classes (columns are in class-id order)")
            }
            let tracked = Set(try repo.files(at: "HEAD").map(\.path))
            if let unknown = p.ids.first(where: { !tracked.contains($0) }) {
                throw RoutingError("\(path): prediction for \(unknown), which is not a tracked file at HEAD; nothing routed")
            }
            committee = try committeePath.map { try Committee.load($0, rows: p.ids.count, classes: p.classes) }
        case .learner(let share):
            (p, undecodable) = try learnedPredictions(repo, labels: labels, column: column, validationShare: share)
        }

        let (human, labeledBy) = peoplesLabels(labels, column: column)
        let forPeople = try request.batch.map { Set(try BatchFile.read($0).map(\.item)) }
        let state = try store.routeState()
        let suspended = Set(state.suspended.keys.compactMap { n in classes.firstIndex { $0.name == n } })
        let plan = Router.plan(ids: p.ids, probabilities: p.probabilities, classes: p.classes, committee: committee?.values,
                               humanLabels: human, retired: state.retired, suspended: suspended, routed: Set(state.items.keys),
                               forPeople: forPeople, policy: policy)

        // Disagreements among the human queue's answers go to adjudication.
        var adjudicate: [QueueItem] = []
        if policy.adjudicationQueue != nil {
            var answers: [String: Set<String>] = [:]
            for a in try store.queueAnswers(policy.humanQueue) where !a.isGold {
                if let c = answerClass(a.answer) { answers[a.path, default: []].insert(c) }
            }
            for (path, set) in answers.sorted(by: { $0.key < $1.key }) where set.count > 1 && state.items[path]?.decision != .adjudication {
                adjudicate.append(QueueItem(path: path))
            }
        }
        // Annotators: likely spam gets nothing; skills per class order what each is served.
        var spam: [String] = [], skills: [String: [String: Double]] = [:]
        if let file = policy.annotatorLabels {
            guard let format = LabelFormat(rawValue: policy.annotatorFormat) else { throw RoutingError("annotators.format \(policy.annotatorFormat): not a label format") }
            let set = try format.read(from: file, options: LabelReadOptions(imagesRoot: LabelReadOptions.defaultRoot(forLabelFile: file))).labelSet
            let crowd = LabeledCrowd(set, gold: try policy.annotatorGold.map { try GoldLabels.read($0, schema: set.schema) } ?? [:])
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
            let top = (0..<p.classes).max { p.probabilities[h.row * p.classes + $0] < p.probabilities[h.row * p.classes + $1] } ?? 0
            let confidence = p.probabilities[h.row * p.classes + top]
            if h.overlap != policy.overlap { raised += 1 }
            humanItems.append(QueueItem(path: path, suggestion: suggestion(name(top), confidence), overlap: h.overlap == policy.overlap ? nil : h.overlap,
                                        predictedClass: name(top)))
            records.append(RouteRecord(path: path, decision: .human, predictedClass: name(top), confidence: confidence, queue: policy.humanQueue))
        }
        let secondQueue = policy.secondOpinionQueue ?? policy.humanQueue
        for s in plan.secondOpinions {
            let path = p.ids[s.row]
            secondItems.append(QueueItem(path: path, predictedClass: name(s.modelClass), excluded: labeledBy[path]))
            records.append(RouteRecord(path: path, decision: .secondOpinion, predictedClass: name(s.modelClass), confidence: s.confidence, queue: secondQueue))
        }
        for item in adjudicate { records.append(RouteRecord(path: item.path, decision: .adjudication, queue: policy.adjudicationQueue)) }

        var report = RouteReport(
            thresholds: Dictionary(uniqueKeysWithValues: plan.thresholds.map { c, t in
                (name(c), t.map { RouteReport.Threshold(value: $0.value, covered: $0.covered, errors: $0.errors, bound: $0.bound) })
            }),
            validation: plan.validationItems, accepted: plan.accepted.count, audited: plan.audits.count, human: plan.human.count, overlapRaised: raised,
            secondOpinion: plan.secondOpinions.count, adjudication: adjudicate.count, retired: plan.retire.count, likelySpam: spam.sorted(),
            skipped: plan.skipped, waiting: plan.waiting, suspendedToHuman: plan.suspendedToHuman, suspendedClasses: state.suspended.keys.sorted(),
            target: policy.targetAccuracy, model: policy.model, dryRun: request.dryRun)
        report.raisedByCommittee = byCommittee
        report.skilled = skills.count
        report.undecodable = undecodable
        report.policy = policy
        report.classNames = classes.map(\.name)
        guard !request.dryRun else { return report }

        // Labels first (staging the same labels again changes nothing), then the run's record in one transaction:
        // a failure in between leaves nothing routed, and a rerun completes it.
        if let out = request.out { try LabelFormat.jsonl.write(accepted, to: out) }
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
        try store.recordRoute(RouteRun(model: policy.model, target: policy.targetAccuracy, summary: try report.compactJSON(), records: records,
                                       retire: plan.retire.map { p.ids[$0] }, queued: queued))
        return report
    }

    /// Measures the auto-accepted labels against their blind audits (the first human answer in each audit queue)
    /// and, unless `dryRun`, suspends the classes whose 95% interval lies below `target` (default: the last run's).
    package static func audit(repository repo: Repository, store: any LabelingStore, target given: Double?, dryRun: Bool) throws -> AuditOutcome {
        let state = try store.routeState()
        guard state.runs > 0 else { throw RoutingError("no routing runs yet (curate route)") }
        let target = given ?? state.lastTarget ?? 0.95
        guard target > 0, target < 1 else { throw RoutingError("target accuracy \(target) is outside (0, 1)") }
        let classes = try repo.labels(at: "HEAD").schema.classes.sorted { $0.id < $1.id }
        let index = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1.name, $0) })
        var firstAnswers: [String: [String: String]] = [:]
        var pairs: [(model: Int, human: Int)] = []
        var pending = 0
        for record in state.items.values.sorted(by: { $0.path < $1.path }) where record.decision == .audit {
            guard let queue = record.queue, let model = record.predictedClass.flatMap({ index[$0] }) else { continue }
            if firstAnswers[queue] == nil {
                var first: [String: String] = [:]
                for a in try store.queueAnswers(queue) where first[a.path] == nil {
                    if let c = answerClass(a.answer) { first[a.path] = c }
                }
                firstAnswers[queue] = first
            }
            guard let answer = firstAnswers[queue]?[record.path], let human = index[answer] else { pending += 1; continue }
            pairs.append((model, human))
        }
        let report = AuditReport(audits: pairs, classes: classes.count, target: target)
        let suspendNow = report.perClass.filter(\.suspend)
        if !dryRun {
            for row in suspendNow {
                try store.setRouteSuspended(classes[row.classIndex!].name,
                                            reason: String(format: "audited accuracy %.3f, 95%% interval [%.3f, %.3f] below %.3f", row.accuracy, row.low, row.high, target))
            }
        }
        func row(_ r: AuditReport.Row) -> AuditOutcome.Row {
            AuditOutcome.Row(class: r.classIndex.map { classes[$0].name } ?? "all", audited: r.audited, correct: r.correct, accuracy: r.accuracy,
                             low: r.low, high: r.high, suspend: r.suspend)
        }
        var outcome = AuditOutcome(target: target, overall: row(report.overall), classes: report.perClass.map(row), pending: pending,
                                   suspended: Set(state.suspended.keys).union(suspendNow.map { classes[$0.classIndex!].name }).sorted())
        outcome.suspendedBefore = state.suspended.keys.sorted()
        return outcome
    }

    /// The built-in learner's probabilities for the validation share of human-labeled images and the unlabeled
    /// ones, trained on the other human-labeled images; and the images that could not be decoded.
    static func learnedPredictions(_ repo: Repository, labels: LabelSet, column: [Int: Int], validationShare: Double) throws -> (Predictions, [String]) {
        let human = peoplesLabels(labels, column: column).classes
        var trainX: [Double] = [], trainY: [Int] = [], predictX: [Double] = [], predictIds: [String] = [], skipped: [String] = [], d = 0
        for file in try repo.files(at: "HEAD") where file.width != nil {
            guard let image = try? ImageDecoder().decode([UInt8](try repo.data(of: file.hash)), source: file.path).pixels else { skipped.append(file.path); continue }
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
        let model = LogisticRegression.fit(features: trainX, dimensions: d, labels: trainY, classes: column.count)
        return (try Predictions(ids: predictIds, probabilities: model.probabilities(predictX, count: predictIds.count), classes: column.count), skipped)
    }

    /// People's classification labels (any source but a model) as class columns by item, and who gave them.
    static func peoplesLabels(_ labels: LabelSet, column: [Int: Int]) -> (classes: [String: Int], by: [String: String]) {
        var classes: [String: Int] = [:], by: [String: String] = [:]
        for a in labels.annotations {
            guard case .classification(let id) = a.label, let j = column[id] else { continue }
            if case .model = a.source { continue }
            classes[a.item] = j
            if case .annotator(let who) = a.source { by[a.item] = who }
        }
        return (classes, by)
    }

    /// The class of a stored classification answer (`{"class": NAME}`), if it is one.
    static func answerClass(_ json: String) -> String? {
        (try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])?["class"] as? String
    }

    /// The suggestion shown with a human item: the model's class and its confidence (4 decimals).
    static func suggestion(_ className: String, _ confidence: Double) -> String {
        struct Suggestion: Encodable { var `class`: String; var confidence: Double }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = (try? encoder.encode(Suggestion(class: className, confidence: (confidence * 10000).rounded() / 10000))) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
