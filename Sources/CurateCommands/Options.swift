import ArgumentParser
import CurateCore
import CurateQuality
import CurateVersioning
import Foundation

/// Where a verb reads labels: a label file (and its images folder), or the repository at a revision.
package struct LabelSourceOptions: ParsableArguments {
    package init() {}

    @Option(help: "Read labels from this file instead of the repository.")
    var labels: String?

    @Option(help: "The format of --labels (default: detected from the file).")
    var format: LabelFormat?

    @Option(help: "The folder --labels item paths are relative to (default: the label file's folder).")
    var images: String?

    @Option(help: "Read the repository's labels at this revision (default HEAD, when no --labels).")
    var rev: String?

    @OptionGroup var repository: RepositoryOption

    /// The labels; with `keep` (a shard's own items), a label file's reader may leave the other items out.
    package func load(keep: (@Sendable (String) -> Bool)? = nil) throws -> LabelSet { try input(keep: keep).labels }

    /// The labels and their images. With `lenient`, invalid records of a label file are returned instead of
    /// stopping the read (a repository's labels were checked when committed). With `keep`, a label file's
    /// reader may skip the records of other items (``LabelReadOptions/keep``).
    package func input(lenient: Bool = false, keep: (@Sendable (String) -> Bool)? = nil) throws -> DatasetInput {
        if let labels {
            let format = try labelFormat(format, of: labels)
            let root = images ?? LabelReadOptions.defaultRoot(forLabelFile: labels)
            var options = LabelReadOptions(imagesRoot: root, lenient: lenient)
            options.keep = keep
            let result = try format.read(from: labels, options: options)
            return DatasetInput(labels: result.labelSet, skipped: result.skipped, name: labels, images: DatasetInput.files(under: root))
        }
        let repo = try repository.open()
        let revision = rev ?? "HEAD"
        return DatasetInput(labels: try repo.labels(at: revision), name: "repository at \(revision)") { _, read in
            try repo.files(at: revision).filter { $0.width != nil }.map { read($0.path) ? ImageBytes(path: $0.path, data: try repo.data(of: $0.hash)) : ImageBytes(path: $0.path, data: nil) }
        }
    }
}

/// Options shared by `validate` and `annotators`: gold labels and the consensus method.
struct ConsensusOptions: ParsableArguments {
    @Option(help: "Gold (honeypot) labels: a CSV `path,label` with class names or ids; held fixed and scored.")
    var gold: String?

    @Option(help: "Consensus method: dawid-skene, majority or mace.")
    var consensus: ConsensusMethod = .dawidSkene
}

extension ConsensusMethod: ExpressibleByArgument {}

/// Optional `--fail-on` gates, parsed.
func gates(_ text: String?) throws -> Gates? { try text.map { text throws(QualityError) in try Gates(text) } }

/// A plain text table (CurateQuality's `TextTable`).
package typealias Table = TextTable

package func jsonText(_ object: [String: Any]) throws -> String {
    String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]), as: UTF8.self)
}

extension String {
    var nonEmpty: String? { isEmpty ? nil : self }
}
