import ArgumentParser
import CurateCore
import CurateQuality
import Foundation

extension Curate {
    struct Validate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check labels: schema and geometry, agreement among annotators, consensus, annotators.",
            discussion: """
                Checks: records the label file's reader rejects (missing images, boxes outside the image, \
                unknown classes…: every one is listed, the rest is still checked); classes not in the schema; empty boxes (no area), degenerate boxes (under 1 px), boxes \
                leaving the image by more than half a pixel; duplicate boxes (same class and source, IoU > 0.95); \
                items without labels; with --decode, images that fail to decode; class imbalance (most frequent \
                class over 10× the least). With --duplicates: exact duplicates (same bytes) and near duplicates \
                (perceptual hash — imagehash's phash — at most --near-distance bits apart); with --embeddings \
                (and --embedding-ids): near duplicates by cosine ≥ --min-cosine and outliers (mean cosine \
                distance to the 5 nearest neighbours over 3 standard deviations above the mean). Duplicates whose \
                labels differ are also reported as conflicting.
                Agreement among annotators of the same items (classification answers with an annotator:ID \
                source): percent agreement, Krippendorff's alpha (nominal, missing answers allowed) overall and \
                per class, Fleiss' kappa over the items every annotator answered; for boxes, mean IoU of matched \
                boxes and F1 at IoU 0.5 over annotator pairs.
                Consensus (--consensus dawid-skene, majority or mace; --gold held fixed) with a posterior per \
                item; --consensus-out FILE writes the labels plus one annotation per item with source \
                "consensus" and its confidence (JSON Lines). The annotator verdicts of `curate annotators` are \
                summarised.
                Sharded (--parts DIR with --shard I/N or a scheduler's index; with --decode or --duplicates): each \
                shard reads and decodes the images its path hash owns and writes what they showed; then the same \
                command with --merge DIR instead of --parts checks the parts match its inputs and options and \
                reports exactly what the unsharded run reports.
                --fail-on "alpha<0.6,issues>5%,spam>0" exits 65 when a condition holds (issues are the check \
                findings; the share is of items).

                Example:
                  curate validate --labels datasets/digits/crowd.jsonl --format jsonl \\
                      --images datasets/digits --gold datasets/digits/gold.csv
                """)

        @OptionGroup var source: LabelSourceOptions
        @OptionGroup var options: ConsensusOptions

        @Option(help: "Write the labels with the consensus annotations added (JSON Lines).")
        var consensusOut: String?

        @Flag(help: "Also decode every image (slower) and report the ones that fail.")
        var decode = false

        @Flag(help: "Find exact duplicates (content hash) and near duplicates (perceptual hash) among the images.")
        var duplicates = false

        @Option(help: "Near duplicates: perceptual hashes at most this many bits apart (of 64).")
        var nearDistance: Int = 4

        @Option(help: "Embeddings (.npy, N × D) for near duplicates by cosine similarity and k-NN outliers.")
        var embeddings: String?

        @Option(help: "The item path of each embedding row, one per line.")
        var embeddingIds: String?

        @Option(help: "Near duplicates by embedding: cosine similarity at least this.")
        var minCosine: Double = 0.98

        @Option(help: "Write a self-contained HTML report (charts and thumbnails inline) to this file.")
        var report: String?

        @Flag(help: "Print the report as JSON.")
        var json = false

        @Option(help: "Exit 65 when a condition holds, e.g. \"alpha<0.6,issues>5%,spam>0\".")
        var failOn: String?

        @OptionGroup var sharding: ShardOptions

        @Option(help: "Join the parts of a sharded run (its --parts folder) instead of reading the images; the same options as the shards.")
        var merge: String?

        func validate() throws {
            if embeddings != nil && embeddingIds == nil { throw ValidationError("--embeddings needs --embedding-ids") }
            if (sharding.parts != nil || merge != nil) && !decode && !duplicates {
                throw ValidationError("a sharded validate splits the work on images: add --decode or --duplicates (or run it unsharded)")
            }
            if sharding.parts != nil && merge != nil { throw ValidationError("--parts runs one shard and --merge joins them: give one") }
            if sharding.parts != nil && (consensusOut != nil || report != nil) { throw ValidationError("a shard writes its part into --parts; give --consensus-out or --report with --merge") }
        }

        func run() async throws {
            try await reportingErrors {
                let gates = try gates(failOn)
                var options = ValidationOptions()
                (options.consensus, options.gold) = (self.options.consensus, self.options.gold)
                (options.decode, options.duplicates, options.nearDistance, options.minCosine) = (decode, duplicates, nearDistance, minCosine)
                (options.consensusOut, options.htmlReport) = (consensusOut, report)
                if let embeddings, let embeddingIds { options.embeddings = (embeddings, embeddingIds) }
                let input = try source.input(lenient: true)
                var inputs = ShardDigest()
                let parameters = [("decode", "\(decode)"), ("duplicates", "\(duplicates)")]
                if sharding.parts != nil || merge != nil {
                    try source.digest(into: &inputs)
                    source.digestImages(of: input.labels, into: &inputs)
                }
                if let shard = try sharding.resolve() {
                    let evidence = ImageEvidence(try input.images(reading: shard.owns), options: options, keep: shard.owns)
                    return try sharding.write(ShardOutput(items: evidence.entries.count, files: ["evidence.json": try JSONEncoder().encode(evidence)]),
                                              verb: "validate", shard: shard, inputs: inputs, parameters: parameters, mergedByVerb: true)
                }
                var evidence: ImageEvidence?
                if let merge {
                    let parts = try ShardOptions.collect([merge], verb: "validate", inputs: inputs, parameters: parameters)
                    evidence = .joined(try parts.map { try JSONDecoder().decode(ImageEvidence.self, from: try $0.data("evidence.json")) })
                }
                let result = try Validation.run(input, options: options, evidence: evidence)
                if json { Console.out(try result.compactJSON()) } else { result.lines.forEach { Console.out($0) } }
                try checkGates(gates, result.metrics)
            }
        }
    }
}
