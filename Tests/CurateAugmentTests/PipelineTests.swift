@testable import CurateAugment
import CurateCore
import CurateImaging
import CurateTestSupport
import Foundation
import Testing

private let example = """
    transforms:
      - RandomResizedCrop: {interpolation: bilinear, ratio: [0.75, 1.333], scale: [0.5, 1], size: [64, 80]}
      - HorizontalFlip: {p: 0.5}
      - OneOf:
          p: 0.8
          transforms:
            - GaussianBlur: {blur_limit: [3, 7]}
            - GaussNoise: {std_range: [0.05, 0.1]}
      - SomeOf:
          n: 2
          transforms:
            - BrightnessContrast: {brightness_limit: 0.2, contrast_limit: 0.2}
            - Gamma: {gamma_limit: [80, 120]}
            - RGBShift: {}
    box_rules: {min_area: 16, min_visibility: 0.3}

    """

/// A random image with random boxes inside it.
func randomSample(_ rng: inout SplitMix64, width: Int = 48, height: Int = 36) -> AugmentSample {
    var image = PixelBuffer(width: width, height: height, format: .rgb8)
    for i in image.bytes.indices { image.bytes[i] = UInt8(truncatingIfNeeded: rng.next()) }
    var annotations: [Annotation] = []
    for i in 0..<4 {
        let x: Double = rng.uniform((0, Double(width) - 4)), y: Double = rng.uniform((0, Double(height) - 4))
        let w: Double = rng.uniform((1, Double(width) - x)), h: Double = rng.uniform((1, Double(height) - y))
        annotations.append(Annotation(item: "x", label: .object(ObjectLabel(classID: i, box: BoundingBox(x: x, y: y, width: w, height: h),
                                                                               polygons: [[x, y, x + w, y, x + w, y + h, x, y + h]]))))
    }
    annotations.append(Annotation(item: "x", label: .classification(7)))
    return AugmentSample(image: image, annotations: annotations)
}

@Suite struct PipelineYAMLTests {
    @Test func loadsAndSavesBackIdentically() throws {
        let pipeline = try Pipeline(yaml: example, file: "p.yaml")
        #expect(pipeline.steps.map(\.name) == ["RandomResizedCrop", "HorizontalFlip", "OneOf", "SomeOf"])
        #expect(pipeline.boxRules == BoxRules(minArea: 16, minVisibility: 0.3))
        #expect(pipeline.yaml() == example)
        #expect(try Pipeline(yaml: pipeline.yaml(), file: "again.yaml") == pipeline)
    }

    @Test(arguments: [
        ("transforms:\n  - Flip: {p: 0.5}\n", "p.yaml:2: unknown transform 'Flip'"),
        ("transforms:\n  - HorizontalFlip: {q: 0.5}\n", "p.yaml:2: HorizontalFlip has no parameter 'q' (parameters: p)"),
        ("transforms:\n  - HorizontalFlip: {p: 1.5}\n", "p.yaml:2: HorizontalFlip.p must be a number from 0 to 1"),
        ("transforms:\n  - Rotate:\n      limit: [10, 500]\n", "p.yaml:3: Rotate.limit must be a number or [low, high] within [-360, 360]"),
        ("transforms:\n  - Resize: {height: 10, width: 10, interpolation: cubic}\n", "p.yaml:2: Resize.interpolation must be one of nearest, bilinear, area"),
        ("transforms:\n  - OneOf: {p: 1}\n", "p.yaml:2: OneOf needs a 'transforms' list"),
        ("transform:\n  - HorizontalFlip: {}\n", "p.yaml:1: unknown key 'transform'"),
        ("transforms: [\n", "p.yaml: not valid YAML"),
        ("transforms:\n  - HorizontalFlip: {}\nbox_rules: {min_visibility: 2}\n", "p.yaml:3: box_rules.min_visibility must be ≤ 1"),
        ("transforms:\n  - Normalize: {}\n  - HorizontalFlip: {}\n", "p.yaml:2: Normalize must be the last step of the pipeline"),
        ("transforms:\n  - OneOf:\n      transforms:\n        - Normalize: {}\n", "p.yaml:4: Normalize must be the last step of the pipeline"),
        ("transforms:\n  - Normalize: {mean: [0.5, 0.5]}\n", "p.yaml:2: Normalize.mean must be a number or a list of 1 or 3 numbers"),
        ("transforms:\n  - CLAHE: {tile_grid_size: 8}\n", "p.yaml:2: CLAHE.tile_grid_size must be [height, width] in pixels"),
    ])
    func errorsNameTheLine(_ yaml: String, _ expected: String) {
        #expect {
            try Pipeline(yaml: yaml, file: "p.yaml")
        } throws: { error in
            let message = (error as? AugmentError)?.message ?? ""
            #expect(message.hasPrefix(expected), "\(message)")
            return message.hasPrefix(expected)
        }
    }
}

@Suite struct PipelinePropertyTests {
    static let geometric = ["HorizontalFlip", "VerticalFlip", "RandomRotate90", "Transpose", "Rotate", "Affine", "RandomCrop",
                            "RandomResizedCrop", "CenterCrop", "PadIfNeeded", "LongestMaxSize", "Perspective"]

    @Test(arguments: geometric)
    func boxesStayInsideTheImage(_ name: String) throws {
        var params: [String: ParamValue] = ["p": .number(1)]
        switch name {
        case "RandomCrop", "CenterCrop": params["height"] = .number(20); params["width"] = .number(30)
        case "RandomResizedCrop": params["size"] = .list([24, 40])
        case "PadIfNeeded": params["min_height"] = .number(60); params["min_width"] = .number(50)
        case "LongestMaxSize": params["max_size"] = .number(30)
        case "Rotate": params["limit"] = .number(45)
        case "Perspective": params["scale"] = .list([0.05, 0.2])
        case "Affine": params["rotate"] = .number(30); params["scale"] = .list([0.7, 1.3]); params["shear"] = .number(10); params["translate_percent"] = .number(0.2)
        default: break
        }
        let pipeline = Pipeline(steps: [TransformStep(name: name, parameters: params)])
        var rng = SplitMix64(seed: 5)
        for round in 0..<25 {
            let sample = randomSample(&rng)
            let (out, _) = pipeline.run(sample, seed: UInt64(round))
            for a in out.annotations {
                guard case .object(let o) = a.label, let b = o.box else { continue }
                #expect(b.x >= 0 && b.y >= 0 && b.maxX <= Double(out.width) + 1e-9 && b.maxY <= Double(out.height) + 1e-9, "\(name): \(b) in \(out.width)x\(out.height)")
                #expect(b.width > 0 && b.height > 0)
            }
            // Classification labels pass through untouched.
            #expect(out.annotations.last?.label == .classification(7))
        }
    }

    @Test func flipsAreInvolutionsAndFourQuarterTurnsAreTheIdentity() throws {
        var rng = SplitMix64(seed: 9)
        let sample = randomSample(&rng)
        for name in ["HorizontalFlip", "VerticalFlip", "Transpose"] {
            let twice = Pipeline(steps: [TransformStep(name: name, parameters: ["p": .number(1)]), TransformStep(name: name, parameters: ["p": .number(1)])])
            #expect(same(twice.run(sample, seed: 1).0, sample), "\(name)")
        }
        let turn = AppliedStep(path: [0], name: "RandomRotate90", parameters: ["k": 1])
        let pipeline = Pipeline(steps: [TransformStep(name: "RandomRotate90")])
        var current = sample
        for _ in 0..<4 { current = try pipeline.replay(current, [turn]) }
        #expect(same(current, sample))
    }

    @Test func replayReproducesTheOutputAndSeedsDoNotDependOnThreads() throws {
        let pipeline = try Pipeline(yaml: example, file: "p.yaml")
        var rng = SplitMix64(seed: 3)
        let samples = (0..<8).map { _ in randomSample(&rng, width: 90, height: 70) }
        let serial = samples.enumerated().map { pipeline.run($0.element, seed: UInt64($0.offset)) }
        for (i, (out, applied)) in serial.enumerated() {
            #expect(try pipeline.replay(samples[i], applied) == out)
        }
        // The same seeds on two threads.
        let parallel = Mutex2(Array(repeating: AugmentSample?.none, count: samples.count))
        DispatchQueue.concurrentPerform(iterations: 2) { worker in
            for i in stride(from: worker, to: samples.count, by: 2) {
                let out = pipeline.run(samples[i], seed: UInt64(i)).0
                parallel.set(i, out)
            }
        }
        #expect(parallel.values.map { $0! } == serial.map(\.0))
    }

    @Test func colourAndBlurTransformsKeepLabelsAndShape() throws {
        var rng = SplitMix64(seed: 4)
        let sample = randomSample(&rng, width: 40, height: 30)
        let identity = try Pipeline(steps: [TransformStep(name: "ColorJitter")]).replay(sample, [AppliedStep(path: [0], name: "ColorJitter",
            parameters: ["brightness": 1, "contrast": 1, "saturation": 1, "hue": 0])])
        // Factors of 1 and no hue shift change nothing but HSV round-trip rounding.
        #expect(zip(identity.image.bytes, sample.image.bytes).allSatisfy { abs(Int($0) - Int($1)) <= 1 })
        for name in ["MotionBlur", "ImageCompression", "Blur", "Equalize", "HueSaturationValue", "ColorJitter"] {
            let out = Pipeline(steps: [TransformStep(name: name, parameters: ["p": .number(1)])]).run(sample, seed: 3).0
            #expect(out.width == 40 && out.height == 30 && out.annotations == sample.annotations, "\(name)")
            #expect(out.image != sample.image, "\(name) changed nothing")
        }
    }

    @Test func photometricFormulas() {
        var image = PixelBuffer(width: 256, height: 1, format: .gray8)
        for i in 0..<256 { image.bytes[i] = UInt8(i) }
        let sample = AugmentSample(image: image, annotations: [])
        let bc = try? Pipeline(steps: [TransformStep(name: "BrightnessContrast")]).replay(sample, [AppliedStep(path: [0], name: "BrightnessContrast", parameters: ["brightness": 0.1, "contrast": 0.2])])
        // albumentations: out = clip(round(v · (1 + contrast) + brightness · 255)).
        #expect(bc?.image.bytes == (0..<256).map { UInt8(clamping: Int((Double($0) * 1.2 + 25.5).rounded())) })
        let gamma = try? Pipeline(steps: [TransformStep(name: "Gamma")]).replay(sample, [AppliedStep(path: [0], name: "Gamma", parameters: ["gamma": 0.8])])
        #expect(gamma?.image.bytes == (0..<256).map { UInt8(clamping: Int((pow(Double($0) / 255, 0.8) * 255).rounded())) })
    }
}

/// A lock-protected array for collecting results from two threads.
final class Mutex2<T>: @unchecked Sendable {  // every access goes through `lock`
    private let lock = NSLock()
    private var storage: [T]
    init(_ values: [T]) { storage = values }
    func set(_ i: Int, _ value: T) { lock.lock(); storage[i] = value; lock.unlock() }
    var values: [T] { lock.lock(); defer { lock.unlock() }; return storage }
}

/// Pixels equal exactly; label coordinates equal within 1e-9 (W − (W − x) need not round back to x exactly).
func same(_ a: AugmentSample, _ b: AugmentSample) -> Bool {
    guard a.image == b.image, a.annotations.count == b.annotations.count else { return false }
    for (x, y) in zip(a.annotations, b.annotations) {
        switch (x.label, y.label) {
        case (.object(let o), .object(let p)):
            guard o.classID == p.classID, let bo = o.box, let bp = p.box else { return o == p }
            let close = { (u: Double, v: Double) in abs(u - v) < 1e-9 }
            guard close(bo.x, bp.x), close(bo.y, bp.y), close(bo.width, bp.width), close(bo.height, bp.height) else { return false }
            guard zip(o.polygons.joined(), p.polygons.joined()).allSatisfy(close) else { return false }
        default:
            if x.label != y.label { return false }
        }
    }
    return true
}

@Suite struct DCTScaledDecodeTests {
    @Test func shrinkingFirstStepDecodesAtReducedScale() throws {
        let path = TestFixtures.repoPath("datasets/photos/images/hubble_deep_field.jpg")  // 1000 x 872
        let bytes = Array(try #require(FileManager.default.contents(atPath: path)))
        let box = Annotation(item: "h", label: .object(ObjectLabel(classID: 0, box: BoundingBox(x: 100, y: 200, width: 400, height: 300))))
        let source = AugmentSource(path: "h.jpg", contentHash: nil, bytes: bytes, annotations: [box])
        // Area interpolation: both paths then low-pass properly (bilinear from full size would alias).
        let pipeline = try Pipeline(yaml: "transforms:\n  - Resize: {height: 200, width: 240, interpolation: area}\n", file: "p.yaml")
        let augmenter = Augmenter(pipeline: pipeline, seed: 1, copies: 1)
        #expect(augmenter.dctDenominator(width: 1000, height: 872) == 4)  // 250 x 218 still covers 240 x 200
        let (prepared, format) = try augmenter.prepare(source)
        #expect(format == .jpeg && prepared.width == 250 && prepared.height == 218)
        let fast = pipeline.run(prepared, seed: 1).0
        // The same through a full decode.
        let full = try ImageDecoder().decode(bytes, format: .rgb8).pixels
        let slow = pipeline.run(AugmentSample(image: full, annotations: [box]), seed: 1).0
        #expect(fast.width == 240 && fast.height == 200)
        var total = 0
        for i in fast.image.bytes.indices { total += abs(Int(fast.image.bytes[i]) - Int(slow.image.bytes[i])) }
        let mae = Double(total) / Double(fast.image.bytes.count)
        #expect(mae < 3, "mean absolute error \(mae) between DCT-scaled and full decode")
        guard case .object(let a) = fast.annotations[0].label, case .object(let b) = slow.annotations[0].label else { Issue.record("box lost"); return }
        #expect(abs(a.box!.x - b.box!.x) < 1e-9 && abs(a.box!.maxY - b.box!.maxY) < 1e-9)
        // A step that does not always shrink keeps the full decode.
        #expect(Augmenter(pipeline: try Pipeline(yaml: "transforms:\n  - Resize: {height: 600, width: 700}\n", file: "p"), seed: 1, copies: 1).dctDenominator(width: 1000, height: 872) == 1)
        #expect(Augmenter(pipeline: try Pipeline(yaml: "transforms:\n  - Resize: {height: 200, width: 240, p: 0.5}\n", file: "p"), seed: 1, copies: 1).dctDenominator(width: 1000, height: 872) == 1)
    }

    /// RandomResizedCrop: the crop is drawn for the full-size image, the decode scale chosen from that crop, and the
    /// same region cut from the reduced image; the result is within 3 grey levels of full decode + crop + resize.
    @Test func randomResizedCropDecodesAtTheScaleItsCropAllows() throws {
        let path = TestFixtures.repoPath("datasets/photos/images/hubble_deep_field.jpg")  // 1000 x 872
        let bytes = Array(try #require(FileManager.default.contents(atPath: path)))
        let box = Annotation(item: "h", label: .object(ObjectLabel(classID: 0, box: BoundingBox(x: 100, y: 200, width: 400, height: 300))))
        let source = AugmentSource(path: "h.jpg", contentHash: nil, bytes: bytes, annotations: [box])
        let pipeline = try Pipeline(yaml: "transforms:\n  - RandomResizedCrop: {size: [96, 112], scale: [0.5, 1], interpolation: area}\n", file: "p.yaml")
        let augmenter = Augmenter(pipeline: pipeline, seed: 1, copies: 1)
        let full = try ImageDecoder().decode(bytes, format: .rgb8).pixels
        var reduced = 0
        for seed in UInt64(0)..<6 {
            let draw = try #require(pipeline.firstDraw(seed: seed, width: 1000, height: 872))
            let d = augmenter.dctDenominator(width: 1000, height: 872, draw: draw)
            #expect(d >= 4, "crop \(draw) should allow 1/4 at least")
            if d > 1 { reduced += 1 }
            let fast = try augmenter.run(source, itemSeed: seed).0
            let slow = pipeline.run(AugmentSample(image: full, annotations: [box]), seed: seed).0
            #expect(fast.width == 112 && fast.height == 96 && slow.width == 112 && slow.height == 96)
            var total = 0
            for i in fast.image.bytes.indices { total += abs(Int(fast.image.bytes[i]) - Int(slow.image.bytes[i])) }
            let mae = Double(total) / Double(fast.image.bytes.count)
            #expect(mae < 3, "seed \(seed): mean absolute error \(mae) between DCT-scaled and full decode")
            let fastBoxes = fast.annotations.compactMap { a -> BoundingBox? in if case .object(let o) = a.label { o.box } else { nil } }
            let slowBoxes = slow.annotations.compactMap { a -> BoundingBox? in if case .object(let o) = a.label { o.box } else { nil } }
            #expect(fastBoxes.count == slowBoxes.count)
            for (a, b) in zip(fastBoxes, slowBoxes) {
                #expect(abs(a.x - b.x) < 1e-6 && abs(a.y - b.y) < 1e-6 && abs(a.maxX - b.maxX) < 1e-6 && abs(a.maxY - b.maxY) < 1e-6, "\(a) vs \(b)")
            }
        }
        #expect(reduced == 6)
        // Outputs made at reduced scale replay bit for bit from their lineage.
        let outputs = Augmenter(pipeline: pipeline, seed: 5, copies: 3).run([source])
        guard case .outputs(let made) = outputs.first else { Issue.record("no outputs"); return }
        #expect(made.count == 3)
        for output in made {
            #expect(output.lineage.applied.first?.parameters["from_width"] == 1000)
            #expect(try Augmenter(pipeline: pipeline, seed: 5, copies: 3).replay(output.lineage, source: source) == output.bytes)
        }
        // Small crops that would be enlarged keep the full decode.
        let small = try Pipeline(yaml: "transforms:\n  - RandomResizedCrop: {size: [224, 224], scale: [0.05, 0.06]}\n", file: "p.yaml")
        let draw = try #require(small.firstDraw(seed: 1, width: 1000, height: 872))
        #expect(Augmenter(pipeline: small, seed: 1, copies: 1).dctDenominator(width: 1000, height: 872, draw: draw) == 1)
    }
}
