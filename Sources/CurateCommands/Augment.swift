import ArgumentParser
import CurateAugment
import CurateCore
import Foundation

extension Curate {
    struct Augment: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Augment images and move their labels with the pixels, reproducibly.",
            discussion: """
                Reads images and labels from the repository (--rev, default HEAD) or from a label file \
                (--labels FILE --format FMT, item paths relative to --images), runs the pipeline --copies times \
                per image with seeds derived from --seed, and writes into --out: the images, labels.jsonl (or \
                --out-format), pipeline.yaml (canonical) and lineage.jsonl (source, source hash, pipeline hash, \
                seed and the parameters each transform drew). With --commit the outputs are added and committed.

                --replay OUTPUT makes one output again from its lineage and checks it is identical, bit for bit.

                A source image that cannot be decoded is reported and skipped (--strict: the run stops, exit 65);
                each output file is written atomically, so none is ever partial. Transforms, parameters and box \
                rules: see workflows/augment-photos.yaml and the README.

                Sharded (--parts DIR with --shard I/N or a scheduler's index, instead of --out): each shard augments \
                the sources its path hash owns into its part; curate merge DIR --out OUT links the images into OUT \
                and writes the labels, pipeline.yaml and lineage.jsonl: the unsharded run's folder, byte for byte.

                Examples:
                  curate augment --pipeline workflows/augment-photos.yaml --copies 2 \\
                      --seed 7 --out augmented
                  curate augment --labels datasets/photos/labels.coco.json --format coco \\
                      --pipeline p.yaml --out /tmp/aug
                  curate augment --replay augmented/images/chelsea-aug1.jpg
                """)

        @Option(help: "The pipeline YAML.")
        var pipeline: String?

        @Option(help: "Outputs per source image.")
        var copies: Int = 1

        @Option(help: "The run seed.")
        var seed: UInt64 = 0

        @Option(help: "The output folder (new or empty).")
        var out: String?

        @Option(help: "Read from this repository revision (default HEAD, when no --labels).")
        var rev: String?

        @Option(help: "Read labels from this file instead of the repository.")
        var labels: String?

        @Option(help: "The format of --labels.")
        var format: LabelFormat?

        @Option(help: "The folder --labels item paths are relative to (default: the label file's folder).")
        var images: String?

        @Option(parsing: .upToNextOption, help: "Only sources matching these globs or folders.")
        var paths: [String] = []

        @Option(help: "Format of the output labels.")
        var outFormat: LabelFormat = .jsonl

        @Flag(help: "Stop at the first source that cannot be read (exit 65) instead of skipping it.")
        var strict = false

        @Flag(help: "Add the outputs to the repository and commit them (needs --out inside the repository).")
        var commit = false

        @Option(name: .shortAndLong, help: "Commit message for --commit.")
        var message: String?

        @Option(help: "Make this output again from its lineage and compare.")
        var replay: String?

        @OptionGroup var repository: RepositoryOption

        @OptionGroup var sharding: ShardOptions

        func validate() throws {
            if replay != nil { return }
            if sharding.parts != nil {
                guard pipeline != nil else { throw ValidationError("--pipeline is required") }
                if out != nil { throw ValidationError("a shard writes its outputs into --parts; give --out to curate merge") }
                if commit { throw ValidationError("--commit records a whole run: commit the merged folder (curate merge PARTS --out DIR, then curate add and commit)") }
            } else {
                guard pipeline != nil, out != nil else { throw ValidationError("--pipeline and --out are required (or --replay OUTPUT)") }
            }
            guard copies >= 1 else { throw ValidationError("--copies must be at least 1") }
            if commit && labels != nil { throw ValidationError("--commit records outputs of a repository; drop --labels") }
        }

        func run() async throws {
            try await reportingErrors {
                let tool = "curate \(Curate.version)"
                let source: AugmentRequest.Source = try labels.map { .labels(path: $0, format: try labelFormat(format, of: $0), imagesRoot: images ?? LabelReadOptions.defaultRoot(forLabelFile: $0)) }
                    ?? .repository(revision: rev ?? "HEAD")
                if let replay {
                    let replayed = try Augmentation.replay(replay, repository: try? repository.open(), revision: rev ?? "HEAD",
                                                           labels: labels == nil ? nil : source, tool: tool)
                    return Console.out("replayed \(replay): identical (\(replayed.bytes) bytes, from \(replayed.source), seed \(replayed.itemSeed))")
                }
                var request = AugmentRequest(pipeline: pipeline!, source: source, out: out ?? "")
                (request.copies, request.seed, request.paths, request.outFormat) = (copies, seed, paths, outFormat)
                (request.strict, request.commit, request.message, request.tool) = (strict, commit, message, tool)
                let progress = Progress()
                if let shard = try sharding.resolve() {
                    var inputs = ShardDigest()
                    if let labels {
                        inputs.add("format", try labelFormat(format, of: labels).rawValue)
                        try inputs.add(file: labels)
                        let set = try labelFormat(format, of: labels).read(from: labels, options: LabelReadOptions(imagesRoot: images ?? LabelReadOptions.defaultRoot(forLabelFile: labels), lenient: true)).labelSet
                        let root = images ?? LabelReadOptions.defaultRoot(forLabelFile: labels)
                        for item in set.items { inputs.add(name: item.path, sizeOf: root + "/" + item.path) }
                    } else {
                        inputs.add("commit", try repository.open().resolve(rev ?? "HEAD").hex)
                    }
                    inputs.add("pipeline", try Pipeline(contentsOf: pipeline!).yaml())
                    return try sharding.write(verb: "augment", shard: shard, inputs: inputs,
                                              parameters: [("copies", "\(copies)"), ("seed", "\(seed)"), ("paths", paths.joined(separator: "\n")), ("out_format", outFormat.rawValue),
                                                           ("strict", "\(strict)")]) { folder in
                        defer { progress.finish() }
                        return try Augmentation.part(request, repository: { try repository.open() }, shard: shard, into: folder, progress: { progress.update($0, of: $1) })
                    }
                }
                let report = try Augmentation.run(request, repository: { try repository.open() }, author: ProcessInfo.processInfo.environment["USER"] ?? "curate",
                                                  progress: { progress.update($0, of: $1) })
                progress.finish()
                Self.print(report)
                if report.alreadyCommitted { Console.out("the outputs are already committed") }
                if let commit = report.commit { Console.out("[\(commit)] committed the outputs with their lineage") }
            }
        }

        /// What a run (or the merge of a sharded one) did.
        static func print(_ report: AugmentReport) {
            for reason in report.skipped { Console.warning("skipped \(reason)") }
            if report.reused {
                // A run killed after writing its outputs: they are complete and the same; only the commit is left.
                Console.out("\(report.out) already holds this augmentation (same pipeline and seed, lineage.jsonl complete): reusing it")
            } else {
                Console.out("augmented \(report.sources) images into \(report.outputs) outputs in \(report.out) (seed \(report.seed), pipeline \(report.pipelineHash.prefix(12)))")
            }
        }
    }
}

/// A one-line progress bar with rate and ETA on a terminal; nothing otherwise.
final class Progress: @unchecked Sendable {  // all state behind `lock`
    private let lock = NSLock()
    private let start = Date()
    private let isTerminal = isatty(STDERR_FILENO) != 0

    func update(_ done: Int, of total: Int) {
        guard isTerminal else { return }
        lock.lock(); defer { lock.unlock() }
        let elapsed = Date().timeIntervalSince(start)
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let eta = rate > 0 ? Double(total - done) / rate : 0
        let width = 30, filled = total > 0 ? width * done / total : width
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        StandardStreams.err(String(format: "\r[%@] %d/%d  %.1f img/s  ETA %.0f s", bar, done, total, rate, eta))
    }

    func finish() {
        if isTerminal { StandardStreams.err("\n") }
    }
}
