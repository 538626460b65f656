import CurateCore
import Foundation

/// Committee or MC-dropout samples: M members' probabilities over the same N × K rows.
package struct Committee: Sendable {
    /// M × N × K, row-major.
    package var values: [Double]
    package var members: Int

    /// Reads a `.npy` of shape M × `rows` × `classes` with probabilities in [0, 1].
    package static func load(_ path: String, rows: Int, classes: Int) throws -> Committee {
        let c = try NumpyArray(contentsOf: path)
        guard c.shape.count == 3, c.shape[1] == rows, c.shape[2] == classes else {
            throw QualityError("\(path): shape \(c.shape) is not M × \(rows) × \(classes)")
        }
        if let bad = c.values.firstIndex(where: { !$0.isFinite || $0 < 0 || $0 > 1 }) { throw QualityError("\(path): value \(c.values[bad]) is not a probability") }
        return Committee(values: c.values, members: c.shape[0])
    }
}

/// Gold (honeypot) labels: a CSV `path,label` with a header, labels as class names or ids.
package enum GoldLabels {
    /// Class ids by item path, names resolved with `schema`.
    package static func read(_ path: String, schema: LabelSchema) throws -> [String: Int] {
        let text = try InputFile.text(path)
        var result: [String: Int] = [:]
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where n > 0 {
            let parts = line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingWhitespace() }
            if parts.count == 1 && parts[0].isEmpty { continue }
            guard parts.count >= 2 else { throw QualityError("\(path):\(n + 1): expected path,label") }
            guard let k = schema.id(named: parts[1]) ?? Int(parts[1]).flatMap({ schema.labelClass(id: $0)?.id }) else {
                throw QualityError("\(path):\(n + 1): unknown class '\(parts[1])'")
            }
            result[parts[0]] = k
        }
        return result
    }
}

/// The consensus methods of `validate` and `annotators`.
package enum ConsensusMethod: String, Sendable, Codable, CaseIterable {
    case dawidSkene = "dawid-skene", majority, mace

    /// The consensus of `crowd` by this method.
    package func run(_ crowd: Crowd) -> Crowd.Result {
        switch self {
        case .majority:
            // Ties go to the annotators who agree more with a first, unweighted vote (or score better on gold).
            crowd.majorityVote(weights: AnnotatorReport(crowd: crowd, consensus: crowd.majorityVote()).qualityWeights(workers: crowd.workers))
        case .mace: crowd.mace()
        case .dawidSkene: crowd.dawidSkene()
        }
    }
}

/// Evaluates optional `--fail-on` gates against a report's figures.
/// - Throws: `GateFailure` when a condition holds; `QualityError` for a gate on a figure that is not measured.
package func checkGates(_ gates: Gates?, _ metrics: [String: Double]) throws {
    guard let gates else { return }
    let failed = try gates.failures(metrics)
    if !failed.isEmpty { throw GateFailure(failed) }
}
