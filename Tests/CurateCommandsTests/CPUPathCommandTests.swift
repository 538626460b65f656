import CurateAugment
import CurateTestSupport
import Foundation
import Testing

/// `curate --version` names the pixel kernels' path; `CURATE_CPU` forces one, and a bad value is a usage error.
@Suite struct CPUPathCommandTests {
    @Test func versionNamesThePathAndCurateCPUForcesIt() throws {
        let best = try CLI.run(["--version"])
        #expect(best.exitCode == 0)
        let supported = CPUPath.supported.map(\.rawValue)
        #expect(best.stdout.contains("(pixel kernels: \(supported.last!))"), "the best path by default: \(best.stdout)")
        for path in supported + [supported.last!.uppercased()] {
            let forced = try CLI.run(["--version"], environment: ["CURATE_CPU": path])
            #expect(forced.stdout.contains("(pixel kernels: \(path.lowercased()))"), "\(path): \(forced.stdout)")
        }
        let bad = try CLI.run(["--version"], environment: ["CURATE_CPU": "neon"])
        #expect(bad.exitCode == 64)
        #expect(bad.stderr == "error: CURATE_CPU=neon is not a kernel path; use one of baseline, avx2, avx512 (this CPU supports \(supported.joined(separator: ", ")))\n")
        #expect(bad.stdout.isEmpty)
    }

    /// The same augmentation, forced onto each path, writes the same bytes.
    @Test func augmentWritesTheSameBytesOnEveryPath() throws {
        let scratch = ScratchDirectory()
        let photos = TestFixtures.repoPath("datasets/photos")
        let pipeline = scratch.path + "/p.yaml"
        try """
            transforms:
              - RandomResizedCrop: {size: [96, 128], p: 1}
              - HorizontalFlip: {p: 0.5}
              - ColorJitter: {hue: 0.2, p: 1}
              - GaussianBlur: {blur_limit: [3, 7], p: 1}
              - Rotate: {limit: 20, p: 1}
              - BrightnessContrast: {p: 1}
              - Gamma: {p: 1}
            """.write(toFile: pipeline, atomically: true, encoding: .utf8)
        var outputs: [[String: Data]] = []
        for path in CPUPath.supported.map(\.rawValue) {
            let out = scratch.path + "/out-" + path
            let run = try CLI.run(["augment", "--labels", photos + "/labels.coco.json", "--format", "coco", "--pipeline", pipeline,
                                   "--seed", "5", "--out", out], environment: ["CURATE_CPU": path])
            #expect(run.exitCode == 0, "\(path): \(run.stderr)")
            let files = try FileManager.default.subpathsOfDirectory(atPath: out).filter { $0.hasSuffix(".jpg") || $0.hasSuffix(".png") }
            #expect(files.count >= 10)
            outputs.append(Dictionary(uniqueKeysWithValues: try files.map { ($0, try Data(contentsOf: URL(fileURLWithPath: out + "/" + $0))) }))
        }
        #expect(outputs.count > 1, "this machine runs more than the baseline")
        for (i, other) in outputs.enumerated().dropFirst() { #expect(other == outputs[0], "\(CPUPath.supported[i]) differs from baseline") }
    }
}
