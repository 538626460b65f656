import CurateCore
import CurateImaging
import Foundation

/// A parameter value in a pipeline file.
public enum ParamValue: Hashable, Sendable {
    case number(Double)
    case list([Double])
    case text(String)
    case flag(Bool)

    /// A range: a two-number list, or a number `v` meaning `[-v, v]` (albumentations' "limit" convention) unless
    /// `symmetric` is false, when it means `[v, v]`.
    func range(symmetric: Bool) -> (Double, Double)? {
        switch self {
        case .number(let v): return symmetric ? (-v, v) : (v, v)
        case .list(let l) where l.count == 2: return (l[0], l[1])
        default: return nil
        }
    }
}

/// One transform or composition in a pipeline, as written in YAML.
public struct TransformStep: Sendable, Equatable {
    public var name: String
    public var parameters: [String: ParamValue]
    public var children: [TransformStep]
    /// The YAML line it came from (for messages; not part of equality).
    public var line: Int = 0

    public init(name: String, parameters: [String: ParamValue] = [:], children: [TransformStep] = []) {
        self.name = name
        self.parameters = parameters
        self.children = children
    }

    public static func == (a: TransformStep, b: TransformStep) -> Bool {
        a.name == b.name && a.parameters == b.parameters && a.children == b.children
    }

    var probability: Double {
        if case .number(let p)? = parameters["p"] { return p }
        return TransformCatalog.compositions.contains(name) ? 1 : (TransformCatalog.kinds[name]?.defaultProbability ?? 1)
    }

    func number(_ key: String, _ fallback: Double) -> Double {
        if case .number(let v)? = parameters[key] { return v }
        return fallback
    }

    func range(_ key: String, _ fallback: (Double, Double), symmetric: Bool = true) -> (Double, Double) {
        parameters[key]?.range(symmetric: symmetric) ?? fallback
    }

    func text(_ key: String, _ fallback: String) -> String {
        if case .text(let t)? = parameters[key] { return t }
        return fallback
    }
}

/// A transform that fired while augmenting one image: which step (by position), and the values it drew.
public struct AppliedStep: Sendable, Codable, Equatable {
    /// Position in the pipeline, e.g. `[2, 0]` for the first child of the third step.
    public var path: [Int]
    public var name: String
    public var parameters: [String: Double]
}

/// A loaded pipeline: its steps, box rules, and the canonical YAML it was read from.
///
/// ```swift
/// let pipeline = try Pipeline(yaml: "transforms:\n  - HorizontalFlip: {p: 0.5}\n", file: "flip.yaml")
/// let (out, applied) = pipeline.run(sample, seed: 42)
/// ```
public struct Pipeline: Sendable, Equatable {
    public var steps: [TransformStep]
    public var boxRules: BoxRules

    public init(steps: [TransformStep], boxRules: BoxRules = BoxRules()) {
        self.steps = steps
        self.boxRules = boxRules
    }

    /// Runs the pipeline with draws from `seed`; the same seed always gives the same output, on any thread.
    ///
    /// `drawSize` is the size the first step draws its parameters for when the image was decoded smaller than its
    /// real size (DCT scaling): the draws, and so the output's content, stay those of the full-size image.
    public func run(_ sample: AugmentSample, seed: UInt64, drawSize: (width: Int, height: Int)? = nil) -> (AugmentSample, [AppliedStep]) {
        var rng = SplitMix64(seed: seed)
        var applied: [AppliedStep] = []
        var current = sample
        var pending: [[UInt8]]? = nil
        for (i, step) in steps.enumerated() {
            current = run(step, path: [i], current, &rng, &applied, &pending, drawSize: i == 0 ? drawSize : nil)
        }
        return (Self.flush(current, &pending), applied)
    }

    /// The parameters the first step draws with `seed` for an image of `width` × `height`, without running it
    /// (nil when it is a composition or would not fire); `run` with the same seed draws the same.
    func firstDraw(seed: UInt64, width: Int, height: Int) -> [String: Double]? {
        guard let step = steps.first, let kind = TransformCatalog.kinds[step.name] else { return nil }
        var rng = SplitMix64(seed: seed)
        guard rng.unit() < step.probability else { return nil }
        return kind.sample(step, &rng, width, height)
    }

    /// Runs one step. Pointwise steps that are per-channel lookups are not applied here: their tables are composed
    /// into `pending`, which the next other step (or the end of the pipeline) applies in one pass.
    private func run(_ step: TransformStep, path: [Int], _ sample: AugmentSample, _ rng: inout SplitMix64,
                     _ applied: inout [AppliedStep], _ pending: inout [[UInt8]]?, drawSize: (width: Int, height: Int)? = nil) -> AugmentSample {
        let fires = rng.unit() < step.probability
        switch step.name {
        case "Compose", "Sequential":
            guard fires || step.name == "Sequential" else { return sample }
            var current = sample
            for (i, child) in step.children.enumerated() { current = run(child, path: path + [i], current, &rng, &applied, &pending) }
            return current
        case "OneOf":
            guard fires, !step.children.isEmpty else { return sample }
            let weights = step.children.map { max(0, $0.probability) }
            let total = weights.reduce(0, +)
            var pick = rng.unit() * total
            var chosen = step.children.count - 1
            for (i, w) in weights.enumerated() {
                if pick < w { chosen = i; break }
                pick -= w
            }
            // The chosen child is applied (its p served as its weight).
            var child = step.children[chosen]
            child.parameters["p"] = .number(1)
            return run(child, path: path + [chosen], sample, &rng, &applied, &pending)
        case "SomeOf":
            guard fires else { return sample }
            let n = min(step.children.count, Int(step.number("n", 1)))
            var indices = Array(step.children.indices)
            for i in 0..<n { indices.swapAt(i, i + Int(rng.next() % UInt64(indices.count - i))) }
            var current = sample
            for i in indices.prefix(n).sorted() { current = run(step.children[i], path: path + [i], current, &rng, &applied, &pending) }
            return current
        default:
            guard fires, let kind = TransformCatalog.kinds[step.name] else { return sample }
            let parameters = kind.sample(step, &rng, drawSize?.width ?? sample.width, drawSize?.height ?? sample.height)
            applied.append(AppliedStep(path: path, name: step.name, parameters: parameters))
            return Self.apply(kind, step, parameters, sample, boxRules, &pending)
        }
    }

    /// Applies one drawn step, or composes its tables into `pending` (see `run`).
    static func apply(_ kind: TransformKind, _ step: TransformStep, _ parameters: [String: Double], _ sample: AugmentSample,
                      _ rules: BoxRules, _ pending: inout [[UInt8]]?) -> AugmentSample {
        if let tables = kind.tables {
            let next = tables(parameters, sample.image.format)
            pending = pending.map { before in (0..<3).map { c in before[c].map { next[c][Int($0)] } } } ?? next
            return sample
        }
        return kind.apply(step, parameters, flush(sample, &pending), rules)
    }

    /// Applies the composed tables, if any.
    static func flush(_ sample: AugmentSample, _ pending: inout [[UInt8]]?) -> AugmentSample {
        guard let tables = pending else { return sample }
        pending = nil
        var out = sample
        out.image = PixelOps.lookup(sample.image, tables: tables)
        return out
    }

    /// Applies recorded steps again (no draws): the output of `run` with the same input, bit for bit.
    public func replay(_ sample: AugmentSample, _ applied: [AppliedStep]) throws(AugmentError) -> AugmentSample {
        var current = sample
        var pending: [[UInt8]]? = nil
        for record in applied {
            guard let step = step(at: record.path), step.name == record.name, let kind = TransformCatalog.kinds[step.name] else {
                throw AugmentError(.replay, "the pipeline has no \(record.name) at position \(record.path); it changed since the output was made")
            }
            current = Self.apply(kind, step, record.parameters, current, boxRules, &pending)
        }
        return Self.flush(current, &pending)
    }

    func step(at path: [Int]) -> TransformStep? {
        guard let first = path.first, first < steps.count else { return nil }
        var step = steps[first]
        for i in path.dropFirst() {
            guard i < step.children.count else { return nil }
            step = step.children[i]
        }
        return step
    }
}

extension SplitMix64 {
    /// Uniform in [0, 1) with 53 random bits.
    mutating func unit() -> Double { Double(next() >> 11) * 0x1p-53 }

    mutating func uniform(_ range: (Double, Double)) -> Double { range.0 + (range.1 - range.0) * unit() }

    /// Standard normal (Box–Muller).
    mutating func normal() -> Double {
        let u1 = max(unit(), 1e-300), u2 = unit()
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }
}
