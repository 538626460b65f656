import CCurateKernels
import CurateCore
import CurateImaging
import Foundation

extension PixelOps {
    /// Contrast-limited adaptive histogram equalisation, as OpenCV's `createCLAHE(clipLimit, tileGridSize)`:
    /// grey images directly; colour images on the L channel of CIELAB (8-bit L, a, b as OpenCV stores them),
    /// as albumentations does. Alpha is kept.
    static func clahe(_ src: PixelBuffer, clipLimit: Double, tilesX: Int, tilesY: Int) -> PixelBuffer {
        let w = src.width, h = src.height, c = src.format.channels
        guard w > 0, h > 0 else { return src }
        if c == 1 {
            var out = src
            out.bytes = clahePlane(src.bytes, width: w, height: h, clipLimit: clipLimit, tilesX: tilesX, tilesY: tilesY)
            return out
        }
        var lightness = [UInt8](repeating: 0, count: w * h), a = lightness, b = lightness
        let lab = Lab.shared
        src.bytes.withUnsafeBufferPointer { sp in
            ck_rgb_to_lab(&lightness, &a, &b, sp.baseAddress!, w * h, Int32(c), lab.gammaTable, lab.cbrtTable, lab.coefficients)
        }
        let equalised = clahePlane(lightness, width: w, height: h, clipLimit: clipLimit, tilesX: tilesX, tilesY: tilesY)
        return src.bytes.withUnsafeBufferPointer { sp in
            PixelBuffer(width: w, height: h, format: src.format) { d in
                ck_lab_to_rgb(d.baseAddress!, equalised, a, b, sp.baseAddress!, w * h, Int32(c), lab.encodeTable)
            }
        }
    }

    /// CLAHE of one 8-bit plane, following OpenCV's clahe.cpp: the image is extended with BORDER_REFLECT_101 to a
    /// multiple of the grid; per tile, the histogram is clipped at max(1, ⌊clip · tileArea / 256⌋), the excess is
    /// spread evenly (the remainder one count at a time from bin 0 in steps of ⌊256 / remainder⌋), and the table is
    /// round(cdf · 255 / tileArea); each pixel blends the tables of the four nearest tile centres bilinearly.
    static func clahePlane(_ plane: [UInt8], width w: Int, height h: Int, clipLimit: Double, tilesX: Int, tilesY: Int) -> [UInt8] {
        let tileW = (w + (tilesX - w % tilesX) % tilesX) / tilesX, tileH = (h + (tilesY - h % tilesY) % tilesY) / tilesY
        func reflect(_ i: Int, _ n: Int) -> Int {
            if i < n { return i }
            return n == 1 ? 0 : max(0, 2 * (n - 1) - i)
        }
        let area = tileW * tileH
        let clip = clipLimit > 0 ? max(Int(clipLimit * Double(area) / 256), 1) : 0
        let scale = Float(255) / Float(area)
        var luts = [UInt8](repeating: 0, count: tilesX * tilesY * 256)
        var histograms = [Int32](repeating: 0, count: tilesX * tilesY * 256)
        ck_clahe_histograms(&histograms, plane, Int32(w), Int32(h), Int32(tilesX), Int32(tilesY), Int32(tileW), Int32(tileH))
        var histogram = [Int](repeating: 0, count: 256)
        for tile in 0..<(tilesX * tilesY) {
            for i in 0..<256 { histogram[i] = Int(histograms[tile * 256 + i]) }
            if clip > 0 {
                var clipped = 0
                for i in 0..<256 where histogram[i] > clip {
                    clipped += histogram[i] - clip
                    histogram[i] = clip
                }
                let batch = clipped / 256
                var residual = clipped - batch * 256
                for i in 0..<256 { histogram[i] += batch }
                if residual > 0 {
                    let step = max(256 / residual, 1)
                    var i = 0
                    while i < 256 && residual > 0 {
                        histogram[i] += 1
                        i += step
                        residual -= 1
                    }
                }
            }
            var sum = 0
            let base = tile * 256
            for i in 0..<256 {
                sum += histogram[i]
                luts[base + i] = UInt8(clamping: Int((Float(sum) * scale).rounded(.toNearestOrEven)))
            }
        }
        // Each pixel blends the tables of the four nearest tile centres (in C: `ck_clahe_interpolate`).
        var out = [UInt8](repeating: 0, count: w * h)
        ck_clahe_interpolate(&out, plane, Int32(w), Int32(h), luts, Int32(tilesX), Int32(tilesY), Int32(tileW), Int32(tileH))
        return out
    }

    /// `(value / maxPixel − mean) / std` per channel into float32 (alpha, when present, is only divided by maxPixel).
    static func normalize(_ src: PixelBuffer, mean: [Double], std: [Double], maxPixel: Double) -> NormalizedImage {
        let c = src.format.channels
        // One 256-entry table per channel: the kernel is a lookup.
        let tables: [[Float]] = (0..<c).map { ch in
            let colour = ch < 3
            let m = colour ? mean[min(ch, mean.count - 1)] : 0, s = colour ? std[min(ch, std.count - 1)] : 1
            return (0..<256).map { Float((Double($0) / maxPixel - m) / s) }
        }
        let flat = tables.flatMap { $0 }
        let values = [Float](unsafeUninitializedCapacity: src.bytes.count) { out, initialized in
            flat.withUnsafeBufferPointer { t in
                src.bytes.withUnsafeBufferPointer { s in
                    if !s.isEmpty { ck_normalize(out.baseAddress!, s.baseAddress!, src.width * src.height, Int32(c), t.baseAddress!) }
                }
            }
            initialized = src.bytes.count
        }
        return NormalizedImage(width: src.width, height: src.height, channels: c, values: values)
    }
}

/// 8-bit CIELAB as OpenCV stores it (L · 255/100, a + 128, b + 128), sRGB with the D65 white point.
struct Lab: Sendable {
    static let white = (0.950456, 1.0, 1.088754)
    /// The tables, built once; hot loops hold this value so they neither re-check lazy globals nor retain per call.
    static let shared = Lab()

    static let linear: [Double] = (0..<256).map { i in
        let v = Double(i) / 255
        return v <= 0.04045 ? v / 12.92 : pow((v + 0.055) / 1.055, 2.4)
    }

    /// OpenCV's 8-bit RGB → Lab, bit for bit (the reference for `ck_rgb_to_lab`, which runs it over images): 11-bit sRGB-linear table (3 extra bits), 12-bit XYZ coefficients
    /// scaled by the white point, a 15-bit cube-root table with the linear segment below 0.008856, fixed-point L, a, b.
    func fromRGB(_ r: UInt8, _ g: UInt8, _ b: UInt8) -> (UInt8, UInt8, UInt8) {
        let R = Int(gammaTable[Int(r)]), G = Int(gammaTable[Int(g)]), B = Int(gammaTable[Int(b)])
        @inline(__always) func descale(_ x: Int, _ n: Int) -> Int { (x + (1 << (n - 1))) >> n }
        let c = coefficients.map(Int.init)
        let fX = Int(cbrtTable[descale(R * c[0] + G * c[1] + B * c[2], 12)])
        let fY = Int(cbrtTable[descale(R * c[3] + G * c[4] + B * c[5], 12)])
        let fZ = Int(cbrtTable[descale(R * c[6] + G * c[7] + B * c[8], 12)])
        let lScale = (116 * 255 + 50) / 100, lShift = -((16 * 255 * (1 << 15) + 50) / 100)
        let l = descale(lScale * fY + lShift, 15)
        let a = descale(500 * (fX - fY) + 128 * (1 << 15), 15), bb = descale(200 * (fY - fZ) + 128 * (1 << 15), 15)
        return (UInt8(clamping: l), UInt8(clamping: a), UInt8(clamping: bb))
    }

    let gammaTable: [Int32] = (0..<256).map { i in
        let x = Float(i) * (1 / Float(255))
        let v = x <= 0.04045 ? x * (1 / Float(12.92)) : Float(pow((Double(x) + 0.055) * (1 / 1.055), 2.4))
        return Int32(min(max((Float(255 * 8) * v).rounded(.toNearestOrEven), 0), 65535))
    }
    let cbrtTable: [Int32] = (0..<(256 * 3 / 2 * 8)).map { i in
        let x = Float(i) * (1 / Float(255 * 8))
        let v = x < 0.008856 ? Double(x * 7.787) + 0.13793103448275862 : cbrt(Double(x))
        return Int32(min(max((Double(1 << 15) * v).rounded(.toNearestOrEven), 0), 65535))
    }
    let coefficients: [Int32] = {
        let m = [0.412453, 0.357580, 0.180423, 0.212671, 0.715160, 0.072169, 0.019334, 0.119193, 0.950227]
        let w = [Lab.white.0, Lab.white.1, Lab.white.2]
        return (0..<9).map { Int32((Double(1 << 12) * m[$0] / w[$0 / 3]).rounded()) }
    }()

    // Lab → RGB runs in C (`ck_lab_to_rgb`): double precision, within one level of OpenCV's 8-bit conversion,
    // through `encodeTable`.

    /// Linear light → sRGB byte at 2^16 steps (the steepest part of the curve moves 0.05 levels per step).
    private let encodeSteps = 65536
    let encodeTable: [UInt8] = (0...65536).map { i in
        let v = Double(i) / 65536
        let s = v <= 0.0031308 ? 12.92 * v : 1.055 * pow(v, 1 / 2.4) - 0.055
        return UInt8(clamping: Int((s * 255).rounded()))
    }
}

extension PixelOps {
    /// Adds N(mean, std²) noise (in grey levels) to every colour sample, independently, from `seed`.
    ///
    /// Normal values come by inverse CDF from a table of 2^16 equiprobable quantiles (the tails beyond ±4.17σ are
    /// cut), four 16-bit draws per 64-bit random number; since the samples are integers, adding the noise rounded
    /// to an integer rounds the sum the same way, so the table holds integers and the kernel is an add and a clamp.
    static func addGaussianNoise(_ src: PixelBuffer, mean: Double, std: Double, seed: UInt64) -> PixelBuffer {
        let table = NormalTable.quantiles.map { Int16(clamping: Int((mean + std * Double($0)).rounded())) }
        var rng = SplitMix64(seed: seed)
        let alpha = src.format == .rgba8
        let chunk = 4096
        var noise = [Int16](repeating: 0, count: chunk)
        return table.withUnsafeBufferPointer { t in
            noise.withUnsafeMutableBufferPointer { z in
                src.bytes.withUnsafeBufferPointer { s in
                    PixelBuffer(width: src.width, height: src.height, format: src.format) { d in
                        let count = d.count
                        var start = 0
                        while start < count {
                            // Draws for a chunk (four 16-bit indices per random number), then a vectorised add.
                            let n = min(chunk, count - start)
                            var i = 0
                            while i < n {
                                let bits = rng.next()
                                z[i] = t[Int(bits & 0xffff)]
                                z[i + 1] = t[Int((bits >> 16) & 0xffff)]
                                z[i + 2] = t[Int((bits >> 32) & 0xffff)]
                                z[i + 3] = t[Int(bits >> 48)]
                                i += 4
                            }
                            Kernels.addClamped(d.baseAddress! + start, s.baseAddress! + start, z.baseAddress!, n)
                            start += n
                        }
                        if alpha { for j in Swift.stride(from: 3, to: count, by: 4) { d[j] = s[j] } }
                    }
                }
            }
        }
    }
}

/// The standard normal's quantiles at (i + ½) / 2^16.
enum NormalTable {
    static let quantiles: [Float] = (0..<65536).map { Float(inverseNormalCDF((Double($0) + 0.5) / 65536)) }

    /// Acklam's rational approximation with one Newton step (relative error below 1e-12).
    static func inverseNormalCDF(_ p: Double) -> Double {
        let a = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00]
        let b = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01]
        let c = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00]
        let d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00]
        let low = 0.02425
        var x: Double
        if p < low {
            let q = (-2 * log(p)).squareRoot()
            x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        } else if p <= 1 - low {
            let q = p - 0.5, r = q * q
            x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
        } else {
            let q = (-2 * log(1 - p)).squareRoot()
            x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        }
        // One Halley step on erfc.
        let e = 0.5 * erfc(-x / 2.0.squareRoot()) - p
        let u = e * (2 * Double.pi).squareRoot() * exp(x * x / 2)
        x -= u / (1 + x * u / 2)
        return x
    }
}
