import CurateStore
import Foundation
import Synchronization

/// One annotator's standing: the figures a lead watches and the policy judges, the verdict and its evidence.
package struct Standing: Sendable, Codable, Equatable {
    package var annotator: String
    package var answers: Int
    package var perHour: Double?
    package var medianSeconds: Double?
    /// Median seconds ÷ the rest of the team's.
    package var speedRatio: Double?
    package var goldAnswers: Int
    package var goldAccuracy: Double?
    /// 95% Wilson interval of the gold accuracy.
    package var goldInterval: [Double]?
    /// Share of answer pairs with others on the same items that agree, over `compared` pairs.
    package var agreement: Double?
    package var agreementInterval: [Double]?
    package var compared: Int
    package var oneClassRun: Int
    /// The class most often read as another: "3 → 8".
    package var topConfusion: String?
    package var topConfusionShare: Double?
    /// trusted, review, likely spam, blocked, or new (too few answers to say, nothing against them).
    package var verdict: String
    package var evidence: [String]
    /// The gold rate adaptive gold gives them (nil without adaptive gold).
    package var goldRate: Double?
}

/// The policy's verdict on one annotator.
package struct Judgement: Sendable, Equatable {
    package var action: QueueDecisionAction?
    /// In plain words, for the annotator.
    package var reason: String
    package var evidence: [String]
}

/// Statistics the vetting uses.
package enum Wilson {
    /// The 95% Wilson score interval of k successes in n trials.
    package static func interval(_ k: Int, _ n: Int, z: Double = 1.96) -> (lower: Double, upper: Double) {
        guard n > 0 else { return (0, 1) }
        let p = Double(k) / Double(n), nn = Double(n), z2 = z * z
        let center = (p + z2 / (2 * nn)) / (1 + z2 / nn)
        let half = z * ((p * (1 - p) / nn + z2 / (4 * nn * nn)).squareRoot()) / (1 + z2 / nn)
        return (max(0, center - half), min(1, center + half))
    }
}

extension TeamMonitor {
    /// What the policy's metrics are for one annotator (nil when not defined yet).
    func metric(_ m: VettingPolicy.Metric, _ p: Person, teamMedian: Double?) -> Double? {
        switch m {
        case .goldAccuracy: return p.goldAnswers > 0 ? Double(p.goldCorrect) / Double(p.goldAnswers) : nil
        case .goldAccuracyLower: return p.goldAnswers > 0 ? Wilson.interval(p.goldCorrect, p.goldAnswers).lower : nil
        case .goldAccuracyUpper: return p.goldAnswers > 0 ? Wilson.interval(p.goldCorrect, p.goldAnswers).upper : nil
        case .agreement: return p.compared > 0 ? Double(p.agreed) / Double(p.compared) : nil
        case .agreementLower: return p.compared > 0 ? Wilson.interval(p.agreed, p.compared).lower : nil
        case .agreementUpper: return p.compared > 0 ? Wilson.interval(p.agreed, p.compared).upper : nil
        case .oneClassRun: return Double(Self.countedRun(p))
        case .speedRatio:
            guard let mine = p.seconds.median(), let team = teamMedian, team > 0 else { return nil }
            return mine / team
        case .topConfusion: return Self.topConfusion(p)?.share
        case .answers: return Double(p.answers)
        case .goldAnswers: return Double(p.goldAnswers)
        case .compared: return Double(p.compared)
        }
    }

    /// The run counts while its items' references contradict it at least as often as they confirm it (3 at least).
    static func countedRun(_ p: Person) -> Int {
        p.runReferences >= 3 && p.runContradicted * 2 >= p.runReferences ? p.runLength : 0
    }

    /// The largest share of one reference class answered as another, over classes with at least 10 references and
    /// pairs seen at least 4 times (fewer is noise).
    static func topConfusion(_ p: Person) -> (from: String, to: String, share: Double)? {
        var best: (String, String, Double)?
        for (reference, row) in p.confusion {
            let total = row.values.reduce(0, +)
            guard total >= 10 else { continue }
            for (answer, n) in row where answer != reference && n >= 4 {
                let share = Double(n) / Double(total)
                if best == nil || share > best!.2 || (share == best!.2 && (reference, answer) < (best!.0, best!.1)) { best = (reference, answer, share) }
            }
        }
        return best
    }

    /// An honest systematic confusion: errors concentrated in one or two (class → answer) pairs, from at most half
    /// the classes, with accuracy 0.8 or better on the other classes. Gold references when there are enough errors
    /// against them, else every reference.
    static func systematicConfusion(_ p: Person) -> String? {
        var goldErrors = 0
        for (reference, row) in p.goldConfusion { for (answer, n) in row where answer != reference { goldErrors += n } }
        let matrix = goldErrors >= 5 ? p.goldConfusion : p.confusion
        var errors: [(from: String, to: String, n: Int)] = []
        for (reference, row) in matrix { for (answer, n) in row where answer != reference && n > 0 { errors.append((reference, answer, n)) } }
        let total = errors.reduce(0) { $0 + $1.n }
        guard total >= 5 else { return nil }
        errors.sort { $0.n != $1.n ? $0.n > $1.n : ($0.from, $0.to) < ($1.from, $1.to) }
        let top = Array(errors.prefix(2))
        let sources = Set(top.map(\.from))
        guard Double(top.reduce(0) { $0 + $1.n }) >= 0.6 * Double(total), sources.count * 2 <= matrix.count else { return nil }
        var right = 0, seen = 0
        for (reference, row) in matrix where !sources.contains(reference) {
            seen += row.values.reduce(0, +)
            right += row[reference] ?? 0
        }
        guard seen >= 5, Double(right) >= 0.8 * Double(seen) else { return nil }
        return top.map { "reads \($0.from) as \($0.to) (\($0.n) times)" }.joined(separator: ", ") + String(format: ", right on %.0f%% of the other classes", 100 * Double(right) / Double(seen))
    }

    /// The team's median seconds, leaving out `who`.
    func teamMedian(without who: String) -> Double? {
        guard let p = people[who], !blocked.contains(who) else { return team.median() }
        return team.median(minus: p.seconds)
    }

    /// Applies the policy's rules to one annotator: the first block rule that holds blocks them (a review instead
    /// for an honest systematic confusion), else the first review rule flags them.
    package func judge(_ who: String, policy: VettingPolicy) -> Judgement {
        guard let p = people[who] else { return Judgement(action: nil, reason: "", evidence: []) }
        let teamMedian = teamMedian(without: who)
        var review: Judgement?
        for rule in policy.rules {
            guard p.answers >= rule.minAnswers, p.goldAnswers >= rule.minGold, p.compared >= rule.minCompared,
                  let value = metric(rule.metric, p, teamMedian: teamMedian), rule.comparison.holds(value, rule.threshold) else { continue }
            let evidence = "rule '\(rule.name)': \(rule.metric.rawValue) \(Self.format(value)) \(rule.comparison.rawValue) \(VettingPolicy.number(rule.threshold))"
                + " (" + details(rule.metric, p, teamMedian: teamMedian) + ")"
            let reason = plainWords(rule.metric, p, teamMedian: teamMedian)
            if rule.action == .block {
                if policy.guardsHonestConfusion, let honest = Self.systematicConfusion(p) {
                    return Judgement(action: .review, reason: reason, evidence: [evidence, "\(honest): an honest systematic confusion, sent to review, not blocked"])
                }
                return Judgement(action: .block, reason: reason, evidence: [evidence])
            }
            if review == nil { review = Judgement(action: .review, reason: reason, evidence: [evidence]) }
        }
        return review ?? Judgement(action: nil, reason: "", evidence: [])
    }

    static func format(_ x: Double) -> String { x == x.rounded() && abs(x) < 1e9 ? String(Int(x)) : String(format: "%.2f", x) }

    func details(_ m: VettingPolicy.Metric, _ p: Person, teamMedian: Double?) -> String {
        switch m {
        case .goldAccuracy, .goldAccuracyLower, .goldAccuracyUpper, .goldAnswers:
            let (lo, hi) = Wilson.interval(p.goldCorrect, p.goldAnswers)
            return String(format: "gold %d/%d right, 95%% interval %.2f–%.2f", p.goldCorrect, p.goldAnswers, lo, hi)
        case .agreement, .agreementLower, .agreementUpper, .compared:
            let (lo, hi) = Wilson.interval(p.agreed, p.compared)
            return String(format: "agrees on %d of %d pairs, 95%% interval %.2f–%.2f", p.agreed, p.compared, lo, hi)
        case .oneClassRun:
            return "last \(p.runLength) answers '\(p.runKey ?? "")', contradicted on \(p.runContradicted) of \(p.runReferences) checked"
        case .speedRatio:
            return String(format: "median %.1f s against the team's %.1f s", p.seconds.median() ?? 0, teamMedian ?? 0)
        case .topConfusion:
            let t = Self.topConfusion(p)
            return t.map { String(format: "%@ read as %@ %.0f%% of the time", $0.from, $0.to, 100 * $0.share) } ?? ""
        case .answers: return "\(p.answers) answers"
        }
    }

    /// Why, for the annotator, without statistics jargon.
    func plainWords(_ m: VettingPolicy.Metric, _ p: Person, teamMedian: Double?) -> String {
        switch m {
        case .goldAccuracy, .goldAccuracyLower, .goldAccuracyUpper, .goldAnswers:
            return "your answers matched the known answer on \(p.goldCorrect) of \(p.goldAnswers) check items"
        case .agreement, .agreementLower, .agreementUpper, .compared:
            return "your answers agreed with other annotators' on \(p.agreed) of \(p.compared) shared items"
        case .oneClassRun:
            return "your last \(p.runLength) answers were all '\(p.runKey ?? "")', where others answered differently"
        case .speedRatio:
            return String(format: "your answers came faster than an item can be looked at (%.1f s each; the team takes %.1f s)", p.seconds.median() ?? 0, teamMedian ?? 0)
        case .topConfusion:
            let t = Self.topConfusion(p)
            return t.map { "you often answer '\($0.to)' where others answer '\($0.from)'" } ?? "your answers differ from others' on one class"
        case .answers: return "\(p.answers) answers"
        }
    }

    /// The gold rate adaptive gold gives an annotator: `new_rate` while their accuracy is unknown, falling to
    /// `min_rate` as its 95% interval narrows to ±`target_width`; scaled down while the queue's share of gold
    /// answers is over the budget.
    package func goldRate(_ who: String, _ g: VettingPolicy.AdaptiveGold) -> Double {
        let p = people[who] ?? Person()
        let half: Double
        if p.goldAnswers == 0 { half = 0.5 } else {
            let (lo, hi) = Wilson.interval(p.goldCorrect, p.goldAnswers)
            half = (hi - lo) / 2
        }
        let t = min(1, max(0, (half - g.targetWidth) / (0.5 - g.targetWidth)))
        var rate = g.minRate + (g.newRate - g.minRate) * t
        let share = answers >= 50 ? Double(goldAnswers) / Double(answers) : 0
        if share > g.budget { rate = max(0, min(rate, rate * g.budget / share)) }
        return (rate * 1000).rounded() / 1000
    }

    /// Everyone's standing, sorted by name (the lead's view sorts further).
    package func standings(policy: VettingPolicy, now: Date = Date()) -> [Standing] {
        annotators.map { standing($0, policy: policy, now: now) }
    }

    package func standing(_ who: String, policy: VettingPolicy, now: Date = Date()) -> Standing {
        let p = people[who] ?? Person()
        let teamMedian = teamMedian(without: who)
        let judgement = judge(who, policy: policy)
        let gold = p.goldAnswers > 0 ? Wilson.interval(p.goldCorrect, p.goldAnswers) : nil
        let agreement = p.compared > 0 ? Wilson.interval(p.agreed, p.compared) : nil
        let confusion = Self.topConfusion(p)
        var verdict: String
        var evidence = judgement.evidence
        if blocked.contains(who) {
            verdict = "blocked"
            if let d = decisions.last(where: { $0.annotator == who && $0.action == .block }) { evidence = ["blocked by \(d.by): \(d.reason)"] + d.evidence }
        } else {
            switch judgement.action {
            case .block: verdict = "likely spam"
            case .review: verdict = "review"
            default: verdict = p.answers < 10 ? "new" : "trusted"
            }
        }
        let span = p.first.flatMap { f in p.last.map { max(60, $0.timeIntervalSince(f)) } }
        return Standing(annotator: who, answers: p.answers, perHour: span.map { Double(p.answers) / $0 * 3600 }, medianSeconds: p.seconds.median(),
                        speedRatio: metric(.speedRatio, p, teamMedian: teamMedian), goldAnswers: p.goldAnswers,
                        goldAccuracy: metric(.goldAccuracy, p, teamMedian: nil), goldInterval: gold.map { [$0.lower, $0.upper] },
                        agreement: metric(.agreement, p, teamMedian: nil), agreementInterval: agreement.map { [$0.lower, $0.upper] }, compared: p.compared,
                        oneClassRun: Self.countedRun(p), topConfusion: confusion.map { "\($0.from) → \($0.to)" }, topConfusionShare: confusion?.share,
                        verdict: verdict, evidence: evidence, goldRate: policy.adaptiveGold.map { goldRate(who, $0) })
    }

    /// An annotator's latest answers, newest last.
    package func recentAnswers(_ who: String) -> [Recent] { Array((people[who]?.recent ?? []).suffix(20)) }

    /// An annotator's confusions: (reference, answer, count) for answers that differ, most frequent first.
    package func confusions(_ who: String, limit: Int = 8) -> [(String, String, Int)] {
        var list: [(String, String, Int)] = []
        for (reference, row) in people[who]?.confusion ?? [:] { for (answer, n) in row where answer != reference && n > 0 { list.append((reference, answer, n)) } }
        return Array(list.sorted { $0.2 != $1.2 ? $0.2 > $1.2 : ($0.0, $0.1) < ($1.0, $1.1) }.prefix(limit))
    }
}

/// Applying a queue's vetting policy: after each answer (in the answering process, where it may read the team's
/// answers) and on each refresh of a lead's view.
package enum Vetting {
    /// The queue's policy, read from its stored text (nil: none set).
    package static func policy(of spec: QueueSpec) throws -> VettingPolicy? {
        guard let text = spec.policy else { return nil }
        if let cached = parsed.withLock({ $0[text] }) { return cached }
        let policy = try VettingPolicy(yaml: text, source: "policy of queue \(spec.name)")
        parsed.withLock { $0[text] = policy }
        return policy
    }

    /// Policies already read, by their text (an answering session reads its queue's after every answer).
    static let parsed = Mutex<[String: VettingPolicy]>([:])

    /// Judges `annotators` on the monitor's figures and records what the policy decides; sets adaptive gold rates.
    /// A lead's decision about an annotator stands: the policy does not act on them again.
    @discardableResult
    package static func apply(_ policy: VettingPolicy, monitor: inout TeamMonitor, annotators: some Sequence<String>, store: any LabelingStore,
                              now: Date = Date()) throws -> [QueueDecision] {
        var made: [QueueDecision] = []
        var rates: [String: Double] = [:]
        for who in annotators {
            if let g = policy.adaptiveGold {
                let rate = monitor.goldRate(who, g)
                if monitor.people[who]?.lastGoldRate.map({ abs($0 - rate) >= 0.001 }) ?? true {
                    rates[who] = rate
                    monitor.people[who]?.lastGoldRate = rate
                }
            }
            guard !monitor.blocked.contains(who) else { continue }
            if let last = monitor.decisions.last(where: { $0.annotator == who }), last.by != "policy" { continue }
            let judgement = monitor.judge(who, policy: policy)
            guard let action = judgement.action else { continue }
            if action == .review, monitor.decisions.last(where: { $0.annotator == who })?.action == .review { continue }
            if let d = try store.recordDecision(monitor.queue, QueueDecision(annotator: who, action: action, reason: judgement.reason,
                                                                           evidence: judgement.evidence, by: "policy", created: now)) {
                monitor.apply(d)
                monitor.decisionCursor = max(monitor.decisionCursor, d.id)
                made.append(d)
            }
        }
        if !rates.isEmpty { try store.setGoldRates(monitor.queue, rates) }
        return made
    }

    /// One refresh of a lead's view: reads what changed in the store, then applies `policy` (when there is one and
    /// `mayVet`) to the annotators whose figures changed. Returns the decisions it made.
    @discardableResult
    package static func refresh(_ monitor: inout TeamMonitor, policy: VettingPolicy?, store: any LabelingStore, mayVet: Bool = true,
                                now: Date = Date()) throws -> [QueueDecision] {
        try monitor.follow(store, now: now)
        let changed = monitor.takeChanged()
        guard let policy, mayVet else { return [] }
        return try apply(policy, monitor: &monitor, annotators: changed, store: store, now: now)
    }

    /// After an answer: judges its annotator from their answers, the others' answers on the same items and the
    /// team's recent pace, and applies the queue's policy. Nothing when the queue has no policy or this connection
    /// may not read the team's answers (an annotator's role on a shared store: a lead's `curate watch` or
    /// `curate queue vet --follow` vets there).
    @discardableResult
    package static func afterAnswer(queue: String, annotator: String, store: any LabelingStore, now: Date = Date()) throws -> QueueDecision? {
        let spec = try store.queueSpec(queue)
        guard let policy = try policy(of: spec), store.mayVet() else { return nil }
        var monitor = TeamMonitor(queue: queue, overlap: spec.overlap)
        for d in try store.decisions(queue, after: 0) { monitor.apply(d); monitor.decisionCursor = max(monitor.decisionCursor, d.id) }
        let context = try store.annotatorContext(queue, annotator: annotator, recent: 200)
        for a in context { monitor.add(a) }
        // Adaptive gold: their rate changes with their gold answers; write it after a gold answer (or their first).
        let theirs = context.filter { $0.annotator == annotator }
        if let g = policy.adaptiveGold, theirs.count > 1, let latest = theirs.max(by: { $0.id < $1.id }), !latest.isGold {
            let rate = monitor.goldRate(annotator, g)
            monitor.people[annotator]?.lastGoldRate = rate
        }
        return try apply(policy, monitor: &monitor, annotators: [annotator], store: store, now: now).first
    }
}
