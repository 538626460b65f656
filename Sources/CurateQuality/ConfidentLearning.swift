import CurateCore

/// Label errors from out-of-sample predicted probabilities by confident learning (Northcutt et al., 2021),
/// following cleanlab 2.9's `find_label_issues` step for step so results can be compared with it.
///
/// ```swift
/// let cl = try ConfidentLearning(labels: given, probabilities: probs, classes: 10)
/// let flagged = cl.issues(.pruneByNoiseRate)          // a mask, one Bool per item
/// let ranked = cl.ranked(flagged, by: .normalizedMargin)
/// ```
package struct ConfidentLearning: Sendable {
    /// How issues are chosen (cleanlab's `filter_by`).
    package enum Filter: String, Sendable, CaseIterable {
        /// Per (given k, true j) cell of the calibrated confident joint, the items of class k with the largest
        /// margin p(j) − p(k) (cleanlab's default).
        case pruneByNoiseRate = "prune_by_noise_rate"
        /// Per class, the items with the lowest p(given) — as many as the joint says are mislabeled in it.
        case pruneByClass = "prune_by_class"
        /// Items flagged by both of the above.
        case both
        /// The off-diagonal items of the confident joint.
        case confidentLearning = "confident_learning"
        /// Items whose most probable class is not the given one.
        case predictedNeqGiven = "predicted_neq_given"
        /// The lowest normalised margins, as many as the off-diagonal count estimates.
        case lowNormalizedMargin = "low_normalized_margin"
        /// The lowest self-confidences, as many as the off-diagonal count estimates.
        case lowSelfConfidence = "low_self_confidence"
    }

    /// A per-item label-quality score (higher is more likely correct).
    package enum Score: String, Sendable, CaseIterable {
        /// p(given label).
        case selfConfidence = "self_confidence"
        /// (p(given) − max over other classes + 1) / 2.
        case normalizedMargin = "normalized_margin"
    }

    package let labels: [Int]
    /// Row-major, `labels.count` × `classes`.
    package let probabilities: [Double]
    package let classes: Int

    /// - Precondition: every label is in `0..<classes` and `probabilities.count == labels.count * classes`
    ///   (``Predictions`` checks both, with messages, before this is built).
    package init(labels: [Int], probabilities: [Double], classes: Int) {
        precondition(probabilities.count == labels.count * classes && labels.allSatisfy { (0..<classes).contains($0) })
        self.labels = labels
        self.probabilities = probabilities
        self.classes = classes
    }

    @inline(__always) func p(_ i: Int, _ k: Int) -> Double { probabilities[i * classes + k] }

    /// Per class: the mean predicted probability of the class over items labeled with it (items of an absent
    /// class can never be confidently counted into it), at least 2e-6.
    package var thresholds: [Double] {
        var sums = [Double](repeating: 0, count: classes), counts = [Int](repeating: 0, count: classes)
        for (i, k) in labels.enumerated() { sums[k] += p(i, k); counts[k] += 1 }
        return (0..<classes).map { counts[$0] > 0 ? max(sums[$0] / Double(counts[$0]), 2e-6) : 2 }
    }

    /// The confident joint C[given][true] (calibrated to the label counts when `calibrate`) and the items counted
    /// off its diagonal.
    package func confidentJoint(calibrate: Bool = true) -> (joint: [[Int]], offDiagonal: [Int]) {
        let t = thresholds
        var joint = [[Int]](repeating: [Int](repeating: 0, count: classes), count: classes)
        var off: [Int] = []
        for i in labels.indices {
            var confident = 0, firstConfident = -1, argmax = 0
            for k in 0..<classes {
                if p(i, k) >= t[k] - 1e-6 {
                    confident += 1
                    if firstConfident < 0 { firstConfident = k }
                }
                if p(i, k) > p(i, argmax) { argmax = k }
            }
            guard confident > 0 else { continue }
            let guess = confident > 1 ? argmax : firstConfident
            joint[labels[i]][guess] += 1
            if guess != labels[i] { off.append(i) }
        }
        for k in 0..<classes { joint[k][k] = max(joint[k][k], 1) }
        guard calibrate else { return (joint, off) }
        var counts = [Double](repeating: 0, count: classes)
        for k in labels { counts[k] += 1 }
        var scaled = joint.enumerated().map { k, row -> [Double] in
            let total = Double(row.reduce(0, +))
            return row.map { Double($0) / max(total, 1e-100) * counts[k] }
        }
        let sum = scaled.joined().reduce(0, +)
        scaled = scaled.map { $0.map { $0 / max(sum, 1e-100) * Double(labels.count) } }
        return (scaled.map(Self.roundPreservingSum), off)
    }

    /// Rounds to integers whose sum is the rounded sum, moving the values with the largest rounding loss first
    /// (cleanlab's `round_preserving_sum`).
    static func roundPreservingSum(_ values: [Double]) -> [Int] {
        var ints = values.map { $0.rounded(.toNearestOrEven) }
        let target = values.reduce(0, +).rounded(.toNearestOrEven)
        var intSum = ints.reduce(0, +).rounded(.toNearestOrEven)
        while abs(intSum - target) > 1e-6 {
            let diff = (target - intSum).rounded(.toNearestOrEven)
            let increment: Double = diff < 0 ? -1 : 1
            let changes = min(Int(abs(diff)), values.count)
            // Indices by (value − rounded): largest first when adding, smallest first when removing.
            let order = values.indices.sorted { (values[$0] - ints[$0], $0) < (values[$1] - ints[$1], $1) }
            for i in (increment > 0 ? Array(order.reversed()) : order).prefix(changes) { ints[i] += increment }
            intSum = ints.reduce(0, +).rounded(.toNearestOrEven)
        }
        return ints.map { Int($0) }
    }

    /// The prune-count matrix P[true][given]: the confident joint transposed, with at least one item kept per
    /// class (cleanlab's `_keep_at_least_n_per_class` with n = 1, frac_noise = 1).
    func pruneCounts() -> [[Int]] {
        let joint = confidentJoint().joint
        var m = (0..<classes).map { j in (0..<classes).map { k in Double(joint[k][j]) } }
        for col in 0..<classes {
            let diagonal = m[col][col], newDiagonal = max(diagonal, 1)
            let nonZero = (0..<classes).filter { m[$0][col] != 0 }.count
            let share = (newDiagonal - diagonal) / max(Double(nonZero) - 1, 1)
            for row in 0..<classes where row != col { m[row][col] = max(m[row][col] - share, 0) }
            m[col][col] = newDiagonal
        }
        return m.map(Self.roundPreservingSum)
    }

    /// Items whose model prediction (with 1e-6 in favour of the given label) is the given label.
    var predictionAgrees: [Bool] {
        labels.indices.map { i in
            var best = 0, bestValue = -Double.infinity
            for k in 0..<classes {
                let v = p(i, k) + (k == labels[i] ? 1e-6 : 0)
                if v > bestValue { bestValue = v; best = k }
            }
            return best == labels[i]
        }
    }

    /// The items flagged by `filter`, as a mask.
    package func issues(_ filter: Filter = .pruneByNoiseRate) -> [Bool] {
        var mask = [Bool](repeating: false, count: labels.count)
        var byClass = [[Int]](repeating: [], count: classes)
        for (i, k) in labels.enumerated() { byClass[k].append(i) }
        switch filter {
        case .pruneByNoiseRate, .pruneByClass, .both:
            let prune = pruneCounts()
            var byNoise = mask, byLowProbability = mask
            for k in 0..<classes where byClass[k].count > 1 {
                let members = byClass[k]
                if filter != .pruneByClass {
                    for j in 0..<classes where j != k && prune[j][k] > 0 {
                        // The items of class k most likely to be j: largest p(j) − p(k).
                        for i in Self.smallest(prune[j][k], of: members, key: { p($0, k) - p($0, j) }) { byNoise[i] = true }
                    }
                }
                if filter != .pruneByNoiseRate {
                    let count = members.count - prune[k][k]
                    if count >= 1 {
                        for i in Self.smallest(count, of: members, key: { p($0, k) }) { byLowProbability[i] = true }
                    }
                }
            }
            switch filter {
            case .pruneByNoiseRate: mask = byNoise
            case .pruneByClass: mask = byLowProbability
            default: mask = zip(byNoise, byLowProbability).map { $0 && $1 }
            }
        case .confidentLearning:
            for i in confidentJoint().offDiagonal { mask[i] = true }
        case .predictedNeqGiven:
            mask = predictionAgrees.map { !$0 }
        case .lowNormalizedMargin, .lowSelfConfidence:
            // As many as the uncalibrated off-diagonal count, after removing items the model agrees with.
            let agrees = predictionAgrees
            let count = confidentJoint(calibrate: false).offDiagonal.filter { !agrees[$0] }.count
            let scores = self.scores(filter == .lowNormalizedMargin ? .normalizedMargin : .selfConfidence)
            for i in labels.indices.sorted(by: { (scores[$0], $0) < (scores[$1], $1) }).prefix(count) { mask[i] = true }
            return mask
        }
        for (i, agrees) in predictionAgrees.enumerated() where agrees { mask[i] = false }
        return mask
    }

    /// The `count` members with the smallest keys, ties to the lower index.
    static func smallest(_ count: Int, of members: [Int], key: (Int) -> Double) -> [Int] {
        if count >= members.count { return members }
        return smallestPositions(count, keys: members.map(key), ties: members).map { members[$0] }
    }

    /// A label-quality score per item.
    package func scores(_ score: Score) -> [Double] {
        labels.indices.map { i in
            let given = p(i, labels[i])
            switch score {
            case .selfConfidence: return given
            case .normalizedMargin:
                var other = -Double.infinity
                for k in 0..<classes where k != labels[i] { other = max(other, p(i, k)) }
                return (given - (classes > 1 ? other : 0) + 1) / 2
            }
        }
    }

    /// The most probable class other than the given one: the suggested correction.
    package func suggestion(_ i: Int) -> Int {
        var best = labels[i] == 0 && classes > 1 ? 1 : 0
        for k in 0..<classes where k != labels[i] && p(i, k) > p(i, best) { best = k }
        return best
    }
}
