import CurateCore
import Synchronization
import CurateVersioning
import Foundation

/// What `curate augment` is asked to do.
package struct AugmentRequest: Sendable {
    /// Where sources come from.
    package enum Source: Sendable {
        /// The repository's images and labels at a revision.
        case repository(revision: String)
        /// A label file and the folder its item paths are relative to.
        case labels(path: String, format: LabelFormat, imagesRoot: String)
    }

    package var pipeline: String
    package var source: Source
    package var out: String
    package var copies = 1
    package var seed: UInt64 = 0
    /// Only sources matching these globs or folders.
    package var paths: [String] = []
    package var outFormat: LabelFormat = .jsonl
    /// Stop at the first source that cannot be read instead of skipping it.
    package var strict = false
    /// Add the outputs to the repository and commit them.
    package var commit = false
    /// The commit message (default: "augment N images (seed S)").
    package var message: String?
    /// The tool recorded in the lineage.
    package var tool = "curate"

    package init(pipeline: String, source: Source, out: String) {
        self.pipeline = pipeline
        self.source = source
        self.out = out
    }
}

/// What an augmentation run did.
package struct AugmentReport: Codable, Sendable {
    package var sources: Int
    package var outputs: Int
    package var out: String
    package var seed: UInt64
    package var pipelineHash: String
    /// The folder already held this very augmentation (a run killed before its commit): reused, nothing written.
    package var reused = false
    /// Sources that could not be read or decoded, with the reason (skipped).
    package var skipped: [String] = []
    /// The commit that recorded the outputs, if any (nil also when they were committed already).
    package var commit: String?
    package var alreadyCommitted = false
}

/// `curate augment` and `augment --replay` as library calls: the output folder's layout (images, labels, the
/// canonical pipeline.yaml, lineage.jsonl written last), reuse after an interrupted run, commit, and replay.
package enum Augmentation {
    /// Runs the pipeline over the sources into `request.out` (new or empty), then commits when asked.
    package static func run(_ request: AugmentRequest, repository: () throws -> Repository, author: String,
                           progress: @escaping @Sendable (_ done: Int, _ total: Int) -> Void = { _, _ in }) throws -> AugmentReport {
        let pipeline = try Pipeline(contentsOf: request.pipeline)
        let loaded = try sources(request, repository: repository)
        if request.strict, let failure = loaded.failures.first { throw AugmentError(.input, failure) }
        let augmenter = Augmenter(pipeline: pipeline, seed: request.seed, copies: request.copies, tool: request.tool)
        var report = AugmentReport(sources: loaded.sources.count, outputs: 0, out: request.out, seed: request.seed, pipelineHash: augmenter.pipelineHash,
                                   skipped: loaded.failures)
        if try prepare(request.out, pipeline: pipeline, seed: request.seed) {
            report.reused = true
        } else {
            let total = loaded.sources.count
            // Workers write their images as they finish them; a failed write (a full disk) stops the run. The
            // labels and lineage (written last: lineage.jsonl marks a finished run) come after every image.
            let writeFailure = Mutex<String?>(nil)
            let out = request.out
            let results = augmenter.run(loaded.sources, write: { output in
                do {
                    try Self.writeImage(output, to: out)
                } catch {
                    writeFailure.withLock { $0 = $0 ?? "\(error)" }
                    throw error
                }
            }, progress: { progress($0, total) })
            var outputs: [Augmenter.Output] = []
            var failure = writeFailure.withLock { $0 }.map { AugmentError(.write, $0) }
            for (source, result) in zip(loaded.sources, results) where failure == nil {
                switch result {
                case .outputs(let list): outputs += list
                case .failed(let reason):
                    if request.strict { failure = AugmentError(.input, reason) }
                    report.skipped.append("\(source.path): \(reason)")
                }
            }
            if let failure {
                // Nothing half-made is left: the folder was new or empty (prepare), so it is emptied again.
                for entry in (try? FileManager.default.contentsOfDirectory(atPath: request.out)) ?? [] {
                    try? FileManager.default.removeItem(atPath: request.out + "/" + entry)
                }
                throw failure
            }
            try write(outputs, pipeline, schema: loaded.schema, format: request.outFormat, to: request.out)
            report.outputs = outputs.count
        }
        if request.commit {
            let message = request.message ?? "augment \(report.reused ? "the" : String(report.outputs)) images (seed \(request.seed))"
            let repo = try repository()
            _ = try repo.add([request.out], labels: LabelImport(path: request.out + "/labels.jsonl", format: .jsonl, imagesRoot: request.out))
            if report.reused, try repo.status().isClean {
                report.alreadyCommitted = true
            } else {
                report.commit = try repo.commit(message: message, author: author).id.short()
            }
        }
        return report
    }

    /// Makes the output folder; returns true when it already holds this very augmentation, complete (lineage.jsonl
    /// is written last), as a run killed before its commit leaves it.
    static func prepare(_ dir: String, pipeline: Pipeline, seed: UInt64) throws -> Bool {
        let fm = FileManager.default
        if let existing = try? fm.contentsOfDirectory(atPath: dir), !existing.isEmpty {
            guard let lineage = fm.contents(atPath: dir + "/lineage.jsonl") else {
                throw AugmentError(.output, "\(dir): holds an incomplete augmentation (no lineage.jsonl, which is written last: an interrupted run?); remove the folder and rerun, or choose a new --out")
            }
            let samePipeline = fm.contents(atPath: dir + "/pipeline.yaml") == Data(pipeline.yaml().utf8)
            let first = String(decoding: lineage, as: UTF8.self).split(separator: "\n").first.flatMap { try? JSONDecoder().decode(Lineage.self, from: Data($0.utf8)) }
            guard samePipeline, first?.seed == seed else {
                throw AugmentError(.output, "\(dir): already holds the outputs of another augmentation (\(samePipeline ? "seed \(first?.seed ?? 0)" : "another pipeline")); choose a new --out")
            }
            return true
        }
        do { try fm.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
            throw AugmentError(.write, "\(dir): cannot create the folder: \(error.localizedDescription)")
        }
        return false
    }

    /// Images, labels (in `format`, and JSON Lines), the canonical pipeline, then lineage.jsonl — last, so its
    /// presence means the folder is complete.
    /// One output image, written whole (to a temporary name, then renamed).
    static func writeImage(_ output: Augmenter.Output, to dir: String) throws(AugmentError) {
        let path = dir + "/" + output.path
        do {
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data(output.bytes).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw AugmentError(.write, "\(path): cannot write: \(error.localizedDescription)")
        }
    }

    static func write(_ outputs: [Augmenter.Output], _ pipeline: Pipeline, schema: LabelSchema, format: LabelFormat, to dir: String) throws {
        for output in outputs where !output.bytes.isEmpty { try writeImage(output, to: dir) }
        let set = LabelSet(schema: schema, items: outputs.map { Item(path: $0.path, width: $0.width, height: $0.height) },
                           annotations: outputs.flatMap(\.annotations))
        try format.writeAtomically(set, to: dir + "/labels" + (format == .coco ? ".json" : format.isFolder ? "-" + format.rawValue : "." + format.rawValue))
        if format != .jsonl { try LabelFormat.jsonl.write(set, to: dir + "/labels.jsonl") }
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

    /// What a replay found.
    package struct Replayed: Codable, Sendable {
        package var output: String
        package var bytes: Int
        package var source: String
        package var itemSeed: UInt64
    }

    /// Makes one output again from its lineage (the nearest `lineage.jsonl` above it) and checks it is identical.
    /// The source comes from `repository` by content hash (labels at `revision`), else from `labels`.
    package static func replay(_ output: String, repository: Repository?, revision: String, labels: AugmentRequest.Source?, tool: String) throws -> Replayed {
        var dir = (output as NSString).deletingLastPathComponent
        while !FileManager.default.fileExists(atPath: dir + "/lineage.jsonl") {
            let parent = (dir as NSString).deletingLastPathComponent
            if parent == dir || dir.isEmpty { throw AugmentError(.notFound, "\(output): no lineage.jsonl above it") }
            dir = parent
        }
        let relative = String(output.dropFirst(dir.count + (dir.hasSuffix("/") ? 0 : 1)))
        let text = try InputFile.text(dir + "/lineage.jsonl")
        let records = try text.split(separator: "\n").map { try JSONDecoder().decode(Lineage.self, from: Data($0.utf8)) }
        guard let lineage = records.first(where: { $0.output == relative }) else { throw AugmentError(.notFound, "\(output): not in \(dir)/lineage.jsonl") }
        let pipeline = try Pipeline(contentsOf: dir + "/pipeline.yaml")
        let augmenter = Augmenter(pipeline: pipeline, seed: lineage.seed, copies: 1)
        var source: AugmentSource?
        if let hex = lineage.sourceHash, let hash = ContentHash(hex: hex), let repo = repository {
            let annotations = try repo.labels(at: revision).annotations.filter { $0.item == lineage.source }
            source = AugmentSource(path: lineage.source, contentHash: hex, bytes: Array(try repo.data(of: hash)), annotations: annotations)
        } else if case .labels(let path, let format, let root) = labels {
            source = try AugmentSources.load(labels: path, format: format, imagesRoot: root, paths: []).sources.first { $0.path == lineage.source }
        }
        guard let source else {
            throw AugmentError(.notFound, "\(output): its source \(lineage.source) is not in this repository; pass --labels/--format")
        }
        let bytes = try augmenter.replay(lineage, source: try source.loaded())
        let existing = FileManager.default.contents(atPath: output).map(Array.init) ?? []
        guard bytes == existing else {
            let maker = lineage.tool.map { $0 == tool ? "" : "; it was made by \($0), this is \(tool)" } ?? ""
            throw AugmentError(.replay, "\(output): replay gives different bytes (\(bytes.count) vs \(existing.count))\(maker)")
        }
        return Replayed(output: output, bytes: bytes.count, source: lineage.source, itemSeed: lineage.itemSeed)
    }
}

// MARK: - Shards

extension Augmentation {
    struct PartInfo: Codable {
        var sources: Int
        var seed: UInt64
        var pipelineHash: String
        var outFormat: String
        /// Each output's source position (in the unsharded source order) and its lineage, in order.
        var positions: [Int]
        var lineage: [Lineage]
        var skipped: [String]
        var skippedAt: [Int]
    }

    /// One shard of ``run(_:repository:author:progress:)``: the sources `shard` owns, augmented into `folder` (a
    /// fresh part folder): the images under their output paths, `labels.jsonl` (this shard's outputs), the
    /// canonical `pipeline.yaml` and `part.json` (lineage and places). Outputs depend on the seed and the source
    /// path only, so they are the unsharded run's bytes.
    package static func part(_ request: AugmentRequest, repository: () throws -> Repository, shard: Shard, into folder: String,
                             progress: @escaping @Sendable (_ done: Int, _ total: Int) -> Void = { _, _ in }) throws -> ShardOutput {
        let pipeline = try Pipeline(contentsOf: request.pipeline)
        let loaded = try sources(request, repository: repository, keep: shard.owns)
        if request.strict, let failure = loaded.failures.first { throw AugmentError(.input, failure) }
        let mine = loaded.sources.indices.filter { shard.owns(loaded.sources[$0].path) }
        let augmenter = Augmenter(pipeline: pipeline, seed: request.seed, copies: request.copies, tool: request.tool)
        let results = augmenter.run(mine.map { loaded.sources[$0] }, write: { try Self.writeImage($0, to: folder) }, progress: { progress($0, mine.count) })
        var outputs: [Augmenter.Output] = [], positions: [Int] = []
        var info = PartInfo(sources: mine.count, seed: request.seed, pipelineHash: augmenter.pipelineHash, outFormat: request.outFormat.rawValue,
                            positions: [], lineage: [], skipped: [], skippedAt: [])
        for failure in loaded.failures { info.skipped.append(failure); info.skippedAt.append(-1) }
        for (position, result) in zip(mine, results) {
            switch result {
            case .outputs(let list):
                outputs += list
                positions += Array(repeating: position, count: list.count)
            case .failed(let reason):
                if request.strict { throw AugmentError(.input, reason) }
                info.skipped.append("\(loaded.sources[position].path): \(reason)")
                info.skippedAt.append(position)
            }
        }
        (info.positions, info.lineage) = (positions, outputs.map(\.lineage))
        let set = LabelSet(schema: loaded.schema, items: outputs.map { Item(path: $0.path, width: $0.width, height: $0.height) }, annotations: outputs.flatMap(\.annotations))
        try LabelFormat.jsonl.write(set, to: folder + "/labels.jsonl")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return ShardOutput(items: mine.count, files: [
            "part.json": try encoder.encode(info),
            "labels.jsonl": try InputFile.read(folder + "/labels.jsonl"),
            "pipeline.yaml": Data(pipeline.yaml().utf8),
        ])
    }

    /// Joins an augmentation's parts into `out` (new or empty): each image linked (or copied) from its part, then
    /// the labels, pipeline.yaml and lineage.jsonl of every output in the unsharded order — the unsharded run's
    /// folder, byte for byte. A folder that already holds this augmentation is reused.
    package static func merge(_ parts: [ShardPart], into out: String) throws -> AugmentReport {
        let infos = try parts.map { try JSONDecoder().decode(PartInfo.self, from: try $0.data("part.json")) }
        let pipelineFile = parts[0].folder + "/pipeline.yaml"
        _ = try parts[0].data("pipeline.yaml")
        let pipeline = try Pipeline(contentsOf: pipelineFile)
        guard let format = LabelFormat(rawValue: infos[0].outFormat) else { throw AugmentError(.output, "\(parts[0].folder): unknown label format \(infos[0].outFormat)") }
        var report = AugmentReport(sources: infos.map(\.sources).reduce(0, +), outputs: 0, out: out, seed: infos[0].seed, pipelineHash: infos[0].pipelineHash)
        var skipped: [(Int, String)] = []
        for info in infos { skipped += zip(info.skippedAt, info.skipped).map { ($0, $1) } }
        report.skipped = skipped.sorted { ($0.0, $0.1) < ($1.0, $1.1) }.map(\.1)
        if try prepare(out, pipeline: pipeline, seed: report.seed) {
            report.reused = true
            return report
        }
        var outputs: [(position: Int, part: Int, output: Augmenter.Output)] = []
        for (p, part) in parts.enumerated() {
            _ = try part.data("labels.jsonl")
            let set = try LabelFormat.jsonl.read(from: part.folder + "/labels.jsonl", options: LabelReadOptions(imagesRoot: part.folder)).labelSet
            let byItem = set.annotationsByItem()
            let info = infos[p]
            guard set.items.count == info.lineage.count, info.positions.count == info.lineage.count else {
                throw AugmentError(.output, "\(part.folder): its labels and lineage disagree (\(set.items.count) vs \(info.lineage.count) outputs); run its shard again")
            }
            for (i, item) in set.items.enumerated() {
                outputs.append((info.positions[i], p, Augmenter.Output(path: item.path, bytes: [], width: item.width ?? 0, height: item.height ?? 0,
                                                                       annotations: byItem[item.path] ?? [], lineage: info.lineage[i])))
            }
        }
        // Sources keep their order; a source's copies keep theirs.
        outputs = outputs.enumerated().sorted { ($0.element.position, $0.offset) < ($1.element.position, $1.offset) }.map(\.element)
        let fm = FileManager.default
        do {
            for (_, p, output) in outputs {
                let target = out + "/" + output.path
                try fm.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                let source = parts[p].folder + "/" + output.path
                guard fm.fileExists(atPath: source) else { throw AugmentError(.output, "\(source): missing from its part; run its shard again") }
                do { try fm.linkItem(atPath: source, toPath: target) } catch { try fm.copyItem(atPath: source, toPath: target) }
            }
            try write(outputs.map(\.output), pipeline, schema: try LabelFormat.jsonl.read(from: parts[0].folder + "/labels.jsonl", options: LabelReadOptions(imagesRoot: parts[0].folder)).labelSet.schema,
                      format: format, to: out)
        } catch {
            for entry in (try? fm.contentsOfDirectory(atPath: out)) ?? [] { try? fm.removeItem(atPath: out + "/" + entry) }
            if let error = error as? any CurateError { throw error }
            throw AugmentError(.write, "\(out): cannot write the merged outputs: \(error.localizedDescription)")
        }
        report.outputs = outputs.count
        return report
    }

    /// The sources of a run (only reading the bytes of those `keep` accepts, for a shard).
    static func sources(_ request: AugmentRequest, repository: () throws -> Repository, keep: @escaping (String) -> Bool = { _ in true }) throws -> AugmentSources.Loaded {
        switch request.source {
        case .repository(let revision): return try AugmentSources.load(repository: try repository(), revision: revision, paths: request.paths, keep: keep)
        case .labels(let path, let format, let root): return try AugmentSources.load(labels: path, format: format, imagesRoot: root, paths: request.paths)
        }
    }
}
