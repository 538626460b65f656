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

/// A write that fails (here: one output needs a folder where another output is a file, whichever comes second)
/// stops the run with one line naming the file, and the new output folder is left empty.
@Suite struct AugmentWriteFailureTests {
    @Test func aFailedWriteStopsTheRunAndLeavesTheFolderEmpty() throws {
        let scratch = ScratchDirectory()
        let fm = FileManager.default
        try fm.createDirectory(atPath: scratch.path + "/images/x-aug0.jpg", withIntermediateDirectories: true)
        try fm.copyItem(atPath: TestFixtures.repoPath("datasets/photos/images/rocket.jpg"), toPath: scratch.path + "/images/x.jpg")
        try fm.copyItem(atPath: TestFixtures.repoPath("datasets/photos/images/rocket.jpg"), toPath: scratch.path + "/images/x-aug0.jpg/y.jpg")
        scratch.write("labels.coco.json", """
            {"images": [{"id": 1, "file_name": "images/x.jpg", "width": 640, "height": 427},
                        {"id": 2, "file_name": "images/x-aug0.jpg/y.jpg", "width": 640, "height": 427}],
             "annotations": [], "categories": [{"id": 1, "name": "rocket"}]}
            """)
        scratch.write("flip.yaml", "transforms:\n  - HorizontalFlip: {p: 1}\n")
        let run = try CLI.run(["augment", "--labels", "labels.coco.json", "--format", "coco", "--pipeline", "flip.yaml", "--out", "out"], in: scratch.path)
        #expect(run.exitCode == 1, "\(run.stdout) \(run.stderr)")
        #expect(run.stderr.hasPrefix("error: out/images/x-aug0.jpg"), "\(run.stderr)")
        #expect(run.stderr.contains("cannot write"), "\(run.stderr)")
        #expect(run.stderr.split(separator: "\n").count == 1)
        #expect(try fm.contentsOfDirectory(atPath: scratch.path + "/out") == [], "the new folder is left empty")
        // A rerun with a fresh folder name is refused the same way; nothing else was touched.
        #expect(fm.fileExists(atPath: scratch.path + "/images/x-aug0.jpg/y.jpg"))
    }
}

@Suite struct AugmentEveryTransformTests {
    /// Every transform of the catalog, from YAML through `curate augment`, on bundled photos with boxes: each runs,
    /// writes outputs, and its YOLO labels stay within [0, 1].
    @Test(arguments: [
        "HorizontalFlip: {p: 1}", "VerticalFlip: {p: 1}", "RandomRotate90: {p: 1}", "Transpose: {p: 1}",
        "Rotate: {limit: 30, border_mode: reflect, p: 1}", "Affine: {scale: [0.8, 1.2], translate_percent: 0.1, rotate: 20, shear: 10, p: 1}",
        "Perspective: {scale: [0.05, 0.1], p: 1}", "Crop: {x_min: 10, y_min: 20, x_max: 200, y_max: 220}", "CenterCrop: {height: 200, width: 180}",
        "RandomCrop: {height: 150, width: 150}", "RandomResizedCrop: {size: [96, 128], interpolation: bicubic}", "Resize: {height: 100, width: 120, interpolation: area}",
        "LongestMaxSize: {max_size: 160, interpolation: nearest}", "PadIfNeeded: {min_height: 700, min_width: 700, fill: 128}",
        "BrightnessContrast: {p: 1}", "Gamma: {p: 1}", "HueSaturationValue: {p: 1}", "ColorJitter: {p: 1}", "RGBShift: {p: 1}", "ToGray: {p: 1}",
        "Equalize: {p: 1}", "CLAHE: {clip_limit: 3, tile_grid_size: [4, 4], p: 1}", "Blur: {p: 1}", "GaussianBlur: {p: 1}", "MotionBlur: {p: 1}",
        "GaussNoise: {p: 1}", "ImageCompression: {quality_range: [20, 40], p: 1}", "CoarseDropout: {num_holes_range: [2, 4], p: 1}", "Normalize: {}",
    ])
    func transformRunsOnPhotosWithBoxes(_ step: String) throws {
        let scratch = ScratchDirectory()
        try FileManager.default.copyItem(atPath: TestFixtures.repoPath("datasets/photos/images"), toPath: scratch.path + "/images")
        try FileManager.default.copyItem(atPath: TestFixtures.repoPath("datasets/photos/labels.coco.json"), toPath: scratch.path + "/labels.coco.json")
        scratch.write("p.yaml", "transforms:\n  - \(step)\n")
        let run = try CLI.run(["augment", "--labels", "labels.coco.json", "--format", "coco", "--pipeline", "p.yaml", "--seed", "3",
                               "--paths", "images/co*", "--out", "out", "--out-format", "yolo"], in: scratch.path)
        #expect(run.exitCode == 0, "\(step): \(run.stderr)")
        #expect(run.stdout.hasPrefix("augmented 2 images into 2 outputs"), "\(step): \(run.stdout)")
        let isNormalize = step.hasPrefix("Normalize")
        for name in ["coffee-aug0." + (isNormalize ? "npy" : "jpg"), "coins-aug0." + (isNormalize ? "npy" : "png")] {
            #expect(FileManager.default.fileExists(atPath: scratch.path + "/out/images/" + name), "\(step): no \(name)")
        }
        let labels = scratch.path + "/out/labels-yolo"
        var values: [Double] = []
        for file in try FileManager.default.subpathsOfDirectory(atPath: labels) where file.hasSuffix(".txt") && !file.hasSuffix("classes.txt") {
            let text = try String(contentsOfFile: labels + "/" + file, encoding: .utf8)
            for line in text.split(separator: "\n") { values += line.split(separator: " ").dropFirst().compactMap { Double($0) } }
        }
        #expect(values.count >= 8, "\(step): boxes lost (\(values.count / 4) left)")
        #expect(values.allSatisfy { (0...1).contains($0) }, "\(step): YOLO values outside [0, 1]")
        if isNormalize {
            let replay = try CLI.run(["augment", "--replay", "out/images/coffee-aug0.npy", "--labels", "labels.coco.json", "--format", "coco"], in: scratch.path)
            #expect(replay.exitCode == 0, "\(replay.stderr)")
        }
    }
}
