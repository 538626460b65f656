@testable import CurateAugment
import CurateCore
import CurateImaging
import Foundation
import Testing

/// The fast kernels (word copies, tiles, paired lookups, fixed point) against plain per-sample references, for
/// grey, RGB and RGBA images of odd sizes that cross tile boundaries.
@Suite struct KernelTests {
    static func random(_ width: Int, _ height: Int, _ format: PixelFormat, seed: UInt64) -> PixelBuffer {
        var rng = SplitMix64(seed: seed)
        let bytes = (0..<(width * height * format.channels)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        return try! PixelBuffer(width: width, height: height, format: format, bytes: bytes)
    }

    /// Destination pixel (x, y) copied from source pixel `from(x, y)`.
    static func reference(_ src: PixelBuffer, width: Int, height: Int, _ from: (Int, Int) -> (Int, Int)) -> PixelBuffer {
        var out = PixelBuffer(width: width, height: height, format: src.format)
        let c = src.format.channels
        for y in 0..<height {
            for x in 0..<width {
                let (sx, sy) = from(x, y)
                for k in 0..<c { out.bytes[(y * width + x) * c + k] = src.bytes[(sy * src.width + sx) * c + k] }
            }
        }
        return out
    }

    @Test(arguments: PixelFormat.allCases)
    func flipsTurnsAndTransposeMoveEveryPixel(_ format: PixelFormat) {
        for (w, h) in [(1, 1), (1, 5), (7, 1), (45, 70), (67, 33)] {
            let src = Self.random(w, h, format, seed: UInt64(w * 100 + h))
            #expect(PixelOps.flipHorizontal(src) == Self.reference(src, width: w, height: h) { (w - 1 - $0, $1) }, "hflip \(w)x\(h) \(format)")
            #expect(PixelOps.flipVertical(src) == Self.reference(src, width: w, height: h) { ($0, h - 1 - $1) })
            #expect(PixelOps.rotate90(src, k: 1) == Self.reference(src, width: h, height: w) { (w - 1 - $1, $0) }, "rot90 k=1 \(w)x\(h) \(format)")
            #expect(PixelOps.rotate90(src, k: 2) == Self.reference(src, width: w, height: h) { (w - 1 - $0, h - 1 - $1) })
            #expect(PixelOps.rotate90(src, k: 3) == Self.reference(src, width: h, height: w) { ($1, h - 1 - $0) }, "rot90 k=3 \(w)x\(h) \(format)")
            #expect(PixelOps.transpose(src) == Self.reference(src, width: h, height: w) { ($1, $0) }, "transpose \(w)x\(h) \(format)")
        }
    }

    @Test(arguments: PixelFormat.allCases)
    func lookupsApplyTheTableToColourSamplesOnly(_ format: PixelFormat) {
        let src = Self.random(31, 17, format, seed: 5)
        let table = (0..<256).map { UInt8(255 - $0) }
        let out = PixelOps.lookup(src, table)
        let c = format.channels
        #expect(out.bytes.indices.allSatisfy { i in out.bytes[i] == (c == 4 && i % 4 == 3 ? src.bytes[i] : table[Int(src.bytes[i])]) })
        let shifted = PixelOps.lookup(src, perChannel: [table, (0..<256).map { UInt8($0 / 2) }, (0..<256).map { UInt8($0) }])
        for i in out.bytes.indices {
            let ch = i % c
            let expected: UInt8 = c == 1 ? table[Int(src.bytes[i])] : ch == 0 ? table[Int(src.bytes[i])] : ch == 1 ? src.bytes[i] / 2 : src.bytes[i]
            #expect(shifted.bytes[i] == expected)
        }
    }

    /// Box blur against a direct 2-D mean with reflect-101 borders: within one grey level everywhere (fixed point).
    @Test(arguments: PixelFormat.allCases)
    func separableBlurMatchesTheDirectMean(_ format: PixelFormat) {
        let (w, h) = (23, 19)
        let src = Self.random(w, h, format, seed: 9)
        let out = PixelOps.boxBlur(src, kernelSize: 5)
        let c = format.channels
        func reflect(_ i: Int, _ n: Int) -> Int { i < 0 ? -i : i >= n ? 2 * (n - 1) - i : i }
        var worst = 0.0
        for y in 0..<h {
            for x in 0..<w {
                for k in 0..<c {
                    let i = (y * w + x) * c + k
                    if c == 4 && k == 3 { #expect(out.bytes[i] == src.bytes[i]); continue }
                    var sum = 0.0
                    for dy in -2...2 { for dx in -2...2 { sum += Double(src.bytes[(reflect(y + dy, h) * w + reflect(x + dx, w)) * c + k]) } }
                    worst = max(worst, abs(sum / 25 - Double(out.bytes[i])))
                }
            }
        }
        #expect(worst <= 1.0, "largest difference \(worst)")
    }

    /// Noise: mean, spread and the one-sigma fraction of a normal distribution; the same seed, the same noise.
    @Test func gaussianNoiseIsNormalAndSeeded() {
        let grey = PixelBuffer(width: 256, height: 256, format: .rgb8, filledWith: 128)
        let out = PixelOps.addGaussianNoise(grey, mean: 0, std: 20, seed: 42)
        let noise = out.bytes.map { Double($0) - 128 }
        let mean = noise.reduce(0, +) / Double(noise.count)
        let std = (noise.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(noise.count)).squareRoot()
        let within = Double(noise.filter { abs($0) <= 20 }.count) / Double(noise.count)
        #expect(abs(mean) < 0.2, "mean \(mean)")
        #expect(abs(std - 20) < 0.3, "std \(std)")
        // Noise is rounded to whole levels: |n| ≤ 20 means |z| < 20.5 / 20, probability 0.6947.
        #expect(abs(within - 0.6947) < 0.006, "fraction within one sigma \(within)")
        #expect(PixelOps.addGaussianNoise(grey, mean: 0, std: 20, seed: 42) == out)
        #expect(PixelOps.addGaussianNoise(grey, mean: 0, std: 20, seed: 43) != out)
        let shifted = PixelOps.addGaussianNoise(grey, mean: 10, std: 0.001, seed: 1)
        #expect(shifted.bytes.allSatisfy { $0 == 138 })
        #expect(abs(NormalTable.inverseNormalCDF(0.975) - 1.959963984540054) < 1e-9)
    }

    /// The single-precision HSV kernel against the double-precision textbook conversion, within one level.
    @Test func hsvAdjustmentMatchesTheTextbookConversion() {
        let src = Self.random(40, 40, .rgb8, seed: 3)
        let out = PixelOps.adjustHSV(src, hueShift: 50, satScale: 0.8, satShift: 0.05, valShift: -0.1)
        for i in Swift.stride(from: 0, to: src.bytes.count, by: 3) {
            let r = Double(src.bytes[i]) / 255, g = Double(src.bytes[i + 1]) / 255, b = Double(src.bytes[i + 2]) / 255
            let maxV = max(r, g, b), minV = min(r, g, b), delta = maxV - minV
            var h = 0.0
            if delta > 0 {
                h = maxV == r ? 60 * ((g - b) / delta) : maxV == g ? 60 * ((b - r) / delta + 2) : 60 * ((r - g) / delta + 4)
                if h < 0 { h += 360 }
            }
            h = (h + 50).truncatingRemainder(dividingBy: 360)
            let s = min(max((maxV > 0 ? delta / maxV : 0) * 0.8 + 0.05, 0), 1), v = min(max(maxV - 0.1, 0), 1)
            let chroma = v * s, hp = h / 60, x = chroma * (1 - abs(hp.truncatingRemainder(dividingBy: 2) - 1)), m = v - chroma
            let rgb: (Double, Double, Double) = [(chroma, x, 0.0), (x, chroma, 0.0), (0.0, chroma, x), (0.0, x, chroma), (x, 0.0, chroma), (chroma, 0.0, x)][min(Int(hp), 5)]
            let expected = [rgb.0 + m, rgb.1 + m, rgb.2 + m].map { Int(($0 * 255).rounded()) }
            for k in 0..<3 { #expect(abs(Int(out.bytes[i + k]) - expected[k]) <= 1, "pixel \(i / 3) channel \(k)") }
        }
    }
}
