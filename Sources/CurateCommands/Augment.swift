import ArgumentParser
import CurateAugment
import CurateCore
import CurateImaging
import CurateVersioning
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

        func validate() throws {
            if replay != nil { return }
            guard pipeline != nil, out != nil else { throw ValidationError("--pipeline and --out are required (or --replay OUTPUT)") }
            guard copies >= 1 else { throw ValidationError("--copies must be at least 1") }
            if commit && labels != nil { throw ValidationError("--commit records outputs of a repository; drop --labels") }
        }

        func run() async throws {
            try await reportingErrors {
                if let replay { return try replayOutput(replay) }
                let loaded = try Pipeline(contentsOf: pipeline!)
                let (sources, failures, schema) = try loadSources()
                for failure in failures { if strict { throw CommandFailure(message: failure, kind: .invalidData) }; Console.warning("skipped \(failure)") }
                let outDir = out!
                if try prepare(outDir, pipeline: loaded) {
                    // A run killed after writing its outputs: they are complete and the same; only the commit is left.
                    Console.out("\(outDir) already holds this augmentation (same pipeline and seed, lineage.jsonl complete): reusing it")
                    if commit { try commitOutputs(outDir, count: nil) }
                    return
                }
                let augmenter = Augmenter(pipeline: loaded, seed: seed, copies: copies, tool: "curate \(Curate.version)")
                let progress = Progress(total: sources.count)
                let results = augmenter.run(sources) { progress.update($0) }
                progress.finish()
                var outputs: [Augmenter.Output] = []
                for (source, result) in zip(sources, results) {
                    switch result {
                    case .outputs(let list): outputs += list
                    case .failed(let reason):
                        if strict { throw CommandFailure(message: reason, kind: .invalidData) }
                        Console.warning("skipped \(source.path): \(reason)")
                    }
                }
                try write(outputs, loaded, schema: schema, to: outDir)
                Console.out("augmented \(sources.count) images into \(outputs.count) outputs in \(outDir) (seed \(seed), pipeline \(augmenter.pipelineHash.prefix(12)))")
                if commit { try commitOutputs(outDir, count: outputs.count) }
            }
        }

        func commitOutputs(_ outDir: String, count: Int?) throws {
            let repo = try repository.open()
            _ = try repo.add([outDir], labels: LabelImport(path: outDir + "/labels.jsonl", format: .jsonl, imagesRoot: outDir))
            if count == nil, try repo.status().isClean {
                Console.out("the outputs are already committed")
                return
            }
            let info = try repo.commit(message: message ?? "augment \(count.map(String.init) ?? "the") images (seed \(seed))",
                                       author: ProcessInfo.processInfo.environment["USER"] ?? "curate")
            Console.out("[\(info.id.short())] committed the outputs with their lineage")
        }

        /// The sources (from --labels, else the repository at --rev), the reasons some could not be read, and their schema.
        func loadSources() throws -> ([AugmentSource], [String], LabelSchema) {
            let loaded: AugmentSources.Loaded
            if let labels {
                let format = try labelFormat(format, of: labels)
                let folder = (labels as NSString).deletingLastPathComponent
                loaded = try AugmentSources.load(labels: labels, format: format, imagesRoot: images ?? (folder.isEmpty ? "." : folder), paths: paths)
            } else {
                loaded = try AugmentSources.load(repository: repository.open(), revision: rev ?? "HEAD", paths: paths)
            }
            return (loaded.sources, loaded.failures, loaded.schema)
        }

        /// Makes the output folder; returns true when it already holds this very augmentation, complete (lineage.jsonl
        /// is written last), as a run killed before its commit leaves it.
        func prepare(_ dir: String, pipeline: Pipeline) throws -> Bool {
            let fm = FileManager.default
            if let existing = try? fm.contentsOfDirectory(atPath: dir), !existing.isEmpty {
                guard let lineage = fm.contents(atPath: dir + "/lineage.jsonl") else {
                    throw CommandFailure(message: "\(dir): holds an incomplete augmentation (no lineage.jsonl, which is written last: an interrupted run?); remove the folder and rerun, or choose a new --out", kind: .usage)
                }
                let samePipeline = fm.contents(atPath: dir + "/pipeline.yaml") == Data(pipeline.yaml().utf8)
                let first = String(decoding: lineage, as: UTF8.self).split(separator: "\n").first.flatMap { try? JSONDecoder().decode(Lineage.self, from: Data($0.utf8)) }
                guard samePipeline, first?.seed == seed else {
                    throw CommandFailure(message: "\(dir): already holds the outputs of another augmentation (\(samePipeline ? "seed \(first?.seed ?? 0)" : "another pipeline")); choose a new --out", kind: .usage)
                }
                return true
            }
            try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
            return false
        }

        func write(_ outputs: [Augmenter.Output], _ pipeline: Pipeline, schema: LabelSchema, to dir: String) throws {
            for output in outputs {
                let path = dir + "/" + output.path
                try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try Data(output.bytes).write(to: URL(fileURLWithPath: path), options: .atomic)
            }
            let set = LabelSet(schema: schema, items: outputs.map { Item(path: $0.path, width: $0.width, height: $0.height) },
                               annotations: outputs.flatMap(\.annotations))
            try LabelConversion.write(set, as: outFormat, to: dir + "/labels" + (outFormat == .coco ? ".json" : outFormat.isFolder ? "-" + outFormat.rawValue : "." + outFormat.rawValue))
            if outFormat != .jsonl { try LabelFormat.jsonl.write(set, to: dir + "/labels.jsonl") }
            try Data(pipeline.yaml().utf8).write(to: URL(fileURLWithPath: dir + "/pipeline.yaml"), options: .atomic)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            var lines = Data()
            for output in outputs {
                lines += try encoder.encode(output.lineage)
                lines += Data("\n".utf8)
            }
            try lines.write(to: URL(fileURLWithPath: dir + "/lineage.jsonl"), options: .atomic)
        }

        func replayOutput(_ output: String) throws {
            // The output folder is the nearest ancestor holding lineage.jsonl.
            var dir = (output as NSString).deletingLastPathComponent
            while !FileManager.default.fileExists(atPath: dir + "/lineage.jsonl") {
                let parent = (dir as NSString).deletingLastPathComponent
                if parent == dir || dir.isEmpty { throw CommandFailure(message: "\(output): no lineage.jsonl above it", kind: .notFound) }
                dir = parent
            }
            let relative = String(output.dropFirst(dir.count + (dir.hasSuffix("/") ? 0 : 1)))
            let text = try String(contentsOfFile: dir + "/lineage.jsonl", encoding: .utf8)
            let records = try text.split(separator: "\n").map { try JSONDecoder().decode(Lineage.self, from: Data($0.utf8)) }
            guard let lineage = records.first(where: { $0.output == relative }) else {
                throw CommandFailure(message: "\(output): not in \(dir)/lineage.jsonl", kind: .notFound)
            }
            let pipeline = try Pipeline(contentsOf: dir + "/pipeline.yaml")
            let augmenter = Augmenter(pipeline: pipeline, seed: lineage.seed, copies: 1)
            // The source: from the repository by content hash, else from --labels.
            var source: AugmentSource?
            if let hex = lineage.sourceHash, let hash = ContentHash(hex: hex), let repo = try? repository.open() {
                let annotations = try sourceAnnotations(repo: repo, lineage: lineage)
                source = AugmentSource(path: lineage.source, contentHash: hex, bytes: Array(try repo.data(of: hash)), annotations: annotations)
            } else if labels != nil {
                source = try loadSources().0.first { $0.path == lineage.source }
            }
            guard let source else {
                throw CommandFailure(message: "\(output): its source \(lineage.source) is not in this repository; pass --labels/--format", kind: .notFound)
            }
            let bytes = try augmenter.replay(lineage, source: source)
            let existing = FileManager.default.contents(atPath: output).map(Array.init) ?? []
            guard bytes == existing else {
                let maker = lineage.tool.map { $0 == "curate \(Curate.version)" ? "" : "; it was made by \($0), this is curate \(Curate.version)" } ?? ""
                throw CommandFailure(message: "\(output): replay gives different bytes (\(bytes.count) vs \(existing.count))\(maker)", kind: .invalidData)
            }
            Console.out("replayed \(output): identical (\(bytes.count) bytes, from \(lineage.source), seed \(lineage.itemSeed))")
        }

        /// The source's labels at the commit that holds its content (HEAD, or --rev).
        func sourceAnnotations(repo: Repository, lineage: Lineage) throws -> [Annotation] {
            try repo.labels(at: rev ?? "HEAD").annotations.filter { $0.item == lineage.source }
        }
    }
}

/// A one-line progress bar with rate and ETA on a terminal; nothing otherwise.
final class Progress: @unchecked Sendable {  // all state behind `lock`
    private let lock = NSLock()
    private let total: Int
    private let start = Date()
    private let isTerminal = isatty(STDERR_FILENO) != 0

    init(total: Int) { self.total = total }

    func update(_ done: Int) {
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
