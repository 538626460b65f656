@testable import CurateAugment
import CurateCore
import CurateImaging
import CurateTestSupport
import Foundation
import Testing

private func fixture(_ name: String) -> String { TestFixtures.path("CurateAugment", name) }

private struct Case: Decodable, Sendable, CustomTestStringConvertible {
    var name: String
    var source: String
    var transform: [String: [String: Param]]
    var boxes: [[Double]]
    var keypoints: [[Double]]
    var testDescription: String { name }

    enum Param: Decodable, Sendable {
        case number(Double), list([Double]), text(String)
        init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let n = try? c.decode(Double.self) { self = .number(n) } else if let l = try? c.decode([Double].self) { self = .list(l) } else { self = .text(try c.decode(String.self)) }
        }
        var value: ParamValue {
            switch self {
            case .number(let n): .number(n)
            case .list(let l): .list(l)
            case .text(let t): .text(t)
            }
        }
    }

    var step: TransformStep {
        let (name, params) = transform.first!
        return TransformStep(name: name, parameters: params.mapValues(\.value))
    }
}

private struct Fixture: Decodable { var boxes: [[Double]]; var keypoints: [[Double]]; var cases: [Case] }

private let fixtures: Fixture = {
    let data = FileManager.default.contents(atPath: fixture("cases.json")) ?? Data()
    return (try? JSONDecoder().decode(Fixture.self, from: data)) ?? Fixture(boxes: [], keypoints: [], cases: [])
}()

private func input(_ name: String) throws -> AugmentSample {
    let image = try ImageDecoder().decode(fileAt: fixture(name + ".png"), format: .rgb8).pixels
    var annotations = fixtures.boxes.enumerated().map { i, b in
        Annotation(id: i, item: "x", label: .object(ObjectLabel(classID: i, box: BoundingBox(x: b[0], y: b[1], width: b[2] - b[0], height: b[3] - b[1]))))
    }
    annotations.append(Annotation(id: 9, item: "x", label: .object(ObjectLabel(classID: 9, keypoints: fixtures.keypoints.map { Keypoint(x: $0[0], y: $0[1], visibility: 2) }))))
    return AugmentSample(image: image, annotations: annotations)
}

/// Mean absolute difference over pixels at least `margin` pixels from every border.
private func interiorError(_ a: PixelBuffer, _ b: PixelBuffer, margin: Int) -> Double {
    var total = 0.0, count = 0
    for y in margin..<(a.height - margin) {
        for x in margin..<(a.width - margin) {
            for k in 0..<3 {
                total += abs(Double(a.bytes[(y * a.width + x) * 3 + k]) - Double(b.bytes[(y * b.width + x) * 3 + k]))
                count += 1
            }
        }
    }
    return total / Double(max(1, count))
}

@Suite struct AlbumentationsCrossCheckTests {
    @Test(arguments: fixtures.cases.filter { $0.source == "input" })
    fileprivate func exactCases(_ c: Case) throws {
        let sample = try input("input")
        let pipeline = Pipeline(steps: [c.step])
        let out: AugmentSample
        if c.step.name == "RandomRotate90", case .number(let k)? = c.step.parameters["k"] {
            out = try Pipeline(steps: [TransformStep(name: "RandomRotate90")]).replay(sample, [AppliedStep(path: [0], name: "RandomRotate90", parameters: ["k": k])])
        } else {
            out = pipeline.run(sample, seed: 1).0
        }
        let expected = try ImageDecoder().decode(fileAt: fixture(c.name + ".png"), format: .rgb8).pixels
        #expect(out.image == expected, "\(c.name): pixels differ")
        let boxes = out.annotations.compactMap { a -> [Double]? in
            guard case .object(let o) = a.label, let b = o.box else { return nil }
            return [b.x, b.y, b.maxX, b.maxY]
        }
        #expect(boxes.count == c.boxes.count)
        for (mine, theirs) in zip(boxes, c.boxes) {
            #expect(zip(mine, theirs).allSatisfy { abs($0 - $1) < 1e-4 }, "\(c.name): box \(mine) vs \(theirs)")
        }
        guard case .object(let o) = out.annotations.last?.label else { Issue.record("keypoints lost"); return }
        for (k, theirs) in zip(o.keypoints, c.keypoints) {
            var expected = theirs
            if c.step.name == "Resize" {
                // albumentations scales keypoints as x·s; Curate maps pixel centres: (x + 0.5)·s − 0.5.
                let sx = Double(out.width) / Double(sample.width), sy = Double(out.height) / Double(sample.height)
                expected = [(theirs[0] / sx + 0.5) * sx - 0.5, (theirs[1] / sy + 0.5) * sy - 0.5]
            }
            #expect(abs(k.x - expected[0]) < 1e-4 && abs(k.y - expected[1]) < 1e-4, "\(c.name): keypoint \(k) vs \(expected)")
        }
    }

    /// Interpolating transforms: mean absolute error at most 1 grey level, 3 pixels away from the borders.
    @Test(arguments: fixtures.cases.filter { $0.source == "smooth" })
    fileprivate func toleranceCases(_ c: Case) throws {
        let image = try ImageDecoder().decode(fileAt: fixture("smooth.png"), format: .rgb8).pixels
        let out = Pipeline(steps: [c.step]).run(AugmentSample(image: image, annotations: []), seed: 1).0.image
        let expected = try ImageDecoder().decode(fileAt: fixture(c.name + ".png"), format: .rgb8).pixels
        #expect(out.width == expected.width && out.height == expected.height)
        let error = interiorError(out, expected, margin: 3)
        #expect(error <= 1.0, "\(c.name): mean absolute error \(error)")
    }

    @Test func fixturesArePresent() {
        #expect(fixtures.cases.count == 22)
    }

    /// Grey CLAHE is OpenCV's algorithm step for step (clip, redistribution, reflect-101 extension when the size is
    /// not a multiple of the grid, bilinear blend of tile tables): equal to cv2.createCLAHE(3, (4, 3)) byte for byte.
    @Test func claheGreyMatchesOpenCVExactly() throws {
        let grey = try ImageDecoder().decode(fileAt: fixture("grey.png"), format: .gray8).pixels
        let expected = try ImageDecoder().decode(fileAt: fixture("clahe_grey.png"), format: .gray8).pixels
        let out = PixelOps.clahe(grey, clipLimit: 3, tilesX: 4, tilesY: 3)
        #expect(out.bytes == expected.bytes)
        let differing = zip(out.bytes, expected.bytes).filter { $0 != $1 }.count
        #expect(differing == 0, "\(differing) of \(out.bytes.count) pixels differ")
    }

    /// The L channel CLAHE works on is OpenCV's 8-bit RGB → Lab, bit for bit (CLAHE magnifies any difference).
    @Test func labLightnessMatchesOpenCVExactly() throws {
        let image = try ImageDecoder().decode(fileAt: fixture("input.png"), format: .rgb8).pixels
        let expected = try ImageDecoder().decode(fileAt: fixture("lab_l.png"), format: .gray8).pixels
        let lightness = (0..<(image.width * image.height)).map { Lab.shared.fromRGB(image.bytes[$0 * 3], image.bytes[$0 * 3 + 1], image.bytes[$0 * 3 + 2]).0 }
        #expect(lightness == expected.bytes)
    }

    /// Normalize against albumentations' float32 output (ImageNet mean and std, max pixel 255), within 1e-5.
    @Test func normalizeMatchesAlbumentations() throws {
        let sample = try input("input")
        let out = Pipeline(steps: [TransformStep(name: "Normalize")]).run(sample, seed: 1).0
        let expected = try loadNPY(fixture("normalize.npy"))
        let normalized = try #require(out.normalized)
        #expect(expected.shape == [23, 37, 3])
        #expect(normalized.height == 23 && normalized.width == 37 && normalized.channels == 3)
        #expect(normalized.values.count == expected.values.count)
        let worst = zip(normalized.values, expected.values).map { abs($0 - $1) }.max() ?? .infinity
        #expect(worst < 1e-5, "largest difference \(worst)")
        // Our own .npy writer round-trips through the same reader.
        let path = NSTemporaryDirectory() + "curate-normalize-\(UUID().uuidString).npy"
        try Data(normalized.npy()).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let back = try loadNPY(path)
        #expect(back.shape == [23, 37, 3] && back.values == normalized.values)
    }
}

/// A minimal reader for little-endian float32 `.npy` files (version 1), enough for the fixtures.
private func loadNPY(_ path: String) throws -> (shape: [Int], values: [Float]) {
    let bytes = try #require(FileManager.default.contents(atPath: path).map { [UInt8]($0) })
    #expect(bytes.prefix(6) == [0x93] + Array("NUMPY".utf8)[...])
    let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
    let header = String(decoding: bytes[10..<(10 + headerLength)], as: UTF8.self)
    #expect(header.contains("'descr': '<f4'") && header.contains("'fortran_order': False"))
    let shapeText = header.components(separatedBy: "(")[1].components(separatedBy: ")")[0]
    let shape = shapeText.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
    let body = bytes[(10 + headerLength)...]
    var values: [Float] = []
    var i = body.startIndex
    while i + 4 <= body.endIndex {
        let bits = UInt32(body[i]) | UInt32(body[i + 1]) << 8 | UInt32(body[i + 2]) << 16 | UInt32(body[i + 3]) << 24
        values.append(Float(bitPattern: bits))
        i += 4
    }
    return (shape, values)
}
