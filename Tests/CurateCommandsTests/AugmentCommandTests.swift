import CurateTestSupport
import Foundation
import Testing

@Suite struct AugmentCommandTests {
    @Test func augmentsReplaysAndCommitsWithLineage() throws {
        let scratch = ScratchDirectory()
        try FileManager.default.copyItem(atPath: TestFixtures.repoPath("datasets/photos/images"), toPath: scratch.path + "/images")
        try FileManager.default.copyItem(atPath: TestFixtures.repoPath("datasets/photos/labels.coco.json"), toPath: scratch.path + "/labels.coco.json")
        #expect(try CLI.run(["init"], in: scratch.path).exitCode == 0)
        #expect(try CLI.run(["add", "images", "--labels", "labels.coco.json", "--format", "coco"], in: scratch.path).exitCode == 0)
        #expect(try CLI.run(["commit", "-m", "photos", "--author", "t"], in: scratch.path).exitCode == 0)
        let pipeline = TestFixtures.repoPath("workflows/augment-photos.yaml")
        let run = try CLI.run(["augment", "--pipeline", pipeline, "--copies", "2", "--seed", "7", "--out", "augmented", "--paths", "images/c*",
                               "--commit", "-m", "augmented"], in: scratch.path)
        #expect(run.exitCode == 0, "\(run.stderr)")
        #expect(run.stdout.hasPrefix("augmented 6 images into 12 outputs in augmented (seed 7, pipeline "))
        let lineage = try String(contentsOfFile: scratch.path + "/augmented/lineage.jsonl", encoding: .utf8).split(separator: "\n")
        #expect(lineage.count == 12)
        #expect(lineage[0].contains("\"source\":\"images/camera.png\"") && lineage[0].contains("\"source_hash\":"))
        #expect(lineage[0].contains("\"tool\":\"curate 0.1.0\""))
        // Every output replays bit for bit from the repository.
        for name in ["camera-aug0.png", "coffee-aug1.jpg", "chelsea-exif6-aug1.jpg"] {
            let replay = try CLI.run(["augment", "--replay", "augmented/images/" + name], in: scratch.path)
            #expect(replay.exitCode == 0 && replay.stdout.hasPrefix("replayed augmented/images/\(name): identical"), "\(replay.stderr)")
        }
        // The outputs and their labels are a committed version.
        let log = try CLI.run(["log", "-n", "1"], in: scratch.path)
        #expect(log.stdout.contains("augmented"))
        #expect(try CLI.run(["status"], in: scratch.path).stdout.hasSuffix("nothing to commit, working tree and labels match\n"))
        // The same seed gives the same bytes again.
        let again = try CLI.run(["augment", "--pipeline", pipeline, "--copies", "2", "--seed", "7", "--out", scratch.path + "/again", "--paths", "images/c*"], in: scratch.path)
        #expect(again.exitCode == 0)
        #expect(FileManager.default.contents(atPath: scratch.path + "/again/images/coffee-aug1.jpg") == FileManager.default.contents(atPath: scratch.path + "/augmented/images/coffee-aug1.jpg"))
        // A tampered output does not replay.
        scratch.write("augmented/images/camera-aug0.png", "not the same")
        #expect(try CLI.run(["augment", "--replay", "augmented/images/camera-aug0.png"], in: scratch.path).exitCode == 65)
    }

    @Test func corruptSourcesAreSkippedOrStopTheRun() throws {
        let scratch = ScratchDirectory()
        try FileManager.default.copyItem(atPath: TestFixtures.repoPath("datasets/photos/images"), toPath: scratch.path + "/images")
        let bytes = try #require(FileManager.default.contents(atPath: scratch.path + "/images/rocket.jpg"))
        _ = FileManager.default.createFile(atPath: scratch.path + "/images/rocket.jpg", contents: bytes.prefix(bytes.count / 3))
        try FileManager.default.copyItem(atPath: TestFixtures.repoPath("datasets/photos/labels.coco.json"), toPath: scratch.path + "/labels.coco.json")
        scratch.write("flip.yaml", "transforms:\n  - HorizontalFlip: {p: 1}\n")
        let skipped = try CLI.run(["augment", "--labels", "labels.coco.json", "--format", "coco", "--pipeline", "flip.yaml", "--out", "out"], in: scratch.path)
        #expect(skipped.exitCode == 0)
        #expect(skipped.stderr.contains("warning: skipped images/rocket.jpg: images/rocket.jpg: truncated JPEG"))
        #expect(skipped.stdout.hasPrefix("augmented 14 images into 13 outputs"))
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/out/images/rocket-aug0.jpg"))
        let strict = try CLI.run(["augment", "--labels", "labels.coco.json", "--format", "coco", "--pipeline", "flip.yaml", "--out", "strict", "--strict"], in: scratch.path)
        #expect(strict.exitCode == 65)
        #expect(strict.stderr.contains("rocket.jpg: truncated JPEG"))
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/strict/labels.jsonl"))
        scratch.write("bad.yaml", "transforms:\n  - HorizontalFlip: {p: 1}\n  - Blurr: {}\n")
        let bad = try CLI.run(["augment", "--labels", "labels.coco.json", "--format", "coco", "--pipeline", "bad.yaml", "--out", "bad"], in: scratch.path)
        #expect(bad.exitCode == 65)
        #expect(bad.stderr.hasPrefix("error: bad.yaml:3: unknown transform 'Blurr'"))
    }
}
