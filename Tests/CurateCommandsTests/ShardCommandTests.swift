import CurateCore
import CurateTestSupport
import Foundation
import Synchronization
import Testing

/// Sharded runs as a scheduler starts them: N processes at once, each told its shard by `--shard`, a Kubernetes
/// Indexed Job's variables or a Slurm array's, then `curate merge` — compared with the unsharded run.
@Suite(.serialized) struct ShardCommandTests {
    static let digits = TestFixtures.repoPath("examples/digits")
    static let images = ["--images", TestFixtures.repoPath("datasets/digits")]

    /// How shard `i` of `n` learns who it is: each count uses another scheduler's convention.
    static func environment(_ i: Int, of n: Int) -> (arguments: [String], environment: [String: String]) {
        switch n {
        case 3: return ([], ["JOB_COMPLETION_INDEX": "\(i)", "CURATE_SHARDS": "3"])
        case 7: return ([], ["SLURM_ARRAY_TASK_ID": "\(i + 1)", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_MAX": "7", "SLURM_ARRAY_TASK_COUNT": "7"])
        case 4: return (["--shards", "4"], ["JOB_COMPLETION_INDEX": "\(i)"])
        default: return (["--shard", "\(i)/\(n)"], [:])
        }
    }

    /// Runs the N shards of `arguments` in parallel processes into `parts`, then merges them.
    static func sharded(_ arguments: [String], shards n: Int, parts: String, in directory: String, merge: [String] = ["--json"]) throws -> CLIResult {
        let results = Mutex([CLIResult?](repeating: nil, count: n))
        DispatchQueue.concurrentPerform(iterations: n) { i in
            let (extra, environment) = environment(i, of: n)
            let result = try? CLI.run(arguments + ["--parts", parts] + extra, in: directory, environment: environment)
            results.withLock { $0[i] = result }
        }
        for (i, result) in results.withLock({ $0 }).enumerated() {
            #expect(result?.exitCode == 0, "shard \(i) of \(n): \(result?.stderr ?? "did not run")")
            #expect(result?.stdout.hasPrefix("shard \(i) of \(n): ") == true)
        }
        return try CLI.run(["merge", parts] + merge, in: directory)
    }

    static func pool(_ scratch: ScratchDirectory) throws {
        // 300 labeled digits, the rest listed without a label.
        let rows = try String(contentsOfFile: TestFixtures.repoPath("datasets/digits/labels.csv"), encoding: .utf8).split(separator: "\n")
        scratch.write("pool.csv", (rows.prefix(301) + rows.dropFirst(301).map { $0.split(separator: ",")[0] + "," }).joined(separator: "\n") + "\n")
    }

    @Test(arguments: [1, 2, 3, 7])
    func issuesMergeToTheUnshardedReport(shards: Int) throws {
        let scratch = ScratchDirectory()
        let arguments = ["issues", "--predictions", Self.digits + "/probs.npy", "--ids", Self.digits + "/ids.txt", "--labels", Self.digits + "/noisy-labels.csv",
                         "--format", "csv"] + Self.images
        let whole = try CLI.run(arguments + ["--json"], in: scratch.path)
        #expect(whole.exitCode == 0, "\(whole.stderr)")
        let merged = try Self.sharded(arguments, shards: shards, parts: "parts", in: scratch.path)
        #expect(merged.exitCode == 0, "\(merged.stderr)")
        #expect(merged.stdout == whole.stdout)
        #expect(whole.stdout.contains("\"flagged\":178"))
        // The text report and gates work on the merge as on the verb.
        let gated = try CLI.run(["merge", "parts", "--fail-on", "issues>5%"], in: scratch.path)
        #expect(gated.exitCode == 65)
        #expect(gated.stdout.hasPrefix("178 likely label errors in 1797 items (9.9%)"))
    }

    @Test(arguments: ["margin", "entropy", "class-balanced", "cluster-margin", "random"])
    func selectMergesExactly(strategy: String) throws {
        let scratch = ScratchDirectory()
        try Self.pool(scratch)
        let arguments = ["select", "--labels", "pool.csv", "--format", "csv", "--predictions", Self.digits + "/probs.npy", "--ids", Self.digits + "/ids.txt",
                         "--embeddings", Self.digits + "/emb.npy", "--embedding-ids", Self.digits + "/ids.txt", "--strategy", strategy, "--budget", "25", "--seed", "3"] + Self.images
        let whole = try CLI.run(arguments + ["--json"], in: scratch.path)
        #expect(whole.exitCode == 0, "\(whole.stderr)")
        #expect(whole.stdout.components(separatedBy: "\"item\"").count == 26)
        for n in [2, 3, 7] {
            let merged = try Self.sharded(arguments, shards: n, parts: "parts-\(n)", in: scratch.path)
            #expect(merged.stdout == whole.stdout, "\(strategy), \(n) shards: \(merged.stderr)")
        }
    }

    /// With predictions and a strategy that reads no embeddings, each shard reads only its own rows of the CSV.
    @Test(arguments: ["margin", "class-balanced", "random"])
    func selectFromPredictionsAloneMergesExactly(strategy: String) throws {
        let scratch = ScratchDirectory()
        try Self.pool(scratch)
        let arguments = ["select", "--labels", "pool.csv", "--format", "csv", "--predictions", Self.digits + "/probs.npy", "--ids", Self.digits + "/ids.txt",
                         "--strategy", strategy, "--budget", "25", "--seed", "3"] + Self.images
        let whole = try CLI.run(arguments + ["--json"], in: scratch.path)
        #expect(whole.exitCode == 0, "\(whole.stderr)")
        let merged = try Self.sharded(arguments, shards: 3, parts: "parts", in: scratch.path)
        #expect(merged.stdout == whole.stdout, "\(strategy): \(merged.stderr)")
    }

    /// A shard reading a CSV skips the other shards' rows unchecked: a row naming a missing image stops the shard
    /// that owns it (and so the merge), as it stops the unsharded run, and no other.
    @Test func issuesShardsCheckOnlyTheirOwnRows() throws {
        let scratch = ScratchDirectory()
        let labels = try String(contentsOfFile: Self.digits + "/noisy-labels.csv", encoding: .utf8)
        scratch.write("labels.csv", labels + "missing/0.png,3\n")
        let arguments = ["issues", "--predictions", Self.digits + "/probs.npy", "--ids", Self.digits + "/ids.txt", "--labels", "labels.csv",
                         "--format", "csv"] + Self.images
        let whole = try CLI.run(arguments, in: scratch.path)
        #expect(whole.exitCode == 65 && whole.stderr.contains("missing image 'missing/0.png'"), "\(whole.stderr)")
        let owner = Shard.bucket("missing/0.png", count: 3)
        for i in 0..<3 {
            let part = try CLI.run(arguments + ["--parts", "parts", "--shard", "\(i)/3"], in: scratch.path)
            #expect(part.exitCode == (i == owner ? 65 : 0), "shard \(i): \(part.stderr)")
        }
        let merged = try CLI.run(["merge", "parts"], in: scratch.path)
        #expect(merged.exitCode == 66 && merged.stderr.contains("shard \(owner) of 3 missing"), "\(merged.stderr)")
    }

    /// The built-in learner: every shard trains the same model on every labeled item, and decodes only those
    /// and its own unlabeled images.
    @Test func selectWithTheBuiltInLearnerMergesExactly() throws {
        let scratch = ScratchDirectory()
        try Self.pool(scratch)
        let arguments = ["select", "--labels", "pool.csv", "--format", "csv", "--strategy", "margin", "--budget", "10"] + Self.images
        let whole = try CLI.run(arguments, in: scratch.path)
        #expect(whole.stdout.hasPrefix("10 of 1497 unlabeled items by margin (built-in learner trained on 300 labeled items)"))
        let merged = try Self.sharded(arguments, shards: 4, parts: "parts", in: scratch.path, merge: [])
        #expect(merged.stdout == whole.stdout)
    }

    /// k-center re-chooses among the shards' picks: said in the report, and a one-shard merge is exact.
    @Test func approximateStrategiesSaySo() throws {
        let scratch = ScratchDirectory()
        try Self.pool(scratch)
        let arguments = ["select", "--labels", "pool.csv", "--format", "csv", "--embeddings", Self.digits + "/emb.npy", "--embedding-ids", Self.digits + "/ids.txt",
                         "--predictions", Self.digits + "/probs.npy", "--ids", Self.digits + "/ids.txt", "--strategy", "badge", "--budget", "20"] + Self.images
        let whole = try CLI.run(arguments, in: scratch.path)
        #expect(try Self.sharded(arguments, shards: 1, parts: "one", in: scratch.path, merge: []).stdout == whole.stdout)
        let merged = try Self.sharded(arguments, shards: 3, parts: "three", in: scratch.path, merge: [])
        #expect(merged.stdout.hasPrefix("20 of 1497 unlabeled items by badge (merged from 3 shards: badge re-chose among each shard's 20 picks, an approximation)"))
    }

    @Test func mergeRefusesPartsOfAnotherRun() throws {
        let scratch = ScratchDirectory()
        let arguments = ["issues", "--predictions", Self.digits + "/probs.npy", "--ids", Self.digits + "/ids.txt", "--labels", Self.digits + "/noisy-labels.csv",
                         "--format", "csv"] + Self.images
        for i in 0..<3 { #expect(try CLI.run(arguments + ["--parts", "parts", "--shard", "\(i)/3"], in: scratch.path).exitCode == 0) }
        // Other parameters, other inputs, a missing shard, a shard run twice.
        #expect(try CLI.run(arguments + ["--parts", "other", "--shard", "1/3", "--filter", "both"], in: scratch.path).exitCode == 0)
        var r = try CLI.run(["merge", "parts/shard-0-of-3", "other/shard-1-of-3", "parts/shard-2-of-3"], in: scratch.path)
        #expect(r.exitCode == 65)
        #expect(r.stderr.hasPrefix("error: other/shard-1-of-3: was made with other parameters (digest "))
        #expect(r.stderr.hasSuffix(") than parts/shard-0-of-3; merge the parts of one run\n"))
        scratch.write("labels.csv", try String(contentsOfFile: Self.digits + "/noisy-labels.csv", encoding: .utf8).replacingOccurrences(of: "images/0/0000.png,0", with: "images/0/0000.png,1"))
        var changed = arguments
        changed[changed.firstIndex(of: Self.digits + "/noisy-labels.csv")!] = "labels.csv"
        #expect(try CLI.run(changed + ["--parts", "changed", "--shard", "1/3"], in: scratch.path).exitCode == 0)
        r = try CLI.run(["merge", "parts/shard-0-of-3", "changed/shard-1-of-3", "parts/shard-2-of-3"], in: scratch.path)
        #expect(r.exitCode == 65)
        #expect(r.stderr.contains("changed/shard-1-of-3: was made from other inputs"))
        try FileManager.default.createDirectory(atPath: scratch.path + "/again", withIntermediateDirectories: false)
        try FileManager.default.copyItem(atPath: scratch.path + "/parts/shard-1-of-3", toPath: scratch.path + "/again/shard-1-of-3")
        r = try CLI.run(["merge", "parts", "again"], in: scratch.path)
        #expect(r.exitCode == 65)
        #expect(r.stderr == "error: shard 1 of 3 appears twice: parts/shard-1-of-3 and again/shard-1-of-3; keep one\n")
        try FileManager.default.removeItem(atPath: scratch.path + "/parts/shard-2-of-3")
        r = try CLI.run(["merge", "parts"], in: scratch.path)
        #expect(r.exitCode == 66)
        #expect(r.stderr == "error: parts: shard 2 of 3 missing (2 of 3 parts found); run it and merge again\n")
        // Sharding flags without --parts, and a scheduler index without the count.
        r = try CLI.run(arguments + ["--shard", "0/2"], in: scratch.path)
        #expect(r.exitCode == 64)
        #expect(r.stderr.contains("--shard and --shards need --parts DIR"))
        r = try CLI.run(arguments + ["--parts", "k8s"], in: scratch.path, environment: ["JOB_COMPLETION_INDEX": "1"])
        #expect(r.exitCode == 64)
        #expect(r.stderr == "error: JOB_COMPLETION_INDEX=1 is set, but not the shard count: pass --shards N or set CURATE_SHARDS (Kubernetes does not export the Job's completions)\n")
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/k8s"))
    }
}

/// validate, triage, inspect and augment: sharded as a scheduler would run them, merged, compared.
@Suite(.serialized) struct ShardedImageVerbTests {
    /// 400 digits plus a byte-identical copy labeled otherwise and a truncated PNG.
    static func dataset(_ scratch: ScratchDirectory) throws {
        try FileManager.default.copyItem(atPath: TestFixtures.repoPath("datasets/digits/images"), toPath: scratch.path + "/images")
        let rows = try String(contentsOfFile: TestFixtures.repoPath("datasets/digits/labels.csv"), encoding: .utf8).split(separator: "\n").prefix(401)
        try FileManager.default.copyItem(atPath: scratch.path + "/images/0/0000.png", toPath: scratch.path + "/images/0/dup.png")
        let png = try Data(contentsOf: URL(fileURLWithPath: scratch.path + "/images/1/0001.png"))
        try png.prefix(100).write(to: URL(fileURLWithPath: scratch.path + "/images/1/bad.png"))
        scratch.write("labels.csv", rows.joined(separator: "\n") + "\nimages/0/dup.png,3\nimages/1/bad.png,1\n")
    }

    @Test(arguments: [1, 2, 3, 7])
    func validateMergesToTheUnshardedReport(shards: Int) throws {
        let scratch = ScratchDirectory()
        try Self.dataset(scratch)
        let arguments = ["validate", "--labels", "labels.csv", "--format", "csv", "--decode", "--duplicates", "--near-distance", "6"]
        let whole = try CLI.run(arguments + ["--json"], in: scratch.path)
        #expect(whole.exitCode == 0, "\(whole.stderr)")
        for kind in ["undecodable", "exact duplicate", "near duplicate", "conflicting duplicate"] { #expect(whole.stdout.contains("\"kind\":\"\(kind)\"")) }
        let merged = try ShardCommandTests.sharded(arguments, shards: shards, parts: "parts", in: scratch.path, merge: []) // shards only
        #expect(merged.exitCode == 64)
        #expect(merged.stderr.contains("validate's parts are joined by the verb"))
        let joined = try CLI.run(arguments + ["--merge", "parts", "--json"], in: scratch.path)
        #expect(joined.exitCode == 0, "\(joined.stderr)")
        #expect(joined.stdout == whole.stdout)
        // The merge checks the parts were made from its inputs and options.
        let other = try CLI.run(["validate", "--labels", "labels.csv", "--format", "csv", "--decode", "--merge", "parts"], in: scratch.path)
        #expect(other.exitCode == 65)
        #expect(other.stderr.contains("was made with other parameters than this command's"))
    }

    @Test func triageMergesToTheUnshardedReport() throws {
        let scratch = ScratchDirectory()
        try Self.dataset(scratch)
        let arguments = ["triage", "--labels", "labels.csv", "--format", "csv", "--seed", "2"]
        let whole = try CLI.run(arguments + ["--json"], in: scratch.path)
        #expect(whole.exitCode == 0, "\(whole.stderr)")
        #expect(whole.stderr == "warning: skipped images/1/bad.png: cannot decode\n")
        _ = try ShardCommandTests.sharded(arguments, shards: 3, parts: "parts", in: scratch.path)
        let joined = try CLI.run(arguments + ["--merge", "parts", "--json"], in: scratch.path)
        #expect(joined.stdout == whole.stdout)
        #expect(joined.stderr == whole.stderr)
        #expect(whole.stdout.contains("{\"item\":\"images/0/dup.png\",\"of\":\"images/0/0000.png\"}"))
    }

    @Test func inspectMergesInTheUnshardedOrder() throws {
        let scratch = ScratchDirectory()
        try Self.dataset(scratch)
        let arguments = ["inspect", TestFixtures.repoPath("datasets/photos/images"), "images/1/bad.png", "--json"]
        let whole = try CLI.run(arguments, in: scratch.path)
        #expect(whole.exitCode == 65)
        let merged = try ShardCommandTests.sharded(Array(arguments.dropLast()), shards: 3, parts: "parts", in: scratch.path)
        #expect(merged.exitCode == 65)
        func withoutTimes(_ text: String) -> String { text.replacingOccurrences(of: #""decodeMilliseconds" : [0-9.e-]+"#, with: "", options: .regularExpression) }
        #expect(withoutTimes(merged.stdout) == withoutTimes(whole.stdout))
        #expect(whole.stdout.contains("truncated PNG"))
    }

    @Test(arguments: [1, 2, 3, 7])
    func augmentMergesToTheUnshardedFolder(shards: Int) throws {
        let scratch = ScratchDirectory()
        let arguments = ["augment", "--pipeline", TestFixtures.repoPath("workflows/augment-photos.yaml"), "--labels", TestFixtures.repoPath("datasets/photos/labels.coco.json"),
                         "--format", "coco", "--copies", "2", "--seed", "7", "--out-format", "coco"]
        #expect(try CLI.run(arguments + ["--out", "whole"], in: scratch.path).exitCode == 0)
        let merged = try ShardCommandTests.sharded(arguments, shards: shards, parts: "parts", in: scratch.path, merge: ["--out", "merged"])
        #expect(merged.exitCode == 0, "\(merged.stderr)")
        #expect(merged.stdout.hasPrefix("augmented 14 images into 28 outputs in merged (seed 7, pipeline "))
        let fm = FileManager.default
        let files = try fm.subpathsOfDirectory(atPath: scratch.path + "/whole").sorted()
        #expect(try fm.subpathsOfDirectory(atPath: scratch.path + "/merged").sorted() == files)
        #expect(files.filter { $0.hasSuffix(".jpg") || $0.hasSuffix(".png") }.count == 28)
        for file in files {
            var isFolder: ObjCBool = false
            guard fm.fileExists(atPath: scratch.path + "/whole/" + file, isDirectory: &isFolder), !isFolder.boolValue else { continue }
            #expect(fm.contents(atPath: scratch.path + "/whole/" + file) == fm.contents(atPath: scratch.path + "/merged/" + file), "\(file)")
        }
        // Merging again into the finished folder reuses it; a shard with --out or --commit is refused.
        #expect(try CLI.run(["merge", "parts", "--out", "merged"], in: scratch.path).stdout.contains("already holds this augmentation"))
        let refused = try CLI.run(arguments + ["--parts", "p", "--shard", "0/2", "--out", "x"], in: scratch.path)
        #expect(refused.exitCode == 64)
        #expect(refused.stderr.contains("give --out to curate merge"))
        #expect(try CLI.run(["merge", "parts"], in: scratch.path).stderr.contains("curate merge parts --out DIR"))
    }
}
