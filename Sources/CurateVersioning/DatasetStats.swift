import CurateCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Counts that describe a version: labels per class and images per size. Stored with each commit (derived
/// from the parent's counts and what changed), so diffs report class balance without decoding every label.
package struct DatasetStats: Hashable, Sendable, Codable {
    /// Labels per class name (objects, classifications, multi-label members, spans).
    package var classCounts: [String: Int] = [:]
    /// Images per upright size, `"WxH"`; files that are not PNG/JPEG count under `"other"`.
    package var sizes: [String: Int] = [:]
    /// Files in the version.
    package var files = 0
    /// Files with at least one label.
    package var labeledItems = 0

    package init() {}

    /// Adds (sign +1) or removes (-1) one item's labels given as the class ids they mention (see ``classSummary``).
    mutating func addClassIDs(_ ids: [Int], schema: LabelSchema, sign: Int) {
        if !ids.isEmpty { labeledItems += sign }
        for id in ids where id != Self.noClass {
            let name = schema.name(of: id)
            classCounts[name, default: 0] += sign
            if classCounts[name] == 0 { classCounts[name] = nil }
        }
    }

    /// Marks an item labeled with annotations that mention no class.
    static let noClass = Int.min

    /// The class ids an item's annotations mention, as stored in `label_classes`.
    static func classSummary(_ annotations: [Annotation]) -> String {
        if annotations.isEmpty { return "" }
        let ids = annotations.flatMap(\.label.classIDs)
        return ids.isEmpty ? "none" : ids.map(String.init).joined(separator: ",")
    }

    static func parseSummary(_ text: String) -> [Int] {
        if text.isEmpty { return [] }
        if text == "none" { return [noClass] }
        return text.split(separator: ",").compactMap { Int($0) }
    }

    mutating func addLabels(_ annotations: [Annotation], schema: LabelSchema, sign: Int) {
        if !annotations.isEmpty { labeledItems += sign }
        for annotation in annotations {
            for id in annotation.label.classIDs {
                let name = schema.name(of: id)
                classCounts[name, default: 0] += sign
                if classCounts[name] == 0 { classCounts[name] = nil }
            }
        }
    }

    static func sizes<S: Sequence>(of contents: S) -> (files: Int, sizes: [String: Int]) where S.Element == (Int?, Int?) {
        var result: [String: Int] = [:]
        var files = 0
        for (w, h) in contents {
            files += 1
            if let w, let h { result["\(w)x\(h)", default: 0] += 1 } else { result["other", default: 0] += 1 }
        }
        return (files, result)
    }
}

/// Tests of a shift in class balance between two versions.
package struct BalanceShift: Hashable, Sendable, Codable {
    /// Pearson's chi-square statistic of the 2×K table (before, after) × classes.
    package var chiSquare: Double
    /// K − 1, over the classes present in either version.
    package var degreesOfFreedom: Int
    /// P(χ² ≥ chiSquare) under "same class distribution". The two versions mostly share items, so this is a
    /// screening signal, not an exact test; `totalVariation` is the size of the shift.
    package var pValue: Double
    /// Total-variation distance between the two class distributions, 0…1.
    package var totalVariation: Double

    static func compute(before: [String: Int], after: [String: Int]) -> BalanceShift {
        let classes = Set(before.keys).union(after.keys).filter { (before[$0] ?? 0) + (after[$0] ?? 0) > 0 }.sorted()
        let n1 = Double(classes.reduce(0) { $0 + (before[$1] ?? 0) }), n2 = Double(classes.reduce(0) { $0 + (after[$1] ?? 0) })
        guard classes.count > 1, n1 > 0, n2 > 0 else {
            return BalanceShift(chiSquare: 0, degreesOfFreedom: max(0, classes.count - 1), pValue: 1, totalVariation: n1 > 0 && n2 > 0 ? 0 : (n1 + n2 > 0 ? 1 : 0))
        }
        var chi = 0.0, tv = 0.0
        let n = n1 + n2
        for c in classes {
            let a = Double(before[c] ?? 0), b = Double(after[c] ?? 0)
            let column = a + b
            let ea = column * n1 / n, eb = column * n2 / n
            chi += (a - ea) * (a - ea) / ea + (b - eb) * (b - eb) / eb
            tv += abs(a / n1 - b / n2)
        }
        let dof = classes.count - 1
        return BalanceShift(chiSquare: chi, degreesOfFreedom: dof, pValue: chiSquareSurvival(chi, dof: dof), totalVariation: tv / 2)
    }
}

/// P(X ≥ x) for X ~ χ²(dof): the regularized upper incomplete gamma Q(dof/2, x/2) (series and continued
/// fraction, as in Numerical Recipes §6.2).
func chiSquareSurvival(_ x: Double, dof: Int) -> Double {
    guard x > 0, dof > 0 else { return 1 }
    let a = Double(dof) / 2, z = x / 2
    let lnGammaA: Double = Glibc.lgamma(a)
    if z < a + 1 {
        var sum = 1 / a, term = 1 / a, ap = a
        for _ in 0..<1000 {
            ap += 1
            term *= z / ap
            sum += term
            if abs(term) < abs(sum) * 1e-15 { break }
        }
        return max(0, min(1, 1 - sum * exp(-z + a * log(z) - lnGammaA)))
    }
    var b = z + 1 - a, c = 1 / 1e-300, d = 1 / b, h = d
    for i in 1...1000 {
        let an = -Double(i) * (Double(i) - a)
        b += 2
        d = an * d + b
        if abs(d) < 1e-300 { d = 1e-300 }
        c = b + an / c
        if abs(c) < 1e-300 { c = 1e-300 }
        d = 1 / d
        let delta = d * c
        h *= delta
        if abs(delta - 1) < 1e-15 { break }
    }
    return max(0, min(1, exp(-z + a * log(z) - lnGammaA) * h))
}
