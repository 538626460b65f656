import Yams

/// YAML for the files Curate reads (pipelines, routing policies, workflows), with bounds: aliases can make a few
/// hundred bytes stand for billions of nodes ("billion laughs"), so the composed document is walked — every
/// alias counted each time it is used — and refused past a node count or a nesting depth.
///
/// ```swift
/// let root = try BoundedYAML.compose(text)   // Node?, at most 10,000 nodes, 64 levels
/// ```
package enum BoundedYAML {
    /// Why a document was refused (not valid YAML, or over a bound); one line.
    package struct Failure: Error, Sendable, CustomStringConvertible {
        package var description: String
    }

    /// The largest document read, in bytes.
    package static let maxBytes = 1 << 20

    /// Composes `yaml` and checks its size as used (aliases expanded).
    /// - Throws: ``Failure``.
    package static func compose(_ yaml: String, maxNodes: Int = 10_000, maxDepth: Int = 64) throws(Failure) -> Node? {
        guard yaml.utf8.count <= maxBytes else { throw Failure(description: "is \(yaml.utf8.count) bytes, over the limit of \(maxBytes) for a YAML file") }
        let root: Node?
        do { root = try Yams.compose(yaml: yaml) } catch { throw Failure(description: "not valid YAML: \(error)") }
        guard let root else { return nil }
        // Iterative walk, stopping at the first bound crossed: its cost is bounded by maxNodes however the
        // document nests its aliases.
        var stack: [(Node, Int)] = [(root, 1)]
        var count = 0
        while let (node, depth) = stack.popLast() {
            count += 1
            guard count <= maxNodes else {
                throw Failure(description: "has more than \(maxNodes) YAML nodes once its aliases are expanded; write it out without so many aliases")
            }
            guard depth <= maxDepth else { throw Failure(description: "nests deeper than \(maxDepth) levels") }
            switch node {
            case .scalar, .alias: break
            case .sequence(let sequence): for child in sequence { stack.append((child, depth + 1)) }
            case .mapping(let mapping):
                for (key, value) in mapping {
                    stack.append((key, depth + 1))
                    stack.append((value, depth + 1))
                }
            }
        }
        return root
    }
}
