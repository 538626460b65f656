import Foundation
import CurateCore
import Yams

/// Why routing refused to run.
package struct RoutingError: CurateError {
    package var message: String
    /// Its kind in the shared vocabulary (most routing failures are data that failed checks).
    package var kind: FailureKind
    package init(_ message: String, kind: FailureKind = .invalidData) { self.message = message; self.kind = kind }
    package var description: String { message }
}

/// How `curate route` sends items: the target, the queues, overlap rules, adjudication and audits.
///
/// ```yaml
/// model: digits-lr@1           # source of auto-accepted labels: model:NAME@VERSION
/// target_accuracy: 0.95
/// per_class: false             # one threshold per predicted class
/// penalty: 0.35                # c in error(t) + c·√(1/n(t)) ≤ 1 − target
/// min_validation: 30           # n(t) at least this
/// human:
///   queue: digits-human        # items below the threshold, most uncertain first
///   order: margin              # margin, least-confidence or entropy
///   overlap: 1
///   overlap_if_margin_below: 0.2
///   overlap_when_uncertain: 2  # overlap of those items (2–3)
///   overlap_if_committee_disagrees: 3
/// adjudication:
///   queue: digits-experts      # items whose annotators disagree; the queue's annotators are the experts
/// audit:
///   rate: 0.05                 # share of auto-accepted items also sent to people, blind
///   queue: digits-human
/// second_opinion:
///   queue: digits-human        # human labels a confident model disagrees with, to another annotator
/// annotators:                  # files relative to the policy's folder
///   labels: crowd.jsonl        # past answers (annotator:ID sources) to measure annotators
///   format: jsonl
///   gold: gold.csv
/// ```
package struct RoutingPolicy: Sendable, Equatable {
    package var model = "model@1"
    package var targetAccuracy = 0.95
    package var perClass = false
    package var penalty = Calibration.defaultPenalty
    package var minValidation = Calibration.defaultMinimum
    package var humanQueue = "human"
    package var order = "margin"
    package var overlap = 1
    package var uncertainMargin: Double?
    package var uncertainOverlap = 2
    package var committeeOverlap = 3
    package var adjudicationQueue: String?
    package var auditRate = 0.0
    package var auditQueue: String?
    package var secondOpinionQueue: String?
    package var annotatorLabels: String?
    package var annotatorFormat = "jsonl"
    package var annotatorGold: String?

    package init() {}

    /// The queues the policy names (each must exist).
    package var queues: [String] {
        var names = [humanQueue]
        for q in [adjudicationQueue, auditQueue, secondOpinionQueue].compactMap({ $0 }) where !names.contains(q) { names.append(q) }
        return names
    }

    /// The model as (name, version) from `NAME@VERSION`.
    package var modelSource: (name: String, version: String) {
        guard let at = model.lastIndex(of: "@"), at != model.startIndex else { return (model, "1") }
        return (String(model[..<at]), String(model[model.index(after: at)...]))
    }

    /// Checks ranges; throws a one-line error naming the setting.
    package func validate() throws(RoutingError) {
        guard targetAccuracy > 0, targetAccuracy < 1 else { throw RoutingError("target accuracy \(targetAccuracy) is outside (0, 1)") }
        guard penalty >= 0, penalty.isFinite else { throw RoutingError("penalty must be ≥ 0") }
        guard minValidation >= 1 else { throw RoutingError("min_validation must be ≥ 1") }
        guard (0...1).contains(auditRate) else { throw RoutingError("audit rate \(auditRate) is outside [0, 1]") }
        guard overlap >= 1, uncertainOverlap >= 1, committeeOverlap >= 1 else { throw RoutingError("overlaps must be ≥ 1") }
        guard ["margin", "least-confidence", "entropy"].contains(order) else { throw RoutingError("order \(order): expected margin, least-confidence or entropy") }
        guard !model.isEmpty, !model.contains(where: \.isWhitespace) else { throw RoutingError("model \(model): expected NAME@VERSION") }
    }

    /// Reads a policy file; errors name the file, the line and the problem.
    package init(yaml: String, file: String) throws(RoutingError) {
        let root: Node?
        do { root = try BoundedYAML.compose(yaml) } catch { throw RoutingError("\(file): \(error)") }
        guard let mapping = root?.mapping else { throw RoutingError("\(file): expected a mapping (model, target_accuracy, human, …)") }
        func line(_ node: Node) -> Int { node.mark?.line ?? 0 }
        func section(_ key: String, _ node: Node, allowed: [String], _ body: (String, Node) throws(RoutingError) -> Void) throws(RoutingError) {
            guard let m = node.mapping else { throw RoutingError("\(file):\(line(node)): \(key) must be a mapping") }
            for (k, v) in m {
                let name = k.string ?? "?"
                guard allowed.contains(name) else { throw RoutingError("\(file):\(line(k)): unknown key '\(key).\(name)' (expected \(allowed.joined(separator: ", ")))") }
                try body(name, v)
            }
        }
        func number(_ key: String, _ v: Node) throws(RoutingError) -> Double {
            guard let x = v.float, x.isFinite else { throw RoutingError("\(file):\(line(v)): \(key) must be a number") }
            return x
        }
        func integer(_ key: String, _ v: Node) throws(RoutingError) -> Int {
            guard let x = v.int else { throw RoutingError("\(file):\(line(v)): \(key) must be a whole number") }
            return x
        }
        func text(_ key: String, _ v: Node) throws(RoutingError) -> String {
            guard let s = v.string, v.scalar != nil, !s.isEmpty else { throw RoutingError("\(file):\(line(v)): \(key) must be text") }
            return s
        }
        let top = ["model", "target_accuracy", "per_class", "penalty", "min_validation", "human", "adjudication", "audit", "second_opinion", "annotators"]
        for (k, v) in mapping {
            let key = k.string ?? "?"
            switch key {
            case "model": model = try text(key, v)
            case "target_accuracy": targetAccuracy = try number(key, v)
            case "per_class":
                guard let b = v.bool else { throw RoutingError("\(file):\(line(v)): per_class must be true or false") }
                perClass = b
            case "penalty": penalty = try number(key, v)
            case "min_validation": minValidation = try integer(key, v)
            case "human":
                try section(key, v, allowed: ["queue", "order", "overlap", "overlap_if_margin_below", "overlap_when_uncertain", "overlap_if_committee_disagrees"]) { (name, v) throws(RoutingError) in
                    switch name {
                    case "queue": humanQueue = try text("human.queue", v)
                    case "order": order = try text("human.order", v)
                    case "overlap": overlap = try integer("human.overlap", v)
                    case "overlap_if_margin_below": uncertainMargin = try number("human.overlap_if_margin_below", v)
                    case "overlap_when_uncertain": uncertainOverlap = try integer("human.overlap_when_uncertain", v)
                    default: committeeOverlap = try integer("human.overlap_if_committee_disagrees", v)
                    }
                }
            case "adjudication":
                try section(key, v, allowed: ["queue"]) { (_, v) throws(RoutingError) in adjudicationQueue = try text("adjudication.queue", v) }
            case "audit":
                try section(key, v, allowed: ["rate", "queue"]) { (name, v) throws(RoutingError) in
                    if name == "rate" { auditRate = try number("audit.rate", v) } else { auditQueue = try text("audit.queue", v) }
                }
            case "second_opinion":
                try section(key, v, allowed: ["queue"]) { (_, v) throws(RoutingError) in secondOpinionQueue = try text("second_opinion.queue", v) }
            case "annotators":
                try section(key, v, allowed: ["labels", "format", "gold"]) { (name, v) throws(RoutingError) in
                    switch name {
                    case "labels": annotatorLabels = try text("annotators.labels", v)
                    case "format": annotatorFormat = try text("annotators.format", v)
                    default: annotatorGold = try text("annotators.gold", v)
                    }
                }
            default:
                throw RoutingError("\(file):\(line(k)): unknown key '\(key)' (expected \(top.joined(separator: ", ")))")
            }
        }
        if auditRate > 0 && auditQueue == nil { auditQueue = humanQueue }
        // Files named in the policy are relative to the policy's folder.
        let folder = (file as NSString).deletingLastPathComponent
        func resolve(_ path: String?) -> String? {
            guard let path, !path.hasPrefix("/"), !folder.isEmpty else { return path }
            return (folder as NSString).appendingPathComponent(path)
        }
        annotatorLabels = resolve(annotatorLabels)
        annotatorGold = resolve(annotatorGold)
        do { try validate() } catch { throw RoutingError("\(file): \(error.message)") }
    }
}
