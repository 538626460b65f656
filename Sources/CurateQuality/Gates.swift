import Foundation

/// Pass/fail checks on a command's measured figures, for workflows: `"alpha<0.6,issues>5%,spam>0"` fails when
/// alpha is below 0.6, more than 5% of items have issues, or any annotator is likely spam.
///
/// Each condition names what *fails*: `metric<value`, `metric<=value`, `metric>value` or `metric>=value`; a
/// value ending in `%` compares against the metric's fraction form (`issues` as a share of items).
package struct Gates: Sendable, Equatable {
    package struct Condition: Sendable, Equatable, CustomStringConvertible {
        package var metric: String
        package var comparison: String
        package var value: Double
        package var percent: Bool
        package var description: String { "\(metric)\(comparison)\(percent ? formatted(value * 100) + "%" : formatted(value))" }
    }

    package var conditions: [Condition]

    /// Parses the comma-separated conditions.
    /// - Throws: ``QualityError`` naming the condition that cannot be read.
    package init(_ text: String) throws(QualityError) {
        var conditions: [Condition] = []
        for part in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !part.isEmpty {
            guard let op = ["<=", ">=", "<", ">"].first(where: { part.contains($0) }), let range = part.range(of: op) else {
                throw QualityError("--fail-on: '\(part)' is not metric<value or metric>value")
            }
            let metric = String(part[..<range.lowerBound]).trimmingCharacters(in: .whitespaces)
            var number = String(part[range.upperBound...]).trimmingCharacters(in: .whitespaces)
            let percent = number.hasSuffix("%")
            if percent { number.removeLast() }
            guard !metric.isEmpty, let value = Double(number), value.isFinite else {
                throw QualityError("--fail-on: '\(part)' is not metric<value or metric>value")
            }
            conditions.append(Condition(metric: metric, comparison: op, value: percent ? value / 100 : value, percent: percent))
        }
        self.conditions = conditions
    }

    /// The failed conditions, each with the measured value, against `metrics` (fractions under the name with
    /// a `%` suffix, e.g. `issues%`). A metric the command does not measure is an error.
    package func failures(_ metrics: [String: Double]) throws(QualityError) -> [String] {
        var failed: [String] = []
        for c in conditions {
            guard let measured = metrics[c.percent ? c.metric + "%" : c.metric] else {
                let known = metrics.keys.filter { !$0.hasSuffix("%") }.sorted().joined(separator: ", ")
                throw QualityError("--fail-on: this command does not measure '\(c.metric)'\(c.percent ? " as a share" : "") (it measures: \(known))")
            }
            let fails: Bool
            switch c.comparison {
            case "<": fails = measured < c.value
            case "<=": fails = measured <= c.value
            case ">": fails = measured > c.value
            default: fails = measured >= c.value
            }
            if fails {
                let shown = c.percent ? formatted(measured * 100) + "%" : formatted(measured)
                failed.append("\(c.metric) is \(shown), the gate fails at \(c)")
            }
        }
        return failed
    }
}

func formatted(_ v: Double) -> String {
    if v == v.rounded() && abs(v) < 1e12 { return String(Int(v)) }
    var s = String(format: "%.4f", v)
    while s.hasSuffix("0") { s.removeLast() }
    return s
}
