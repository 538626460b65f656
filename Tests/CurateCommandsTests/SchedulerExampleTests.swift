import CurateTestSupport
import Foundation
import Synchronization
import Testing
import Yams

/// The scheduler examples, run as far as this machine allows: the very command lines of examples/kubernetes (an
/// Indexed Job's container command and environment, JOB_COMPLETION_INDEX per pod) and examples/slurm (the sbatch
/// scripts under bash, SLURM_ARRAY_* per task), every shard in its own process at once, then the merge — whose
/// result must be the unsharded run's.
@Suite(.serialized) struct SchedulerExampleTests {
    /// A workspace as the examples expect it: the repository's datasets, examples and workflows, and no out/.
    static func workspace() throws -> ScratchDirectory {
        let scratch = ScratchDirectory()
        for folder in ["datasets", "examples", "workflows"] {
            try FileManager.default.createSymbolicLink(atPath: scratch.path + "/" + folder, withDestinationPath: TestFixtures.repoPath(folder))
        }
        return scratch
    }

    struct Container { var command: [String]; var environment: [String: String]; var workingDir: String? }

    /// The Job of a manifest: its completions (nil unless Indexed) and its container.
    static func job(_ file: String) throws -> (completions: Int?, container: Container) {
        let yaml = try #require(try Yams.load(yaml: String(contentsOfFile: TestFixtures.repoPath("examples/kubernetes/" + file), encoding: .utf8)) as? [String: Any])
        #expect(yaml["kind"] as? String == "Job")
        let spec = try #require(yaml["spec"] as? [String: Any])
        let pod = try #require((spec["template"] as? [String: Any])?["spec"] as? [String: Any])
        let container = try #require((pod["containers"] as? [[String: Any]])?.first)
        let env = ((container["env"] as? [[String: Any]]) ?? []).reduce(into: [String: String]()) { $0[$1["name"] as! String] = $1["value"] as? String }
        let indexed = spec["completionMode"] as? String == "Indexed"
        return (indexed ? spec["completions"] as? Int : nil, Container(command: container["command"] as! [String], environment: env, workingDir: container["workingDir"] as? String))
    }

    /// Runs a container's command as the pod would (curate from the build, in the workspace).
    static func run(_ container: Container, in directory: String, environment: [String: String] = [:]) throws -> CLIResult {
        #expect(container.command.first == "curate")
        #expect(container.workingDir == "/workspace")
        return try CLI.run(Array(container.command.dropFirst()), in: directory, environment: container.environment.merging(environment) { $1 })
    }

    static func parallel(_ count: Int, _ body: @Sendable @escaping (Int) throws -> CLIResult) -> [CLIResult?] {
        let results = Mutex([CLIResult?](repeating: nil, count: count))
        DispatchQueue.concurrentPerform(iterations: count) { i in
            let result = try? body(i)
            results.withLock { $0[i] = result }
        }
        return results.withLock { $0 }
    }

    @Test func kubernetesIssuesJobAndMerge() throws {
        let scratch = try Self.workspace()
        let (completions, shard) = try Self.job("issues-job.yaml")
        let n = try #require(completions)
        #expect(n == 4 && shard.environment["CURATE_SHARDS"] == "4")
        for (i, result) in Self.parallel(n, { i in try Self.run(shard, in: scratch.path, environment: ["JOB_COMPLETION_INDEX": "\(i)"]) }).enumerated() {
            #expect(result?.exitCode == 0, "pod \(i): \(result?.stderr ?? "")")
        }
        let merge = try Self.job("issues-merge-job.yaml").container
        let merged = try Self.run(merge, in: scratch.path)
        #expect(merged.exitCode == 0, "\(merged.stderr)")
        // The same command unsharded.
        let command = Array(shard.command.dropFirst().prefix { $0 != "--parts" })
        let whole = try CLI.run(command + ["--json"], in: scratch.path)
        #expect(whole.stdout.contains("\"flagged\":178"))
        #expect(try String(contentsOfFile: scratch.path + "/out/issues.json", encoding: .utf8) == whole.stdout)
    }

    @Test func kubernetesAugmentJobAndMerge() throws {
        let scratch = try Self.workspace()
        let (completions, shard) = try Self.job("augment-job.yaml")
        let n = try #require(completions)
        for (i, result) in Self.parallel(n, { i in try Self.run(shard, in: scratch.path, environment: ["JOB_COMPLETION_INDEX": "\(i)"]) }).enumerated() {
            #expect(result?.exitCode == 0, "pod \(i): \(result?.stderr ?? "")")
        }
        #expect(try Self.run(try Self.job("augment-merge-job.yaml").container, in: scratch.path).exitCode == 0)
        let command = Array(shard.command.dropFirst().prefix { $0 != "--parts" })
        #expect(try CLI.run(command + ["--out", "whole"], in: scratch.path).exitCode == 0)
        try Self.expectSameFolders(scratch.path + "/whole", scratch.path + "/out/augmented")
    }

    static func expectSameFolders(_ a: String, _ b: String) throws {
        let fm = FileManager.default
        let files = try fm.subpathsOfDirectory(atPath: a).sorted()
        #expect(files.contains("lineage.jsonl") && files.count > 20)
        #expect(try fm.subpathsOfDirectory(atPath: b).sorted() == files)
        for file in files { #expect(fm.contents(atPath: a + "/" + file) == fm.contents(atPath: b + "/" + file), "\(file)") }
    }

    /// Runs an sbatch script under bash as a Slurm task would, with curate on PATH.
    static func sbatch(_ script: String, in directory: String, environment: [String: String] = [:]) throws -> CLIResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [TestFixtures.repoPath("examples/slurm/" + script)]
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        var env = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        env["PATH"] = (CLI.executable as NSString).deletingLastPathComponent + ":" + (env["PATH"] ?? "/usr/bin:/bin")
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile(), stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return CLIResult(exitCode: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self))
    }

    /// The array's range from its #SBATCH --array=LOW-HIGH line.
    static func array(_ script: String) throws -> ClosedRange<Int> {
        let text = try String(contentsOfFile: TestFixtures.repoPath("examples/slurm/" + script), encoding: .utf8)
        let line = try #require(text.split(separator: "\n").first { $0.hasPrefix("#SBATCH --array=") })
        let bounds = line.dropFirst("#SBATCH --array=".count).split(separator: "-").compactMap { Int($0) }
        return bounds[0]...bounds[1]
    }

    @Test(arguments: ["issues", "augment"])
    func slurmArrayAndDependentMerge(verb: String) throws {
        let scratch = try Self.workspace()
        let range = try Self.array(verb + ".sbatch")
        let results = Self.parallel(range.count) { i in
            try Self.sbatch(verb + ".sbatch", in: scratch.path, environment: [
                "SLURM_ARRAY_TASK_ID": "\(range.lowerBound + i)", "SLURM_ARRAY_TASK_MIN": "\(range.lowerBound)",
                "SLURM_ARRAY_TASK_MAX": "\(range.upperBound)", "SLURM_ARRAY_TASK_COUNT": "\(range.count)", "SLURM_ARRAY_JOB_ID": "42"])
        }
        for (i, result) in results.enumerated() {
            #expect(result?.exitCode == 0, "task \(i): \(result?.stderr ?? "")")
            #expect(result?.stdout.hasPrefix("shard \(i) of \(range.count): ") == true)
        }
        let merged = try Self.sbatch("merge-\(verb).sbatch", in: scratch.path)
        #expect(merged.exitCode == 0, "\(merged.stderr)")
        if verb == "issues" {
            let whole = try CLI.run(["issues", "--predictions", "examples/digits/probs.npy", "--ids", "examples/digits/ids.txt", "--labels", "examples/digits/noisy-labels.csv",
                                     "--format", "csv", "--images", "datasets/digits", "--json"], in: scratch.path)
            #expect(try String(contentsOfFile: scratch.path + "/out/issues.json", encoding: .utf8) == whole.stdout)
        } else {
            #expect(try CLI.run(["augment", "--pipeline", "workflows/augment-photos.yaml", "--labels", "datasets/photos/labels.coco.json", "--format", "coco",
                                 "--copies", "2", "--seed", "7", "--out", "whole"], in: scratch.path).exitCode == 0)
            try Self.expectSameFolders(scratch.path + "/whole", scratch.path + "/out/augmented")
        }
    }
}
