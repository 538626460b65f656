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
        for i in 0..<(w * h) {
            (lightness[i], a[i], b[i]) = Lab.fromRGB(src.bytes[i * c], src.bytes[i * c + 1], src.bytes[i * c + 2])
        }
        let equalised = clahePlane(lightness, width: w, height: h, clipLimit: clipLimit, tilesX: tilesX, tilesY: tilesY)
        var out = src
        for i in 0..<(w * h) {
            (out.bytes[i * c], out.bytes[i * c + 1], out.bytes[i * c + 2]) = Lab.toRGB(equalised[i], a[i], b[i])
        }
        return out
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
        var histogram = [Int](repeating: 0, count: 256)
        for ty in 0..<tilesY {
            for tx in 0..<tilesX {
                for i in 0..<256 { histogram[i] = 0 }
                for y in (ty * tileH)..<((ty + 1) * tileH) {
                    let row = reflect(y, h) * w
                    for x in (tx * tileW)..<((tx + 1) * tileW) { histogram[Int(plane[row + reflect(x, w)])] += 1 }
                }
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
                let base = (ty * tilesX + tx) * 256
                for i in 0..<256 {
                    sum += histogram[i]
                    luts[base + i] = UInt8(clamping: Int((Float(sum) * scale).rounded(.toNearestOrEven)))
                }
            }
        }
        var out = [UInt8](repeating: 0, count: w * h)
        let invW = 1 / Float(tileW), invH = 1 / Float(tileH)
        // Per column: the two tables to blend and the weight of the right one.
        var x1s = [Int](repeating: 0, count: w), x2s = x1s, xws = [Float](repeating: 0, count: w)
        for x in 0..<w {
            let f = Float(x) * invW - 0.5
            let t = Int(f.rounded(.down))
            xws[x] = f - Float(t)
            x1s[x] = max(t, 0) * 256
            x2s[x] = min(t + 1, tilesX - 1) * 256
        }
        for y in 0..<h {
            let f = Float(y) * invH - 0.5
            let t = Int(f.rounded(.down))
            let ya = f - Float(t)
            let top = max(t, 0) * tilesX * 256, bottom = min(t + 1, tilesY - 1) * tilesX * 256
            for x in 0..<w {
                let v = Int(plane[y * w + x]), xa = xws[x]
                let upper = Float(luts[top + x1s[x] + v]) * (1 - xa) + Float(luts[top + x2s[x] + v]) * xa
                let lower = Float(luts[bottom + x1s[x] + v]) * (1 - xa) + Float(luts[bottom + x2s[x] + v]) * xa
                out[y * w + x] = UInt8(clamping: Int((upper * (1 - ya) + lower * ya).rounded(.toNearestOrEven)))
            }
        }
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
                    var i = 0
                    let n = s.count
                    while i < n {
                        for ch in 0..<c { out[i + ch] = t[ch * 256 + Int(s[i + ch])] }
                        i += c
                    }
                }
            }
            initialized = src.bytes.count
        }
        return NormalizedImage(width: src.width, height: src.height, channels: c, values: values)
    }
}

/// 8-bit CIELAB as OpenCV stores it (L · 255/100, a + 128, b + 128), sRGB with the D65 white point.
enum Lab {
    static let white = (0.950456, 1.0, 1.088754)

    static let linear: [Double] = (0..<256).map { i in
        let v = Double(i) / 255
        return v <= 0.04045 ? v / 12.92 : pow((v + 0.055) / 1.055, 2.4)
    }

    /// OpenCV's 8-bit RGB → Lab, bit for bit: 11-bit sRGB-linear table (3 extra bits), 12-bit XYZ coefficients
    /// scaled by the white point, a 15-bit cube-root table with the linear segment below 0.008856, fixed-point L, a, b.
    static func fromRGB(_ r: UInt8, _ g: UInt8, _ b: UInt8) -> (UInt8, UInt8, UInt8) {
        let R = gammaTable[Int(r)], G = gammaTable[Int(g)], B = gammaTable[Int(b)]
        @inline(__always) func descale(_ x: Int, _ n: Int) -> Int { (x + (1 << (n - 1))) >> n }
        let c = coefficients
        let fX = cbrtTable[descale(R * c[0] + G * c[1] + B * c[2], 12)]
        let fY = cbrtTable[descale(R * c[3] + G * c[4] + B * c[5], 12)]
        let fZ = cbrtTable[descale(R * c[6] + G * c[7] + B * c[8], 12)]
        let lScale = (116 * 255 + 50) / 100, lShift = -((16 * 255 * (1 << 15) + 50) / 100)
        let l = descale(lScale * fY + lShift, 15)
        let a = descale(500 * (fX - fY) + 128 * (1 << 15), 15), bb = descale(200 * (fY - fZ) + 128 * (1 << 15), 15)
        return (UInt8(clamping: l), UInt8(clamping: a), UInt8(clamping: bb))
    }

    private static let gammaTable: [Int] = (0..<256).map { i in
        let x = Float(i) * (1 / Float(255))
        let v = x <= 0.04045 ? x * (1 / Float(12.92)) : Float(pow((Double(x) + 0.055) * (1 / 1.055), 2.4))
        return Int(min(max((Float(255 * 8) * v).rounded(.toNearestOrEven), 0), 65535))
    }
    private static let cbrtTable: [Int] = (0..<(256 * 3 / 2 * 8)).map { i in
        let x = Float(i) * (1 / Float(255 * 8))
        let v = x < 0.008856 ? Double(x * 7.787) + 0.13793103448275862 : cbrt(Double(x))
        return Int(min(max((Double(1 << 15) * v).rounded(.toNearestOrEven), 0), 65535))
    }
    private static let coefficients: [Int] = {
        let m = [0.412453, 0.357580, 0.180423, 0.212671, 0.715160, 0.072169, 0.019334, 0.119193, 0.950227]
        let w = [white.0, white.1, white.2]
        return (0..<9).map { Int((Double(1 << 12) * m[$0] / w[$0 / 3]).rounded()) }
    }()

    /// Lab → RGB in double precision (within one level of OpenCV's 8-bit conversion).
    static func toRGB(_ l8: UInt8, _ a8: UInt8, _ b8: UInt8) -> (UInt8, UInt8, UInt8) {
        let lightness = Double(l8) * 100 / 255, a = Double(a8) - 128, b = Double(b8) - 128
        let fy = (lightness + 16) / 116
        let fx = fy + a / 500, fz = fy - b / 200
        func inverse(_ t: Double) -> Double { t > 0.206893 ? t * t * t : (t - 16.0 / 116) / 7.787 }
        let y = lightness > 7.9996 ? fy * fy * fy : lightness / 903.3
        let x = inverse(fx) * white.0, z = inverse(fz) * white.2
        let rl = 3.240479 * x - 1.53715 * y - 0.498535 * z
        let gl = -0.969256 * x + 1.875991 * y + 0.041556 * z
        let bl = 0.055648 * x - 0.204043 * y + 1.057311 * z
        func gamma(_ v: Double) -> UInt8 {
            let v = min(max(v, 0), 1)
            let s = v <= 0.0031308 ? 12.92 * v : 1.055 * pow(v, 1 / 2.4) - 0.055
            return UInt8(clamping: Int((s * 255).rounded()))
        }
        return (gamma(rl), gamma(gl), gamma(bl))
    }
}
