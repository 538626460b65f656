/// Ratings of items by raters, any of them missing: `values[r][i]` is rater r's answer for item i, or nil.
///
/// ```swift
/// let ratings = Ratings(values: [[0, 1, nil], [0, 1, 1], [0, 0, 1]])
/// ratings.krippendorffAlpha(.nominal)   // agreement beyond chance, missing values allowed
/// ```
package struct Ratings: Sendable, Equatable {
    package var values: [[Double?]]

    package init(values: [[Double?]]) {
        let items = values.map(\.count).max() ?? 0
        self.values = values.map { $0 + [Double?](repeating: nil, count: items - $0.count) }
    }

    package init(categories: [[Int?]]) {
        self.init(values: categories.map { $0.map { $0.map(Double.init) } })
    }

    package var raters: Int { values.count }
    package var items: Int { values.first?.count ?? 0 }

    /// The answers given for item i.
    func unit(_ i: Int) -> [Double] { values.compactMap { $0[i] } }

    package enum Level: String, Sendable, CaseIterable {
        /// Categories: any two different answers disagree equally.
        case nominal
        /// Numbers: disagreement is the squared difference.
        case interval
    }

    /// Krippendorff's alpha: 1 − observed / expected disagreement, from the coincidence matrix of all pairable
    /// values (items with fewer than two answers do not count). 1 is perfect agreement, 0 chance; nil when there
    /// is no disagreement to expect (a single value throughout).
    package func krippendorffAlpha(_ level: Level = .nominal) -> Double? {
        var index: [Double: Int] = [:], distinct: [Double] = []
        for row in values { for v in row.compactMap({ $0 }) where index[v] == nil { index[v] = distinct.count; distinct.append(v) } }
        let v = distinct.count
        guard v > 1 else { return nil }
        var coincidence = [Double](repeating: 0, count: v * v)
        for i in 0..<items {
            let unit = self.unit(i).map { index[$0]! }
            let m = unit.count
            guard m >= 2 else { continue }
            var counts = [Int: Int]()
            for c in unit { counts[c, default: 0] += 1 }
            let weight = 1 / Double(m - 1)
            for (c, nc) in counts {
                for (k, nk) in counts {
                    // Ordered pairs of different answers: nc·nk, or nc·(nc − 1) for the same value.
                    let pairs = c == k ? Double(nc * (nc - 1)) : Double(nc * nk)
                    coincidence[c * v + k] += pairs * weight
                }
            }
        }
        var marginals = [Double](repeating: 0, count: v)
        for c in 0..<v { for k in 0..<v { marginals[c] += coincidence[c * v + k] } }
        let n = marginals.reduce(0, +)
        guard n > 1 else { return nil }
        func delta(_ c: Int, _ k: Int) -> Double {
            switch level {
            case .nominal: return c == k ? 0 : 1
            case .interval: return (distinct[c] - distinct[k]) * (distinct[c] - distinct[k])
            }
        }
        var observed = 0.0, expected = 0.0
        for c in 0..<v {
            for k in 0..<v where c != k {
                let d = delta(c, k)
                observed += coincidence[c * v + k] * d
                expected += marginals[c] * marginals[k] * d
            }
        }
        guard expected > 0 else { return nil }
        return 1 - (n - 1) * observed / expected
    }

    /// Cohen's kappa between raters a and b over the items both answered; nil when chance agreement is 1.
    package func cohenKappa(_ a: Int, _ b: Int) -> Double? {
        var pairs: [(Double, Double)] = []
        for i in 0..<items { if let x = values[a][i], let y = values[b][i] { pairs.append((x, y)) } }
        guard !pairs.isEmpty else { return nil }
        let n = Double(pairs.count)
        let observed = Double(pairs.filter { $0.0 == $0.1 }.count) / n
        var left: [Double: Double] = [:], right: [Double: Double] = [:]
        for (x, y) in pairs { left[x, default: 0] += 1; right[y, default: 0] += 1 }
        let chance = left.reduce(0) { $0 + $1.value * (right[$1.key] ?? 0) } / (n * n)
        guard chance < 1 else { return nil }
        return (observed - chance) / (1 - chance)
    }

    /// Fleiss' kappa over the items answered by every rater (it needs the same number of answers per item);
    /// nil when fewer than two raters or no such item.
    package func fleissKappa() -> Double? {
        let complete = (0..<items).filter { i in values.allSatisfy { $0[i] != nil } }
        let m = Double(raters)
        guard raters >= 2, !complete.isEmpty else { return nil }
        var totals: [Double: Double] = [:]
        var agreement = 0.0
        for i in complete {
            var counts: [Double: Double] = [:]
            for r in values { counts[r[i]!, default: 0] += 1 }
            for (c, n) in counts { totals[c, default: 0] += n }
            agreement += (counts.values.reduce(0) { $0 + $1 * $1 } - m) / (m * (m - 1))
        }
        let n = Double(complete.count)
        let observed = agreement / n
        let chance = totals.values.reduce(0) { $0 + ($1 / (n * m)) * ($1 / (n * m)) }
        guard chance < 1 else { return nil }
        return (observed - chance) / (1 - chance)
    }

    /// The share of agreeing pairs among all pairs of answers to the same item (items with two or more answers).
    package func percentAgreement() -> Double? {
        var agreeing = 0.0, pairs = 0.0
        for i in 0..<items {
            let unit = self.unit(i)
            guard unit.count >= 2 else { continue }
            for a in 0..<unit.count { for b in (a + 1)..<unit.count { pairs += 1; if unit[a] == unit[b] { agreeing += 1 } } }
        }
        return pairs > 0 ? agreeing / pairs : nil
    }

    /// Per category: Krippendorff's alpha of "is it this category?" (each answer turned into yes/no).
    package func alphaPerCategory() -> [Double: Double?] {
        let categories = Set(values.joined().compactMap { $0 })
        var result: [Double: Double?] = [:]
        for c in categories {
            result[c] = Ratings(values: values.map { $0.map { $0.map { $0 == c ? 1 : 0 } } }).krippendorffAlpha(.nominal)
        }
        return result
    }
}
