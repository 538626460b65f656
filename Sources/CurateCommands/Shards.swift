import ArgumentParser
import CurateAugment
import CurateCore
import CurateImaging
import CurateQuality
import CurateSelection
import Foundation

/// `--shard I/N`, `--shards N` and `--parts DIR`: one shard of a batch verb, for Kubernetes Indexed Jobs, Slurm
/// job arrays or any scheduler that starts N copies of a command (see docs/sharding.md).
struct ShardOptions: ParsableArguments {
    @Option(help: "Run shard I of N (0-based) and write its part into --parts. Default, with --parts: the scheduler's index (JOB_COMPLETION_INDEX, or SLURM_ARRAY_TASK_ID − SLURM_ARRAY_TASK_MIN of SLURM_ARRAY_TASK_COUNT).")
    var shard: String?

    @Option(help: "The shard count with JOB_COMPLETION_INDEX (a Kubernetes Indexed Job's completions; default: CURATE_SHARDS).")
    var shards: Int?

    @Option(help: "Write this shard's part into this folder (as shard-I-of-N/); join the parts with curate merge.")
    var parts: String?

    /// The shard this run is, or nil for an unsharded run (no --parts).
    func resolve() throws -> Shard? {
        guard parts != nil else {
            if shard != nil || shards != nil { throw ValidationError("--shard and --shards need --parts DIR, the folder the shard writes its part into") }
            return nil
        }
        return try Shard.resolve(flag: shard, shards: shards, environment: ProcessInfo.processInfo.environment)
    }

    /// Writes the part with its manifest and says where it went.
    func write(_ output: ShardOutput, verb: String, shard: Shard, inputs: ShardDigest, parameters: [(String, String)], mergedByVerb: Bool = false) throws {
        try write(verb: verb, shard: shard, inputs: inputs, parameters: parameters, mergedByVerb: mergedByVerb) { _ in output }
    }

    /// Writes the part that `fill` makes in a fresh folder (files it writes there itself stay), with its manifest.
    func write(verb: String, shard: Shard, inputs: ShardDigest, parameters: [(String, String)], mergedByVerb: Bool = false,
               fill: (_ folder: String) throws -> ShardOutput) throws {
        let manifest = ShardManifest(verb: verb, shard: shard, inputs: inputs.hex, parameters: Self.digest(parameters), tool: "curate \(Curate.version)")
        var items = 0
        let folder = try ShardParts.write(manifest, to: parts!) { folder in
            let output = try fill(folder)
            items = output.items
            return output
        }
        let join = mergedByVerb ? "this command with --merge \(parts!) instead of --parts" : "curate merge \(parts!)"
        Console.out("\(shard): \(items) items → \(folder) (join the \(shard.count) parts with: \(join))")
    }
}

extension ShardOptions {
    static func digest(_ parameters: [(String, String)]) -> String {
        var digest = ShardDigest()
        for (name, value) in parameters { digest.add(name, value) }
        return digest.hex
    }

    /// The parts in `folders`, checked to be one complete run of `verb` made from these very inputs and
    /// parameters by this tool (for a verb's --merge, which reads the inputs again).
    static func collect(_ folders: [String], verb: String, inputs: ShardDigest, parameters: [(String, String)]) throws -> [ShardPart] {
        let parts = try ShardParts.collect(folders)
        let m = parts[0].manifest
        let folder = parts[0].folder
        if m.verb != verb { throw ShardError("\(folder): is a part of curate \(m.verb), not \(verb)") }
        if m.inputs != inputs.hex { throw ShardError("\(folder): was made from other inputs than this command names (digest \(m.inputs.prefix(12)) vs \(inputs.hex.prefix(12))); give the shards' own inputs") }
        if m.parameters != digest(parameters) { throw ShardError("\(folder): was made with other parameters than this command's; give the shards' own options") }
        if m.tool != "curate \(Curate.version)" { throw ShardError("\(folder): was made by \(m.tool), this is curate \(Curate.version); run the shards again with this version") }
        return parts
    }
}

extension LabelSourceOptions {
    /// Adds what the labels are to a shard's input digest: the label file's contents, or the revision's commit.
    func digest(into digest: inout ShardDigest) throws {
        if let labels {
            digest.add("format", try labelFormat(format, of: labels).rawValue)
            try digest.add(file: labels)
        } else {
            digest.add("commit", try repository.open().resolve(rev ?? "HEAD").hex)
        }
    }
}

extension LabelSourceOptions {
    /// Adds the images a label file's items name — each path and size, not the contents (every shard would read
    /// every image) — to a shard's input digest. A revision's commit already covers its images.
    func digestImages(of set: LabelSet, into digest: inout ShardDigest) {
        guard let labels else { return }
        let root = images ?? LabelReadOptions.defaultRoot(forLabelFile: labels)
        for item in set.items { digest.add(name: item.path, sizeOf: root + "/" + item.path) }
    }
}

extension ShardDigest {
    /// Adds an optional input file.
    mutating func add(optionalFile path: String?) throws {
        if let path { try add(file: path) } else { add("file", "none") }
    }
}

extension Curate {
    struct Merge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Join the parts of a sharded run into what the unsharded run gives.",
            discussion: """
                A batch verb run with --parts DIR (and --shard I/N, or a scheduler's index) writes its part into \
                DIR/shard-I-of-N/ with a manifest: the verb, the shard, the count, digests of the inputs and \
                parameters, and the tool. curate merge checks the parts are one complete run — the same verb, \
                count, inputs, parameters and tool, every shard exactly once, each file matching its digest — and \
                refuses a missing, duplicated or mismatched shard by name. The result is exactly the unsharded \
                run's (docs/sharding.md says how each verb merges).

                Examples:
                  curate merge parts
                  curate merge parts --json --out issues.json
                """)

        @Argument(help: "Folders of parts (a --parts folder, or single shard-I-of-N folders).")
        var folders: [String]

        @Option(help: "Rows to show in the table (all are in --json).")
        var top: Int = 20

        @Flag(help: "Print the merged report as JSON.")
        var json = false

        @Option(help: "Also write the result to this file, as the verb's --out does (issues: the report as JSON; select: the batch as JSON Lines; augment: the output folder, new or empty).")
        var out: String?

        @Option(help: "Exit 65 when a condition holds, e.g. \"issues>5%\".")
        var failOn: String?

        func validate() throws {
            guard !folders.isEmpty else { throw ValidationError("name the folder of parts, e.g. curate merge parts") }
        }

        func run() async throws {
            try await reportingErrors {
                let gates = try gates(failOn)
                let parts = try ShardParts.collect(folders)
                let verb = parts[0].manifest.verb
                switch verb {
                case "issues":
                    let report = try IssuesReport.merge(parts)
                    if let out { try writeOutput(try report.compactJSON() + "\n", to: out) }
                    if json { Console.out(try report.compactJSON()) } else { report.lines(top: top).forEach { Console.out($0) } }
                    report.warnings.forEach { Console.warning($0) }
                    try checkGates(gates, report.metrics)
                case "select":
                    let report = try ActiveLearning.mergeSelect(parts)
                    try Select.print(report, out: out, json: json)
                case "augment":
                    guard let out else { throw CommandFailure(message: "augment's parts are joined into a folder: curate merge \(folders.joined(separator: " ")) --out DIR", kind: .usage) }
                    Augment.print(try Augmentation.merge(parts, into: out))
                case "inspect":
                    try Inspect.print(try ImageInspection.merge(parts), json: json)
                case "validate", "triage":
                    throw CommandFailure(message: "\(parts[0].folder): \(verb)'s parts are joined by the verb, which reads the labels again: curate \(verb) … --merge \(folders.joined(separator: " ")) (with the shards' options)", kind: .usage)
                default:
                    throw CommandFailure(message: "\(parts[0].folder): parts of curate \(verb) cannot be merged by this version", kind: .usage)
                }
            }
        }
    }
}
