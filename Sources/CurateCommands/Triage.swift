import ArgumentParser
import CurateCore
import CurateSelection
import CurateVersioning
import Foundation

extension Curate {
    struct Triage: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Group items for review: clusters, redundant items, out-of-distribution items; tag them.",
            discussion: """
                Clusters the items' --embeddings (or pixel features) by k-means — --clusters K, or k estimated \
                as the best mean silhouette for k = 2 … min(20, √N), on a sample of 10,000 above 5,000 items — \
                and marks redundant items (cosine ≥ --redundancy with an earlier item of the same cluster) and \
                out-of-distribution items (mean distance to the 5 nearest neighbours over 3 standard deviations \
                above the mean); above 5,000 items the neighbours come from an inverted-file index \
                (docs/sharding.md). Tags: cluster-N, redundant, ood. --write-tags stores them in the repository \
                (replacing an earlier triage's), so `curate select --where tag=cluster-3` and `curate checkout \
                REV --where tag=ood --to DIR` use them; item tags are repository metadata, not part of commits. \
                --out writes {"item", "tags"} lines.

                Sharded (--parts DIR with --shard I/N or a scheduler's index): each shard computes the features of \
                the items its path hash owns (decoding their images); the same command with --merge DIR instead \
                of --parts clusters all of them, exactly as the unsharded run.

                Example:
                  curate triage --labels datasets/digits/labels.csv --format csv \\
                      --images datasets/digits --out triage.jsonl
                """)

        @OptionGroup var source: LabelSourceOptions

        @Option(help: "The number of clusters (default: estimated).")
        var clusters: Int?

        @Option(help: "Redundant: cosine similarity at least this with an earlier item of the cluster.")
        var redundancy: Double = 0.99

        @Option(help: "Embeddings (.npy, N × D) instead of pixel features.")
        var embeddings: String?

        @Option(help: "The item of each embedding row.")
        var embeddingIds: String?

        @Option(help: "Seed for k-means.")
        var seed: UInt64 = 0

        @Flag(help: "Store the tags in the repository.")
        var writeTags = false

        @Option(help: "Write {\"item\", \"tags\"} JSON Lines here.")
        var out: String?

        @Flag(help: "Print the result as JSON.")
        var json = false

        @OptionGroup var sharding: ShardOptions

        @Option(help: "Join the parts of a sharded run (its --parts folder) instead of computing features; the same options as the shards.")
        var merge: String?

        func validate() throws {
            if writeTags && source.labels != nil { throw ValidationError("--write-tags stores tags in a repository; drop --labels") }
            if let embeddings, !embeddings.hasSuffix(".jsonl"), embeddingIds == nil { throw ValidationError("--embeddings needs --embedding-ids (or a .jsonl)") }
            if let clusters, clusters < 1 { throw ValidationError("--clusters must be at least 1") }
            if sharding.parts != nil && merge != nil { throw ValidationError("--parts runs one shard and --merge joins them: give one") }
            if sharding.parts != nil && (out != nil || writeTags) { throw ValidationError("a shard writes its part into --parts; give --out or --write-tags with --merge") }
        }

        func run() async throws {
            try await reportingErrors {
                let input = try source.input()
                var inputs = ShardDigest()
                if sharding.parts != nil || merge != nil {
                    try source.digest(into: &inputs)
                    try inputs.add(optionalFile: embeddings)
                    try inputs.add(optionalFile: embeddingIds)
                    if embeddings == nil { source.digestImages(of: input.labels, into: &inputs) }
                }
                if let shard = try sharding.resolve() {
                    return try sharding.write(try FeatureTable.part(embeddings: embeddings, ids: embeddingIds, input: input, shard: shard),
                                              verb: "triage", shard: shard, inputs: inputs, parameters: [], mergedByVerb: true)
                }
                let table = try merge.map { try FeatureTable.joined(try ShardOptions.collect([$0], verb: "triage", inputs: inputs, parameters: [])) }
                    ?? FeatureTable.load(embeddings: embeddings, ids: embeddingIds, input: input)
                let report = try ActiveLearning.triage(table, clusters: clusters, redundancy: redundancy, seed: seed)
                for path in report.skipped { Console.warning("skipped \(path): cannot decode") }
                if let out {
                    let byItem = report.tagsByItem
                    let lines = try report.items.map { p in try TaggedItem(item: p, tags: byItem[p] ?? []).compactJSON() }
                    try writeOutput(lines.joined(separator: "\n") + "\n", to: out)
                }
                if writeTags { try source.repository.open().setItemTags(report.tags, replacing: CurateSelection.Triage.tagPrefixes) }
                if json { Console.out(try report.compactJSON()); return }
                let how = clusters == nil ? "estimated by silhouette" : "chosen"
                Console.out("\(report.items.count) items in \(report.k) clusters (\(how)); \(report.redundant.count) redundant, \(report.ood.count) out of distribution")
                if !report.exact {
                    Console.out("approximate: above 5,000 items, k is estimated on a sample and neighbours come from an inverted-file index (docs/sharding.md)")
                }
                Console.out("cluster sizes: " + report.clusterSizes.enumerated().map { "\($0.offset): \($0.element)" }.joined(separator: ", "))
                for r in report.redundant.prefix(5) { Console.out("redundant: \(r.item) repeats \(r.of)") }
                if report.redundant.count > 5 { Console.out("… \(report.redundant.count - 5) more redundant (--json or --write-tags lists them all)") }
                for o in report.ood.prefix(5) { Console.out("ood: \(o)") }
                if report.ood.count > 5 { Console.out("… \(report.ood.count - 5) more out of distribution") }
                if writeTags { Console.out("tags written: " + report.tags.keys.sorted { $0.compare($1, options: .numeric) == .orderedAscending }.joined(separator: ", ")) }
                if let out { Console.out("tags: \(out)") }
            }
        }
    }
}

/// A line of `triage --out`.
struct TaggedItem: Encodable { var item: String; var tags: [String] }
