import Foundation

/// Per-annotator quality from a crowd and its consensus: accuracy on gold, agreement with the consensus beyond
/// chance, the Dawid-Skene confusion matrix, answer entropy and speed — and a verdict with its evidence.
package struct AnnotatorReport: Sendable {
    package enum Verdict: String, Sendable {
        case trusted
        case review
        case likelySpam = "likely spam"
    }

    package struct Annotator: Sendable {
        package var worker: Int
        package var answers: Int
        /// Share of answers equal to the consensus label.
        package var agreement: Double
        /// Cohen's kappa between the annotator's answers and the consensus on the same tasks (0 is chance).
        package var kappa: Double
        /// Accuracy on gold tasks, when the annotator answered any.
        package var goldAccuracy: Double?
        package var goldAnswers: Int
        /// Entropy of the annotator's answers ÷ log(classes): 0 for one constant answer, 1 for uniform.
        package var entropy: Double
        /// The share of the annotator's most frequent answer.
        package var topAnswerShare: Double
        /// Median seconds per answer, when times were recorded.
        package var medianSeconds: Double?
        /// Dawid-Skene P(answer | true class), row-major classes × classes.
        package var confusion: [Double]
        package var verdict: Verdict
        /// Why: one short phrase per finding.
        package var evidence: [String]
    }

    /// The thresholds the verdicts use (documented in `curate annotators --help`).
    package struct Rules: Sendable {
        /// Kappa with the consensus below this is chance-level: likely spam.
        package var chanceKappa = 0.2
        /// Kappa below this (but above chance) asks for review.
        package var reviewKappa = 0.6
        /// Gold accuracy below this asks for review.
        package var reviewGoldAccuracy = 0.7
        /// A confusion cell P(answer b | true a) at least this, for a ≠ b, is a systematic confusion.
        package var confusion = 0.3
        /// A median time below this fraction of the team's median is impossible speed: likely spam.
        package var impossibleSpeed = 0.25
        /// Annotators with fewer answers are reported but get no verdict beyond review.
        package var minimumAnswers = 10
        package init() {}
    }

    package var classes: Int
    package var annotators: [Annotator]
    package var teamMedianSeconds: Double?

    /// - Parameters:
    ///   - seconds: seconds spent per response, parallel to `crowd.responses` (nil entries when unknown).
    ///   - consensus: usually `crowd.dawidSkene()`; its confusion matrices are reported when present.
    package init(crowd: Crowd, consensus: Crowd.Result, seconds: [Double?] = [], rules: Rules = Rules()) {
        let k = crowd.classes
        var perWorker = [[Int]](repeating: [], count: crowd.workers)
        for (i, r) in crowd.responses.enumerated() { perWorker[r.worker].append(i) }
        let allTimes = seconds.compactMap { $0 }.sorted()
        let teamMedian = allTimes.isEmpty ? nil : Self.median(allTimes)
        var list: [Annotator] = []
        for w in 0..<crowd.workers where !perWorker[w].isEmpty {
            let mine = perWorker[w].map { crowd.responses[$0] }
            var counts = [Double](repeating: 0, count: k)
            var agree = 0, goldRight = 0, goldCount = 0
            var pairs: [(Int, Int)] = []
            for r in mine {
                counts[r.label] += 1
                let c = consensus.labels[r.task]
                if c >= 0 { pairs.append((r.label, c)); if c == r.label { agree += 1 } }
                if let g = crowd.gold[r.task] { goldCount += 1; if g == r.label { goldRight += 1 } }
            }
            let n = Double(mine.count)
            let entropy = 0.0 + max(0, -counts.filter { $0 > 0 }.map { $0 / n * log($0 / n) }.reduce(0, +) / log(Double(max(k, 2))))
            let kappa = Self.kappa(pairs, classes: k)
            let times = perWorker[w].compactMap { $0 < seconds.count ? seconds[$0] : nil }.sorted()
            let medianSeconds = times.isEmpty ? nil : Self.median(times)
            let confusion = w < consensus.confusion.count ? consensus.confusion[w] : []
            var annotator = Annotator(worker: w, answers: mine.count, agreement: Double(agree) / Double(max(pairs.count, 1)), kappa: kappa,
                                      goldAccuracy: goldCount > 0 ? Double(goldRight) / Double(goldCount) : nil, goldAnswers: goldCount,
                                      entropy: entropy, topAnswerShare: (counts.max() ?? 0) / n, medianSeconds: medianSeconds,
                                      confusion: confusion, verdict: .trusted, evidence: [])
            Self.judge(&annotator, classes: k, teamMedian: teamMedian, rules: rules)
            list.append(annotator)
        }
        self.classes = k
        self.annotators = list
        self.teamMedianSeconds = teamMedian
    }

    static func median(_ sorted: [Double]) -> Double {
        sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    static func kappa(_ pairs: [(Int, Int)], classes: Int) -> Double {
        guard !pairs.isEmpty else { return 0 }
        let n = Double(pairs.count)
        var a = [Double](repeating: 0, count: classes), b = a
        var observed = 0.0
        for (x, y) in pairs { a[x] += 1; b[y] += 1; if x == y { observed += 1 } }
        let chance = zip(a, b).map { $0 * $1 }.reduce(0, +) / (n * n)
        return chance < 1 ? (observed / n - chance) / (1 - chance) : 0
    }

    /// Fraud (chance-level agreement, one constant answer, impossible speed) makes "likely spam"; an honest
    /// systematic confusion (high agreement except one class read as another) or weak agreement makes "review".
    static func judge(_ a: inout Annotator, classes k: Int, teamMedian: Double?, rules: Rules) {
        func f(_ v: Double) -> String { String(format: "%.2f", v) }
        var spam: [String] = [], review: [String] = []
        let enough = a.answers >= rules.minimumAnswers
        if a.kappa < rules.chanceKappa {
            (enough ? { spam.append($0) } : { review.append($0) })("agreement with consensus at chance level (kappa \(f(a.kappa)))")
        } else if a.kappa < rules.reviewKappa {
            review.append("weak agreement with consensus (kappa \(f(a.kappa)))")
        }
        if a.topAnswerShare >= 0.9 && a.kappa < rules.reviewKappa && enough {
            spam.append("answers one class \(Int((a.topAnswerShare * 100).rounded()))% of the time (entropy \(f(a.entropy)))")
        }
        if let mine = a.medianSeconds, let team = teamMedian, team > 0, mine < rules.impossibleSpeed * team, enough {
            spam.append("median \(f(mine)) s per item against the team's \(f(team)) s")
        }
        if let gold = a.goldAccuracy, gold < rules.reviewGoldAccuracy {
            review.append("gold accuracy \(f(gold)) on \(a.goldAnswers) items")
        }
        if a.confusion.count == k * k && a.kappa >= rules.chanceKappa {
            for t in 0..<k {
                for b in 0..<k where b != t && a.confusion[t * k + b] >= rules.confusion {
                    review.append("reads class \(t) as \(b) (P = \(f(a.confusion[t * k + b]))), an honest systematic confusion")
                }
            }
        }
        a.evidence = spam + review
        a.verdict = !spam.isEmpty ? .likelySpam : !review.isEmpty ? .review : .trusted
    }

    /// A weight per worker for breaking vote ties: gold accuracy when the worker answered gold items, else the
    /// share of answers agreeing with the consensus.
    package func qualityWeights(workers: Int) -> [Double] {
        var weights = [Double](repeating: 0, count: workers)
        for a in annotators where a.worker < workers { weights[a.worker] = a.goldAccuracy ?? a.agreement }
        return weights
    }

    /// Figures for `--fail-on`: `spam` and `review` (counts), `spam%` and `review%` (shares of annotators).
    package var metrics: [String: Double] {
        let n = Double(max(annotators.count, 1))
        let spam = Double(annotators.filter { $0.verdict == .likelySpam }.count), review = Double(annotators.filter { $0.verdict == .review }.count)
        return ["spam": spam, "spam%": spam / n, "review": review, "review%": review / n]
    }
}
