@testable import CurateAugment
import CurateCore
import CurateImaging
import Foundation
import Testing

/// Every kernel gives the same bytes on every instruction-set path this machine can run (baseline, AVX2,
/// AVX-512), for grey, RGB and RGBA images of odd sizes that cross the vector widths; and the whole catalog does,
/// so lineage replays bit for bit on any CPU.
@Suite struct CPUPathTests {
    static let sizes = [(1, 1), (2, 3), (5, 1), (7, 5), (22, 3), (33, 17), (64, 2), (130, 67)]

    /// `make` run on every supported path, each result compared with the baseline's.
    func expectSameOnEveryPath<T: Equatable>(_ what: String, _ make: () -> T) {
        let baseline = CPUPath.with(.baseline, make)
        for path in CPUPath.supported where path != .baseline {
            let other = CPUPath.with(path, make)
            #expect(other == baseline, "\(what) differs on \(path.rawValue)")
        }
    }

    @Test func thisMachineRunsMoreThanTheBaseline() {
        // The field notes: these machines report AVX2 and AVX-512 (F, BW, VL, VBMI); the other paths must be tested.
        #expect(CPUPath.supported.first == .baseline)
        #expect(CPUPath.supported.contains(.avx2))
        #expect(CPUPath.with(.avx2) { CPUPath.current } == .avx2)
        #expect(CPUPath.with(.baseline) { CPUPath.current } == .baseline)
    }

    @Test(arguments: PixelFormat.allCases)
    func pointwiseKernelsAgree(_ format: PixelFormat) {
        for (w, h) in Self.sizes {
            let src = KernelTests.random(w, h, format, seed: UInt64(w * 31 + h))
            let table = (0..<256).map { UInt8(truncatingIfNeeded: $0 * 7 + 3) }
            let tables = [table, table.reversed(), (0..<256).map { UInt8($0 / 3) }]
            expectSameOnEveryPath("flip \(w)x\(h) \(format)") { PixelOps.flipHorizontal(src) }
            expectSameOnEveryPath("lookup \(w)x\(h) \(format)") { PixelOps.lookup(src, table) }
            expectSameOnEveryPath("lookup3 \(w)x\(h) \(format)") { PixelOps.lookup(src, perChannel: tables) }
            expectSameOnEveryPath("gray \(w)x\(h) \(format)") { PixelOps.toGray(src) }
            expectSameOnEveryPath("hsv \(w)x\(h) \(format)") {
                PixelOps.adjustHSV(src, table: table, hueShift: 77, satScale: 1.3, satShift: -0.05, valShift: 0.1)
            }
            expectSameOnEveryPath("normalize \(w)x\(h) \(format)") {
                PixelOps.normalize(src, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], maxPixel: 255).values
            }
        }
    }

    @Test(arguments: PixelFormat.allCases)
    func resamplingKernelsAgree(_ format: PixelFormat) {
        for (w, h) in Self.sizes {
            let src = KernelTests.random(w, h, format, seed: UInt64(w * 17 + h))
            for (tw, th) in [(1, 1), (w * 2 + 1, h + 3), (max(1, w / 2), max(1, h / 3)), (29, 31)] {
                expectSameOnEveryPath("resize \(w)x\(h)→\(tw)x\(th) \(format)") { PixelOps.resizeBilinear(src, width: tw, height: th) }
            }
            for k in [3, 5, 7] {
                expectSameOnEveryPath("blur \(k) \(w)x\(h) \(format)") { PixelOps.gaussianBlur(src, kernelSize: k, sigma: 0) }
            }
            let m = TransformCatalog.affineMatrix(width: w, height: h, degrees: 13, scale: 1.1, shearX: 4, shearY: 0, tx: 2, ty: -1)
            for border in PixelOps.Border.allCases {
                expectSameOnEveryPath("warp \(border) \(w)x\(h) \(format)") {
                    let det = m[0] * m[4] - m[1] * m[3]
                    let inv = [m[4] / det, -m[1] / det, (m[1] * m[5] - m[4] * m[2]) / det, -m[3] / det, m[0] / det, (m[3] * m[2] - m[0] * m[5]) / det]
                    return PixelOps.warpAffine(src, inverse: inv, width: w + 3, height: h, border: border, value: 9)
                }
            }
        }
    }

    /// Crop and resize fused into one pass give exactly the crop followed by the resize.
    @Test(arguments: PixelFormat.allCases)
    func fusedCropResizeEqualsCropThenResize(_ format: PixelFormat) {
        var rng = SplitMix64(seed: 11)
        for _ in 0..<40 {
            let w = 1 + Int(rng.next() % 90), h = 1 + Int(rng.next() % 70)
            let src = KernelTests.random(w, h, format, seed: rng.next())
            let cw = 1 + Int(rng.next() % UInt64(w)), ch = 1 + Int(rng.next() % UInt64(h))
            let x = Int(rng.next() % UInt64(w - cw + 1)), y = Int(rng.next() % UInt64(h - ch + 1))
            let tw = 1 + Int(rng.next() % 60), th = 1 + Int(rng.next() % 60)
            let twoPasses = PixelOps.resizeBilinear(PixelOps.crop(src, x0: x, y0: y, width: cw, height: ch), width: tw, height: th)
            let fused = PixelOps.resizeBilinear(src, width: tw, height: th, window: (x, y, cw, ch))
            #expect(fused == twoPasses, "\(w)x\(h) crop \(x),\(y) \(cw)x\(ch) → \(tw)x\(th)")
        }
    }

    /// Every transform of the catalog, with boxes, on every path: the same image bytes and the same labels.
    @Test(arguments: PixelFormat.allCases)
    func everyTransformAgrees(_ format: PixelFormat) {
        var rng = SplitMix64(seed: 3)
        let base = randomSample(&rng, width: 71, height: 45)
        let sample = AugmentSample(image: base.image.converted(to: format), annotations: base.annotations)
        for name in TransformCatalog.kinds.keys.sorted() {
            let pipeline = Pipeline(steps: [TransformStep(name: name, parameters: ["p": .number(1)])])
            for seed in 0..<3 as Range<UInt64> {
                expectSameOnEveryPath("\(name) seed \(seed) \(format)") {
                    let out = pipeline.run(sample, seed: seed).0
                    return Output(image: out.image, rest: "\(out.normalized?.values ?? []) \(out.annotations)")
                }
            }
        }
    }

    struct Output: Equatable {
        var image: PixelBuffer
        var rest: String
    }

    @Test func curateCPUChoosesOrRefusesAPath() throws {
        #expect(throws: AugmentError.self) { try CPUPath.configure(environment: ["CURATE_CPU": "sse9"]) }
        do {
            try CPUPath.configure(environment: ["CURATE_CPU": "sse9"])
        } catch {
            #expect(error.message == "CURATE_CPU=sse9 is not a kernel path; use one of baseline, avx2, avx512 (this CPU supports \(CPUPath.supported.map(\.rawValue).joined(separator: ", ")))")
            #expect(error.kind == .usage)
        }
        // Unset or empty leaves the process-wide choice alone (setting it here would race other tests).
        try CPUPath.configure(environment: [:])
        try CPUPath.configure(environment: ["CURATE_CPU": ""])
        #expect(CPUPath.current == CPUPath.supported.last)
    }
}

/// Consecutive lookup steps composed into one table give exactly what applying them one by one gives, on grey,
/// RGB and RGBA, inside compositions too, and replay composes them the same way.
@Suite struct PipelineFusionTests {
    @Test(arguments: PixelFormat.allCases)
    func composedTablesEqualStepByStep(_ format: PixelFormat) throws {
        let yaml = """
            transforms:
              - BrightnessContrast: {p: 1, brightness_limit: 0.3, contrast_limit: 0.4}
              - Gamma: {p: 1, gamma_limit: [60, 150]}
              - Sequential:
                  transforms:
                    - RGBShift: {p: 1, r_shift_limit: 40}
                    - HorizontalFlip: {p: 1}
                    - Gamma: {p: 1}
              - BrightnessContrast: {p: 1}
            """
        let pipeline = try Pipeline(yaml: yaml, file: "fuse.yaml")
        var rng = SplitMix64(seed: 9)
        for seed in 0..<6 as Range<UInt64> {
            let base = randomSample(&rng, width: 37, height: 23)
            let sample = AugmentSample(image: base.image.converted(to: format), annotations: base.annotations)
            let (fused, applied) = pipeline.run(sample, seed: seed)
            #expect(applied.map(\.name) == ["BrightnessContrast", "Gamma", "RGBShift", "HorizontalFlip", "Gamma", "BrightnessContrast"])
            // One step at a time, each through its own kernel.
            var stepwise = sample
            for record in applied {
                let kind = TransformCatalog.kinds[record.name]!
                stepwise = kind.apply(pipeline.step(at: record.path)!, record.parameters, stepwise, pipeline.boxRules)
            }
            #expect(fused.image == stepwise.image, "seed \(seed) \(format)")
            #expect(fused.annotations == stepwise.annotations)
            #expect(try pipeline.replay(sample, applied).image == fused.image)
        }
    }
}
