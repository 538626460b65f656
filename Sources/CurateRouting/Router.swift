import CurateSelection
import Foundation

/// Where one routing run sends items, computed without touching the repository (so `--dry-run` is exact).
package struct RoutingPlan: Sendable {
    package struct Accepted: Sendable, Equatable { package var row: Int; package var classIndex: Int; package var confidence: Double }
    package struct Human: Sendable, Equatable { package var row: Int; package var overlap: Int; package var score: Double; package var reason: String }
    package struct SecondOpinion: Sendable, Equatable { package var row: Int; package var humanClass: Int; package var modelClass: Int; package var confidence: Double }

    /// The threshold for all classes, or per predicted class (nil: no threshold passed, nothing auto-accepted).
    package var thresholds: [Int: Threshold?] = [:]
    package var validationItems = 0
    package var accepted: [Accepted] = []
    /// Rows of `accepted` also sent to people, blind.
    package var audits: [Int] = []
    /// Items below the threshold, most uncertain first.
    package var human: [Human] = []
    package var secondOpinions: [SecondOpinion] = []
    /// Validation items inside the auto-accepted region: retired from later runs.
    package var retire: [Int] = []
    /// Unlabeled predicted items left alone: routed by an earlier run.
    package var skipped = 0
    /// Items of classes whose audits fell below the target: sent to people.
    package var suspendedToHuman = 0
    /// Items below the threshold outside the batch for people: left for a later run.
    package var waiting = 0
}

/// The routing decision for each predicted item (see `RoutingPolicy`).
package enum Router {
    /// - Parameters:
    ///   - probabilities: N × K, rows parallel to `ids`.
    ///   - committee: optional M × N × K member probabilities (members disagreeing on the top class raise overlap).
    ///   - humanLabels: class index by item, for items people labeled (validation and second-opinion candidates).
    ///   - validation: items allowed as validation (nil: every human-labeled item with a prediction).
    ///   - retired: validation items retired by earlier runs.
    ///   - suspended: class indices no longer auto-accepted.
    ///   - routed: items routed by earlier runs (left alone).
    ///   - forPeople: when given, only these items may go to people (a selected batch); the others below the
    ///     threshold wait for a later run. Auto-accepting still covers every predicted item: the validation items
    ///     represent the whole pool, not a batch chosen for its uncertainty, so the threshold holds for the pool.
    package static func plan(ids: [String], probabilities: [Double], classes k: Int, committee: [Double]? = nil,
                            humanLabels: [String: Int], validation: Set<String>? = nil, retired: Set<String> = [],
                            suspended: Set<Int> = [], routed: Set<String> = [], forPeople: Set<String>? = nil,
                            policy: RoutingPolicy) -> RoutingPlan {
        let n = ids.count
        var plan = RoutingPlan()
        var top = [Int](repeating: 0, count: n), confidence = [Double](repeating: 0, count: n), margin = [Double](repeating: 0, count: n)
        for r in 0..<n {
            var best = 0, first = -Double.infinity, second = -Double.infinity
            for j in 0..<k {
                let p = probabilities[r * k + j]
                if p > first { second = first; first = p; best = j } else if p > second { second = p }
            }
            top[r] = best; confidence[r] = first; margin[r] = first - max(0, second)
        }
        // Validation: human-labeled, predicted, not retired.
        var validationRows: [Int] = []
        for r in 0..<n {
            guard let label = humanLabels[ids[r]], label >= 0, !retired.contains(ids[r]) else { continue }
            if let validation, !validation.contains(ids[r]) { continue }
            validationRows.append(r)
        }
        plan.validationItems = validationRows.count
        let target = policy.targetAccuracy
        func threshold(_ rows: [Int]) -> Threshold? {
            Calibration.choose(confidences: rows.map { confidence[$0] }, correct: rows.map { top[$0] == humanLabels[ids[$0]]! },
                               target: target, penalty: policy.penalty, minimum: policy.minValidation)
        }
        if policy.perClass {
            for c in 0..<k { plan.thresholds[c] = threshold(validationRows.filter { top[$0] == c }) }
        } else {
            let t = threshold(validationRows)
            for c in 0..<k { plan.thresholds[c] = t }
        }
        func accepts(_ r: Int) -> Bool {
            guard let t = plan.thresholds[top[r]] ?? nil else { return false }
            return confidence[r] >= t.value
        }
        // Validation items in the accepted region retire; those the model gets wrong there get a second opinion.
        for r in validationRows where accepts(r) && !suspended.contains(top[r]) {
            plan.retire.append(r)
            let label = humanLabels[ids[r]]!
            if top[r] != label && !routed.contains(ids[r]) {
                plan.secondOpinions.append(.init(row: r, humanClass: label, modelClass: top[r], confidence: confidence[r]))
            }
        }
        // Unlabeled items: auto-accept or people.
        let members = committee.map { $0.count / max(1, n * k) } ?? 0
        var human: [RoutingPlan.Human] = []
        let pool = Pool(count: n, classes: k, probabilities: probabilities)
        let strategy: Strategy = policy.order == "entropy" ? .entropy : policy.order == "least-confidence" ? .leastConfidence : .margin
        let uncertainty = Selector.uncertainty(strategy, pool: pool, rows: Array(0..<n))
        for r in 0..<n {
            if humanLabels[ids[r]] != nil { continue }   // validation (above), or labeled by people
            if routed.contains(ids[r]) { plan.skipped += 1; continue }
            if accepts(r) && !suspended.contains(top[r]) {
                plan.accepted.append(.init(row: r, classIndex: top[r], confidence: confidence[r]))
                if policy.auditRate > 0 && auditDraw(ids[r]) < policy.auditRate { plan.audits.append(r) }
                continue
            }
            if let forPeople, !forPeople.contains(ids[r]) { plan.waiting += 1; continue }
            if accepts(r) { plan.suspendedToHuman += 1 }
            var overlap = policy.overlap, reason = "below the threshold"
            if let committee, members > 1 {
                var votes = Set<Int>()
                for m in 0..<members {
                    var best = 0
                    for j in 1..<k where committee[(m * n + r) * k + j] > committee[(m * n + r) * k + best] { best = j }
                    votes.insert(best)
                }
                if votes.count > 1 { overlap = max(overlap, policy.committeeOverlap); reason = "committee disagrees" }
            }
            if let m = policy.uncertainMargin, margin[r] < m, overlap < policy.uncertainOverlap {
                overlap = policy.uncertainOverlap; reason = String(format: "margin %.2f below %.2f", margin[r], m)
            }
            if accepts(r) { reason = "class suspended by audits" }
            human.append(.init(row: r, overlap: overlap, score: uncertainty[r], reason: reason))
        }
        // Most uncertain first; ties to the earlier row.
        plan.human = human.sorted { $0.score != $1.score ? $0.score > $1.score : $0.row < $1.row }
        return plan
    }

    /// A deterministic draw in [0, 1) per item (FNV-1a), so a rerun audits the same items.
    package static func auditDraw(_ path: String) -> Double {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in "audit:\(path)".utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return Double(hash % 1_000_000) / 1_000_000
    }
}

/// Measured accuracy of auto-accepted labels from blind audits, per class, with 95% Wilson intervals.
package struct AuditReport: Sendable {
    package struct Row: Sendable, Equatable {
        package var classIndex: Int?   // nil: all classes
        package var audited: Int
        package var correct: Int
        package var low: Double
        package var high: Double
        package var accuracy: Double { audited == 0 ? 0 : Double(correct) / Double(audited) }
        /// The interval lies below the target: stop auto-accepting.
        package var suspend: Bool
    }

    package var overall: Row
    package var perClass: [Row]

    /// - Parameter audits: (model class, human class) per audited item that has a human answer.
    package init(audits: [(model: Int, human: Int)], classes k: Int, target: Double) {
        func row(_ c: Int?, _ pairs: [(model: Int, human: Int)]) -> Row {
            let correct = pairs.filter { $0.model == $0.human }.count
            let (low, high) = wilsonInterval(successes: correct, trials: pairs.count)
            return Row(classIndex: c, audited: pairs.count, correct: correct, low: low, high: high, suspend: !pairs.isEmpty && high < target)
        }
        overall = row(nil, audits)
        perClass = (0..<k).map { c in row(c, audits.filter { $0.model == c }) }.filter { $0.audited > 0 }
    }
}
