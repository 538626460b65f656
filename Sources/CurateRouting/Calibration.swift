import Foundation

/// A confidence threshold for auto-accepting model labels, chosen on human-labeled validation items.
package struct Threshold: Sendable, Equatable, Codable {
    /// Predictions with confidence ≥ this are auto-accepted.
    package var value: Double
    /// Validation items at or above it, and how many of those the model got wrong.
    package var covered: Int
    package var errors: Int
    /// error + penalty · √(1/covered): must be ≤ 1 − target.
    package var bound: Double

    package init(value: Double, covered: Int, errors: Int, bound: Double) {
        self.value = value; self.covered = covered; self.errors = errors; self.bound = bound
    }

    package var error: Double { covered == 0 ? 0 : Double(errors) / Double(covered) }
}

/// Threshold choice: the lowest confidence t whose validation items at or above it meet the target accuracy with a
/// penalty for small samples, error(t) + c·√(1/n(t)) ≤ 1 − target, with n(t) ≥ a minimum.
package enum Calibration {
    /// The penalty weight c (0.35: c·√(1/n) ≈ 1.6 standard errors of a 5% error rate, a one-sided 95% margin at
    /// the usual target; audits watch the rest) and the minimum n(t).
    package static let defaultPenalty = 0.35
    package static let defaultMinimum = 30

    /// - Parameters:
    ///   - confidences: the model's confidence (its top probability) on each validation item.
    ///   - correct: whether its top class equals the human label, parallel.
    /// - Returns: the lowest passing threshold (candidates are the confidences themselves), or nil when none passes.
    package static func choose(confidences: [Double], correct: [Bool], target: Double,
                              penalty: Double = defaultPenalty, minimum: Int = defaultMinimum) -> Threshold? {
        precondition(confidences.count == correct.count)
        let order = confidences.indices.sorted { confidences[$0] > confidences[$1] }
        var best: Threshold?
        var n = 0, errors = 0, i = 0
        while i < order.count {
            // All items with this confidence come in together: a threshold cannot split ties.
            let value = confidences[order[i]]
            while i < order.count && confidences[order[i]] == value {
                n += 1
                if !correct[order[i]] { errors += 1 }
                i += 1
            }
            let bound = Double(errors) / Double(n) + penalty * (1 / Double(n)).squareRoot()
            if n >= max(1, minimum) && bound <= 1 - target + 1e-12 { best = Threshold(value: value, covered: n, errors: errors, bound: bound) }
        }
        return best
    }
}

/// The Wilson score interval for a binomial proportion (95% by default).
package func wilsonInterval(successes: Int, trials: Int, z: Double = 1.959963984540054) -> (low: Double, high: Double) {
    guard trials > 0 else { return (0, 1) }
    let n = Double(trials), p = Double(successes) / n, z2 = z * z
    let centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    let half = z / (1 + z2 / n) * (p * (1 - p) / n + z2 / (4 * n * n)).squareRoot()
    return (max(0, centre - half), min(1, centre + half))
}
