import CurateCore
import Foundation
import Yams

extension Pipeline {
    /// Reads a pipeline from YAML:
    ///
    /// ```yaml
    /// transforms:
    ///   - RandomResizedCrop: {size: [224, 224], scale: [0.5, 1]}
    ///   - HorizontalFlip: {p: 0.5}
    ///   - OneOf:
    ///       p: 0.8
    ///       transforms:
    ///         - GaussianBlur: {blur_limit: [3, 7]}
    ///         - GaussNoise: {std_range: [0.05, 0.1]}
    /// box_rules: {min_area: 16, min_visibility: 0.3}
    /// ```
    /// - Throws: ``AugmentError`` naming `file`, the line, and the unknown name or bad value.
    public init(yaml: String, file: String) throws(AugmentError) {
        let root: Node?
        do { root = try BoundedYAML.compose(yaml) } catch {
            throw AugmentError(.pipeline, "\(file): \(error)")
        }
        guard let mapping = root?.mapping else { throw AugmentError(.pipeline, "\(file): expected a mapping with 'transforms'") }
        for (key, _) in mapping where !["transforms", "box_rules"].contains(key.string ?? "") {
            throw AugmentError(.pipeline, "\(file):\(line(key)): unknown key '\(key.string ?? "?")' (expected transforms, box_rules)")
        }
        guard let list = mapping["transforms"] else { throw AugmentError(.pipeline, "\(file): missing 'transforms'") }
        let steps = try Self.steps(list, file: file, topLevel: true)
        var rules = BoxRules()
        if let node = mapping["box_rules"] {
            guard let m = node.mapping else { throw AugmentError(.pipeline, "\(file):\(line(node)): box_rules must be a mapping") }
            for (key, value) in m {
                guard let number = value.float, number >= 0 else {
                    throw AugmentError(.pipeline, "\(file):\(line(value)): box_rules.\(key.string ?? "?") must be a number ≥ 0")
                }
                switch key.string {
                case "min_area": rules.minArea = number
                case "min_visibility":
                    guard number <= 1 else { throw AugmentError(.pipeline, "\(file):\(line(value)): box_rules.min_visibility must be ≤ 1") }
                    rules.minVisibility = number
                default: throw AugmentError(.pipeline, "\(file):\(line(key)): unknown box rule '\(key.string ?? "?")' (expected min_area, min_visibility)")
                }
            }
        }
        self.init(steps: steps, boxRules: rules)
    }

    /// Reads a pipeline file.
    public init(contentsOf path: String) throws(AugmentError) {
        let data: Data
        do { data = try InputFile.read(path, limit: 1 << 20) } catch { throw AugmentError(error == .notFound ? .notFound : .pipeline, "\(path): \(error)") }
        try self.init(yaml: String(decoding: data, as: UTF8.self), file: path)
    }

    private static func steps(_ node: Node, file: String, topLevel: Bool = false) throws(AugmentError) -> [TransformStep] {
        guard let sequence = node.sequence else { throw AugmentError(.pipeline, "\(file):\(line(node)): 'transforms' must be a list") }
        var steps: [TransformStep] = []
        for (index, item) in sequence.enumerated() {
            guard let m = item.mapping, m.count == 1, let (key, value) = m.first, let name = key.string else {
                throw AugmentError(.pipeline, "\(file):\(line(item)): each step is one 'Name: {parameters}' entry")
            }
            var step = TransformStep(name: name)
            step.line = line(key)
            // Normalize turns the image into floats: nothing can follow it, and it cannot be optional in a composition.
            if name == "Normalize" && !(topLevel && index == sequence.count - 1) {
                throw AugmentError(.pipeline, "\(file):\(step.line): Normalize must be the last step of the pipeline (not inside a composition)")
            }
            let isComposition = TransformCatalog.compositions.contains(name)
            guard isComposition || TransformCatalog.kinds[name] != nil else {
                let known = (Array(TransformCatalog.compositions) + TransformCatalog.kinds.keys).sorted().joined(separator: ", ")
                throw AugmentError(.pipeline, "\(file):\(step.line): unknown transform '\(name)' (known: \(known))")
            }
            if value.mapping == nil, !(value.scalar?.string.isEmpty ?? false), value.scalar?.string != "null", value.scalar?.string != "~" {
                throw AugmentError(.pipeline, "\(file):\(line(value)): parameters of \(name) must be a mapping")
            }
            for (pkey, pvalue) in value.mapping ?? [:] {
                guard let pname = pkey.string else { continue }
                if isComposition && pname == "transforms" {
                    step.children = try Self.steps(pvalue, file: file)
                    continue
                }
                let parsed = try parameter(pvalue, file: file)
                let checks: [String: TransformKind.Check]
                if isComposition {
                    checks = name == "SomeOf" ? ["p": TransformCatalog.probability, "n": TransformCatalog.integer(0, 1000)] : ["p": TransformCatalog.probability]
                } else {
                    checks = TransformCatalog.kinds[name]!.parameters
                }
                guard let check = checks[pname] else {
                    throw AugmentError(.pipeline, "\(file):\(line(pkey)): \(name) has no parameter '\(pname)' (parameters: \(checks.keys.sorted().joined(separator: ", ")))")
                }
                if let problem = check(parsed) { throw AugmentError(.pipeline, "\(file):\(line(pvalue)): \(name).\(pname) \(problem)") }
                step.parameters[pname] = parsed
            }
            if isComposition && step.children.isEmpty {
                throw AugmentError(.pipeline, "\(file):\(step.line): \(name) needs a 'transforms' list")
            }
            steps.append(step)
        }
        return steps
    }

    private static func parameter(_ node: Node, file: String) throws(AugmentError) -> ParamValue {
        if let sequence = node.sequence {
            var numbers: [Double] = []
            for n in sequence {
                guard let v = n.float else { throw AugmentError(.pipeline, "\(file):\(line(n)): lists hold numbers") }
                numbers.append(v)
            }
            return .list(numbers)
        }
        guard let scalar = node.scalar else { throw AugmentError(.pipeline, "\(file):\(line(node)): expected a number, a list or a word") }
        if let bool = node.bool, ["true", "false"].contains(scalar.string.lowercased()) { return .flag(bool) }
        if let number = node.float, Double(scalar.string) != nil { return .number(number) }
        return .text(scalar.string)
    }

    /// The canonical YAML of the pipeline: parameters sorted, numbers in shortest form. Loading it gives back the
    /// same pipeline, and saving that again gives the same text.
    public func yaml() -> String {
        var out = "transforms:\n"
        Self.emit(steps, indent: "  ", into: &out)
        out += "box_rules: {min_area: \(fmtNumber(boxRules.minArea)), min_visibility: \(fmtNumber(boxRules.minVisibility))}\n"
        return out
    }

    private static func emit(_ steps: [TransformStep], indent: String, into out: inout String) {
        for step in steps {
            let params = step.parameters.keys.sorted().map { "\($0): \(text(step.parameters[$0]!))" }
            if step.children.isEmpty {
                out += "\(indent)- \(step.name): {\(params.joined(separator: ", "))}\n"
            } else {
                out += "\(indent)- \(step.name):\n"
                for p in params { out += "\(indent)    \(p)\n" }
                out += "\(indent)    transforms:\n"
                emit(step.children, indent: indent + "      ", into: &out)
            }
        }
    }

    private static func text(_ value: ParamValue) -> String {
        switch value {
        case .number(let v): return fmtNumber(v)
        case .list(let l): return "[" + l.map(fmtNumber).joined(separator: ", ") + "]"
        case .text(let t): return t
        case .flag(let b): return b ? "true" : "false"
        }
    }
}

private func line(_ node: Node) -> Int { node.mark?.line ?? 0 }
