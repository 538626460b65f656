import CurateCore
import CurateImaging
import Foundation

/// What a transform accepts and does.
struct TransformKind: Sendable {
    /// Parameter name → a check returning an error message for a bad value (nil when fine).
    typealias Check = @Sendable (ParamValue) -> String?

    var defaultProbability: Double
    var parameters: [String: Check]
    var sample: @Sendable (TransformStep, inout SplitMix64, Int, Int) -> [String: Double]
    var apply: @Sendable (TransformStep, [String: Double], AugmentSample, BoxRules) -> AugmentSample
    /// For pointwise steps that are a lookup per colour channel: their three tables for these parameters and this
    /// pixel format. Consecutive such steps are composed into one table and applied in one pass (exactly what
    /// applying them one after the other gives: tables of bytes compose).
    var tables: (@Sendable ([String: Double], PixelFormat) -> [[UInt8]])? = nil
}

extension TransformKind {
    /// A lookup step: applying it is applying its tables (one definition for the step alone and for fusion).
    init(defaultProbability: Double, parameters: [String: Check], sample: @escaping @Sendable (TransformStep, inout SplitMix64, Int, Int) -> [String: Double],
         tables: @escaping @Sendable ([String: Double], PixelFormat) -> [[UInt8]]) {
        self.init(defaultProbability: defaultProbability, parameters: parameters, sample: sample) { _, v, s, _ in
            TransformCatalog.photometric(s) { PixelOps.lookup($0, tables: tables(v, $0.format)) }
        }
        self.tables = tables
    }
}

/// Every transform by name. Geometric transforms move boxes, keypoints, polygons and masks with the pixels.
enum TransformCatalog {
    static let compositions: Set<String> = ["Compose", "OneOf", "SomeOf", "Sequential"]

    // MARK: parameter checks
    static func probability(_ v: ParamValue) -> String? {
        if case .number(let p) = v, (0...1).contains(p) { return nil }
        return "must be a number from 0 to 1"
    }
    static func rangeWithin(_ lower: Double, _ upper: Double) -> TransformKind.Check {
        { v in
            guard let (a, b) = v.range(symmetric: true), a <= b, a >= lower, b <= upper else {
                return "must be a number or [low, high] within [\(fmtNumber(lower)), \(fmtNumber(upper))]"
            }
            return nil
        }
    }
    static func positiveRange(_ upper: Double) -> TransformKind.Check {
        { v in
            guard let (a, b) = v.range(symmetric: false), a <= b, a > 0, b <= upper else { return "must be a positive number or [low, high] up to \(fmtNumber(upper))" }
            return nil
        }
    }
    static func integer(_ lower: Int, _ upper: Int) -> TransformKind.Check {
        { v in
            guard case .number(let n) = v, n == n.rounded(), Int(n) >= lower, Int(n) <= upper else { return "must be an integer from \(lower) to \(upper)" }
            return nil
        }
    }
    static func size(_ v: ParamValue) -> String? {
        guard case .list(let l) = v, l.count == 2, l.allSatisfy({ $0 >= 1 && $0 == $0.rounded() && $0 <= 65535 }) else { return "must be [height, width] in pixels" }
        return nil
    }
    static func oneOf(_ values: [String]) -> TransformKind.Check {
        { v in
            guard case .text(let t) = v, values.contains(t) else { return "must be one of \(values.joined(separator: ", "))" }
            return nil
        }
    }
    /// One number, or a list of 1 or 3 (per colour channel), each within [lower, upper].
    static func channelValues(_ lower: Double, _ upper: Double) -> TransformKind.Check {
        { v in
            let values: [Double]
            switch v {
            case .number(let x): values = [x]
            case .list(let l) where l.count == 1 || l.count == 3: values = l
            default: values = []
            }
            guard !values.isEmpty, values.allSatisfy({ $0 >= lower && $0 <= upper }) else {
                return "must be a number or a list of 1 or 3 numbers within [\(fmtNumber(lower)), \(fmtNumber(upper))]"
            }
            return nil
        }
    }
    static let interpolation = oneOf(PixelOps.Interpolation.allCases.map(\.rawValue))
    static let border = oneOf(PixelOps.Border.allCases.map(\.rawValue))
    static let fill = integer(0, 255)

    static func interpolationOf(_ step: TransformStep, _ fallback: PixelOps.Interpolation = .bilinear) -> PixelOps.Interpolation {
        PixelOps.Interpolation(rawValue: step.text("interpolation", fallback.rawValue)) ?? fallback
    }

    // MARK: geometric maps
    static func hflip(_ w: Int, _ h: Int) -> GeometricMap {
        GeometricMap(width: w, height: h, point: { (Double(w) - $0, $1) }, pixels: PixelOps.flipHorizontal, maskPixels: PixelOps.flipHorizontal)
    }
    static func vflip(_ w: Int, _ h: Int) -> GeometricMap {
        GeometricMap(width: w, height: h, point: { ($0, Double(h) - $1) }, pixels: PixelOps.flipVertical, maskPixels: PixelOps.flipVertical)
    }
    static func rot90(_ w: Int, _ h: Int, k: Int) -> GeometricMap {
        let turns = ((k % 4) + 4) % 4
        let W = Double(w), H = Double(h)
        let point: (Double, Double) -> (Double, Double)
        switch turns {
        case 1: point = { x, y in (y, W - x) }
        case 2: point = { x, y in (W - x, H - y) }
        case 3: point = { x, y in (H - y, x) }
        default: point = { ($0, $1) }
        }
        let (nw, nh) = turns % 2 == 1 ? (h, w) : (w, h)
        return GeometricMap(width: nw, height: nh, point: point, pixels: { PixelOps.rotate90($0, k: turns) }, maskPixels: { PixelOps.rotate90($0, k: turns) })
    }
    static func crop(_ x0: Int, _ y0: Int, _ cw: Int, _ ch: Int) -> GeometricMap {
        GeometricMap(width: cw, height: ch, point: { ($0 - Double(x0), $1 - Double(y0)) },
                     pixels: { PixelOps.crop($0, x0: x0, y0: y0, width: cw, height: ch) },
                     maskPixels: { PixelOps.crop($0, x0: x0, y0: y0, width: cw, height: ch) })
    }
    static func resize(_ w: Int, _ h: Int, to nw: Int, _ nh: Int, _ interpolation: PixelOps.Interpolation) -> GeometricMap {
        let sx = Double(nw) / Double(w), sy = Double(nh) / Double(h)
        return GeometricMap(width: nw, height: nh, point: { ($0 * sx, $1 * sy) },
                            pixels: { PixelOps.resize($0, width: nw, height: nh, interpolation: interpolation) },
                            maskPixels: { PixelOps.resize($0, width: nw, height: nh, interpolation: .nearest) })
    }
    /// An affine map given forward as x' = a·x + b·y + c, y' = d·x + e·y + f in pixel-edge coordinates.
    static func affine(_ m: [Double], width: Int, height: Int, border: PixelOps.Border, fill: UInt8) -> GeometricMap {
        let det = m[0] * m[4] - m[1] * m[3]
        let inv = [m[4] / det, -m[1] / det, (m[1] * m[5] - m[4] * m[2]) / det, -m[3] / det, m[0] / det, (m[3] * m[2] - m[0] * m[5]) / det]
        // Pixel-centre form for the warp: centre (i + 0.5) maps like an edge coordinate.
        let centre = [inv[0], inv[1], inv[2] + 0.5 * (inv[0] + inv[1]) - 0.5, inv[3], inv[4], inv[5] + 0.5 * (inv[3] + inv[4]) - 0.5]
        return GeometricMap(width: width, height: height, point: { x, y in (m[0] * x + m[1] * y + m[2], m[3] * x + m[4] * y + m[5]) },
                            pixels: { PixelOps.warpAffine($0, inverse: centre, width: width, height: height, border: border, value: fill) },
                            maskPixels: { nearestWarp($0, inverse: centre, width: width, height: height) })
    }
    static func nearestWarp(_ src: PixelBuffer, inverse m: [Double], width: Int, height: Int) -> PixelBuffer {
        var out = PixelBuffer(width: width, height: height, format: src.format)
        let c = src.format.channels
        for y in 0..<height {
            for x in 0..<width {
                let sx = Int((m[0] * Double(x) + m[1] * Double(y) + m[2]).rounded()), sy = Int((m[3] * Double(x) + m[4] * Double(y) + m[5]).rounded())
                guard sx >= 0, sy >= 0, sx < src.width, sy < src.height else { continue }
                for k in 0..<c { out.bytes[(y * width + x) * c + k] = src.bytes[(sy * src.width + sx) * c + k] }
            }
        }
        return out
    }
    /// Rotation by `degrees` counter-clockwise (as albumentations and cv2.getRotationMatrix2D) with scale, shear and
    /// translation, about the image centre: M = T(centre + t) · Shear · Rotate · Scale · T(−centre).
    static func affineMatrix(width: Int, height: Int, degrees: Double, scale: Double, shearX: Double, shearY: Double, tx: Double, ty: Double) -> [Double] {
        let cx = Double(width) / 2, cy = Double(height) / 2
        let a = -degrees * .pi / 180  // image y points down: counter-clockwise on screen
        let (c, s) = (cos(a), sin(a))
        let shx = tan(shearX * .pi / 180), shy = tan(shearY * .pi / 180)
        // M = T(center + t) · R · Sh · S · T(-center)
        let r = [c, -s, s, c]
        let sh = [1, shx, shy, 1]
        // albumentations' order: shear · rotate · scale.
        let rs = [sh[0] * r[0] + sh[1] * r[2], sh[0] * r[1] + sh[1] * r[3], sh[2] * r[0] + sh[3] * r[2], sh[2] * r[1] + sh[3] * r[3]].map { $0 * scale }
        return [rs[0], rs[1], cx + tx - rs[0] * cx - rs[1] * cy, rs[2], rs[3], cy + ty - rs[2] * cx - rs[3] * cy]
    }

    static func photometric(_ sample: AugmentSample, _ pixels: (PixelBuffer) -> PixelBuffer) -> AugmentSample {
        AugmentSample(image: pixels(sample.image), annotations: sample.annotations)
    }

    static func table(_ f: (Double) -> Double) -> [UInt8] {
        (0..<256).map { UInt8(clamping: Int(f(Double($0)).rounded())) }
    }

    // MARK: the catalog
    static let kinds: [String: TransformKind] = {
        var k: [String: TransformKind] = [:]
        let p: [String: TransformKind.Check] = ["p": probability]
        func with(_ extra: [String: TransformKind.Check]) -> [String: TransformKind.Check] { p.merging(extra) { a, _ in a } }
        let none: @Sendable (TransformStep, inout SplitMix64, Int, Int) -> [String: Double] = { _, _, _, _ in [:] }

        k["HorizontalFlip"] = TransformKind(defaultProbability: 0.5, parameters: p, sample: none) { _, _, s, rules in
            s.applying(hflip(s.width, s.height), rules: rules)
        }
        k["VerticalFlip"] = TransformKind(defaultProbability: 0.5, parameters: p, sample: none) { _, _, s, rules in
            s.applying(vflip(s.width, s.height), rules: rules)
        }
        k["RandomRotate90"] = TransformKind(defaultProbability: 0.5, parameters: p, sample: { _, rng, _, _ in
            ["k": Double(rng.next() % 4)]
        }) { _, v, s, rules in s.applying(rot90(s.width, s.height, k: Int(v["k"] ?? 0)), rules: rules) }
        k["Transpose"] = TransformKind(defaultProbability: 0.5, parameters: p, sample: none) { _, _, s, rules in
            s.applying(GeometricMap(width: s.height, height: s.width, point: { ($1, $0) }, pixels: PixelOps.transpose, maskPixels: PixelOps.transpose), rules: rules)
        }
        k["Crop"] = TransformKind(defaultProbability: 1, parameters: with(["x_min": integer(0, 65535), "y_min": integer(0, 65535), "x_max": integer(1, 65535), "y_max": integer(1, 65535)]),
                                  sample: none) { step, _, s, rules in
            let x0 = min(Int(step.number("x_min", 0)), s.width - 1), y0 = min(Int(step.number("y_min", 0)), s.height - 1)
            let x1 = max(x0 + 1, min(Int(step.number("x_max", Double(s.width))), s.width)), y1 = max(y0 + 1, min(Int(step.number("y_max", Double(s.height))), s.height))
            return s.applying(crop(x0, y0, x1 - x0, y1 - y0), rules: rules)
        }
        k["CenterCrop"] = TransformKind(defaultProbability: 1, parameters: with(["height": integer(1, 65535), "width": integer(1, 65535)]), sample: none) { step, _, s, rules in
            let cw = min(s.width, Int(step.number("width", Double(s.width)))), ch = min(s.height, Int(step.number("height", Double(s.height))))
            return s.applying(crop((s.width - cw) / 2, (s.height - ch) / 2, cw, ch), rules: rules)
        }
        k["RandomCrop"] = TransformKind(defaultProbability: 1, parameters: with(["height": integer(1, 65535), "width": integer(1, 65535)]), sample: { step, rng, w, h in
            let cw = min(w, Int(step.number("width", Double(w)))), ch = min(h, Int(step.number("height", Double(h))))
            return ["x": Double(Int(rng.next() % UInt64(w - cw + 1))), "y": Double(Int(rng.next() % UInt64(h - ch + 1))), "width": Double(cw), "height": Double(ch)]
        }) { _, v, s, rules in
            s.applying(crop(Int(v["x"]!), Int(v["y"]!), min(s.width, Int(v["width"]!)), min(s.height, Int(v["height"]!))), rules: rules)
        }
        k["RandomResizedCrop"] = TransformKind(defaultProbability: 1, parameters: with(["size": size, "scale": positiveRange(1), "ratio": positiveRange(100), "interpolation": interpolation]),
                                               sample: { step, rng, w, h in
            // albumentations/torchvision: 10 tries at an area fraction and log-uniform aspect ratio, else a centre crop.
            let area = Double(w * h)
            let scale = step.range("scale", (0.08, 1), symmetric: false), ratio = step.range("ratio", (0.75, 4.0 / 3), symmetric: false)
            for _ in 0..<10 {
                let target = area * rng.uniform(scale)
                let aspect = exp(rng.uniform((log(ratio.0), log(ratio.1))))
                let cw = Int((target * aspect).squareRoot().rounded()), ch = Int((target / aspect).squareRoot().rounded())
                if cw > 0, ch > 0, cw <= w, ch <= h {
                    return ["x": Double(Int(rng.next() % UInt64(w - cw + 1))), "y": Double(Int(rng.next() % UInt64(h - ch + 1))), "width": Double(cw), "height": Double(ch),
                            "from_width": Double(w), "from_height": Double(h)]
                }
            }
            let imageRatio = Double(w) / Double(h)
            var cw = w, ch = h
            if imageRatio < ratio.0 { ch = Int((Double(w) / ratio.0).rounded()) } else if imageRatio > ratio.1 { cw = Int((Double(h) * ratio.1).rounded()) }
            return ["x": Double((w - cw) / 2), "y": Double((h - ch) / 2), "width": Double(cw), "height": Double(ch), "from_width": Double(w), "from_height": Double(h)]
        }) { step, v, s, rules in
            let target: [Double]
            if case .list(let l)? = step.parameters["size"] { target = l } else { target = [Double(s.height), Double(s.width)] }
            let tw = Int(target[1]), th = Int(target[0])
            // The crop was drawn for an image of from_width × from_height. When the JPEG was decoded at reduced scale
            // (see Augmenter.dctDenominator), the same region, whose edges now fall between pixels, is resampled
            // directly from the smaller image.
            if let fw = v["from_width"], let fh = v["from_height"], fw != Double(s.width) || fh != Double(s.height) {
                let sx = Double(s.width) / fw, sy = Double(s.height) / fh
                let rx = v["x"]! * sx, ry = v["y"]! * sy, rw = v["width"]! * sx, rh = v["height"]! * sy
                let kx = Double(tw) / rw, ky = Double(th) / rh
                let map = GeometricMap(width: tw, height: th, point: { (($0 - rx) * kx, ($1 - ry) * ky) },
                                       pixels: { PixelOps.resizeRegion($0, x: rx, y: ry, regionWidth: rw, regionHeight: rh, width: tw, height: th) },
                                       maskPixels: { mask in
                    let x0 = Int(rx.rounded()), y0 = Int(ry.rounded())
                    let cw = max(1, min(mask.width - x0, Int(rw.rounded()))), ch = max(1, min(mask.height - y0, Int(rh.rounded())))
                    return PixelOps.resize(PixelOps.crop(mask, x0: x0, y0: y0, width: cw, height: ch), width: tw, height: th, interpolation: .nearest)
                })
                return s.applying(map, rules: rules)
            }
            let x0 = Int(v["x"]!), y0 = Int(v["y"]!), cw = Int(v["width"]!), ch = Int(v["height"]!)
            guard interpolationOf(step) == .bilinear else {
                let cropped = s.applying(crop(x0, y0, cw, ch), rules: rules)
                return cropped.applying(resize(cropped.width, cropped.height, to: tw, th, interpolationOf(step)), rules: rules)
            }
            // Crop and resize in one pass over the pixels (no intermediate crop); labels go through both steps as
            // before, so their clipping and filtering are unchanged.
            var cropMap = crop(x0, y0, cw, ch)
            cropMap.pixels = { $0 }
            var resizeMap = resize(cw, ch, to: tw, th, .bilinear)
            resizeMap.pixels = { PixelOps.resizeBilinear($0, width: tw, height: th, window: (x0, y0, cw, ch)) }
            return s.applying(cropMap, rules: rules).applying(resizeMap, rules: rules)
        }
        k["Resize"] = TransformKind(defaultProbability: 1, parameters: with(["height": integer(1, 65535), "width": integer(1, 65535), "interpolation": interpolation]), sample: none) { step, _, s, rules in
            s.applying(resize(s.width, s.height, to: Int(step.number("width", Double(s.width))), Int(step.number("height", Double(s.height))), interpolationOf(step)), rules: rules)
        }
        k["LongestMaxSize"] = TransformKind(defaultProbability: 1, parameters: with(["max_size": integer(1, 65535), "interpolation": interpolation]), sample: none) { step, _, s, rules in
            let target = step.number("max_size", 1024)
            let scale = target / Double(max(s.width, s.height))
            let nw = max(1, Int((Double(s.width) * scale).rounded())), nh = max(1, Int((Double(s.height) * scale).rounded()))
            return s.applying(resize(s.width, s.height, to: nw, nh, interpolationOf(step)), rules: rules)
        }
        k["PadIfNeeded"] = TransformKind(defaultProbability: 1, parameters: with(["min_height": integer(1, 65535), "min_width": integer(1, 65535), "fill": fill]), sample: none) { step, _, s, rules in
            let mh = Int(step.number("min_height", 1024)), mw = Int(step.number("min_width", 1024))
            let ph = max(0, mh - s.height), pw = max(0, mw - s.width)
            let top = ph / 2, left = pw / 2
            let value = UInt8(step.number("fill", 0))
            let map = GeometricMap(width: s.width + pw, height: s.height + ph, point: { ($0 + Double(left), $1 + Double(top)) },
                                   pixels: { PixelOps.pad($0, top: top, bottom: ph - top, left: left, right: pw - left, value: value) },
                                   maskPixels: { PixelOps.pad($0, top: top, bottom: ph - top, left: left, right: pw - left, value: 0) })
            return s.applying(map, rules: rules)
        }
        k["Rotate"] = TransformKind(defaultProbability: 0.5, parameters: with(["limit": rangeWithin(-360, 360), "border_mode": border, "fill": fill]), sample: { step, rng, _, _ in
            ["angle": rng.uniform(step.range("limit", (-90, 90)))]
        }) { step, v, s, rules in
            let m = affineMatrix(width: s.width, height: s.height, degrees: v["angle"]!, scale: 1, shearX: 0, shearY: 0, tx: 0, ty: 0)
            return s.applying(affine(m, width: s.width, height: s.height, border: PixelOps.Border(rawValue: step.text("border_mode", "constant")) ?? .constant,
                                     fill: UInt8(step.number("fill", 0))), rules: rules)
        }
        k["Affine"] = TransformKind(defaultProbability: 0.5, parameters: with(["scale": positiveRange(10), "translate_percent": rangeWithin(-1, 1), "rotate": rangeWithin(-360, 360),
                                                                              "shear": rangeWithin(-89, 89), "border_mode": border, "fill": fill]), sample: { step, rng, _, _ in
            ["scale": rng.uniform(step.range("scale", (1, 1), symmetric: false)), "tx": rng.uniform(step.range("translate_percent", (0, 0))),
             "ty": rng.uniform(step.range("translate_percent", (0, 0))), "angle": rng.uniform(step.range("rotate", (0, 0))),
             "shear_x": rng.uniform(step.range("shear", (0, 0))), "shear_y": rng.uniform(step.range("shear", (0, 0)))]
        }) { step, v, s, rules in
            let m = affineMatrix(width: s.width, height: s.height, degrees: v["angle"]!, scale: v["scale"]!, shearX: v["shear_x"]!, shearY: v["shear_y"]!,
                                 // Whole pixels, truncated toward zero, as albumentations does.
                                 tx: (v["tx"]! * Double(s.width)).rounded(.towardZero), ty: (v["ty"]! * Double(s.height)).rounded(.towardZero))
            return s.applying(affine(m, width: s.width, height: s.height, border: PixelOps.Border(rawValue: step.text("border_mode", "constant")) ?? .constant,
                                     fill: UInt8(step.number("fill", 0))), rules: rules)
        }

        k["Perspective"] = TransformKind(defaultProbability: 0.5, parameters: with(["scale": positiveRange(0.5), "fill": fill]), sample: { step, rng, _, _ in
            // Each corner moves inwards by |N(0, scale)| of the image size; the quad they span fills the output.
            let scale = rng.uniform(step.range("scale", (0.05, 0.1), symmetric: false))
            var values: [String: Double] = [:]
            for i in 0..<4 {
                values["dx\(i)"] = min(0.45, abs(rng.normal()) * scale)
                values["dy\(i)"] = min(0.45, abs(rng.normal()) * scale)
            }
            return values
        }) { step, v, s, rules in
            let w = Double(s.width), h = Double(s.height)
            let corners = [(0.0, 0.0), (w, 0.0), (w, h), (0.0, h)]
            let signs = [(1.0, 1.0), (-1.0, 1.0), (-1.0, -1.0), (1.0, -1.0)]
            let quad = (0..<4).map { i in (corners[i].0 + signs[i].0 * v["dx\(i)"]! * w, corners[i].1 + signs[i].1 * v["dy\(i)"]! * h) }
            guard let forward = homography(from: quad, to: corners), let inverse = invert3(forward) else { return s }
            let fillValue = UInt8(step.number("fill", 0))
            let map = GeometricMap(width: s.width, height: s.height, point: { x, y in
                let z = forward[6] * x + forward[7] * y + forward[8]
                return ((forward[0] * x + forward[1] * y + forward[2]) / z, (forward[3] * x + forward[4] * y + forward[5]) / z)
            }, pixels: { PixelOps.warpPerspective($0, inverse: inverse, width: s.width, height: s.height, value: fillValue) },
               maskPixels: { mask in
                let warped = PixelOps.warpPerspective(mask, inverse: inverse, width: s.width, height: s.height, value: 0)
                return PixelOps.lookup(warped, (0..<256).map { $0 >= 128 ? 255 : 0 })
            })
            return s.applying(map, rules: rules)
        }

        // Photometric: labels pass through.
        k["BrightnessContrast"] = TransformKind(defaultProbability: 0.5, parameters: with(["brightness_limit": rangeWithin(-1, 1), "contrast_limit": rangeWithin(-1, 1)]), sample: { step, rng, _, _ in
            ["brightness": rng.uniform(step.range("brightness_limit", (-0.2, 0.2))), "contrast": rng.uniform(step.range("contrast_limit", (-0.2, 0.2)))]
        }, tables: { v, _ in
            let alpha = 1 + v["contrast"]!, beta = v["brightness"]! * 255
            let t = table { $0 * alpha + beta }
            return [t, t, t]
        })
        k["Gamma"] = TransformKind(defaultProbability: 0.5, parameters: with(["gamma_limit": positiveRange(1000)]), sample: { step, rng, _, _ in
            ["gamma": rng.uniform(step.range("gamma_limit", (80, 120), symmetric: false)) / 100]
        }, tables: { v, _ in
            let g = v["gamma"]!
            let t = table { pow($0 / 255, g) * 255 }
            return [t, t, t]
        })
        k["ToGray"] = TransformKind(defaultProbability: 0.5, parameters: p, sample: none) { _, _, s, _ in
            photometric(s, PixelOps.toGray)
        }
        k["GaussianBlur"] = TransformKind(defaultProbability: 0.5, parameters: with(["blur_limit": positiveRange(99), "sigma_limit": positiveRange(100)]), sample: { step, rng, _, _ in
            let (a, b) = step.range("blur_limit", (3, 7), symmetric: false)
            let sizes = stride(from: Int(a) | 1, through: Int(b), by: 2).map { $0 }
            let kernel = sizes.isEmpty ? 3 : sizes[Int(rng.next() % UInt64(sizes.count))]
            return ["ksize": Double(kernel), "sigma": rng.uniform(step.range("sigma_limit", (0.5, 3), symmetric: false))]
        }) { _, v, s, _ in photometric(s) { PixelOps.gaussianBlur($0, kernelSize: Int(v["ksize"]!), sigma: v["sigma"]!) } }
        k["GaussNoise"] = TransformKind(defaultProbability: 0.5, parameters: with(["std_range": positiveRange(1), "mean_range": rangeWithin(-1, 1)]), sample: { step, rng, _, _ in
            ["std": rng.uniform(step.range("std_range", (0.2, 0.44), symmetric: false)), "mean": rng.uniform(step.range("mean_range", (0, 0))),
             "noise_seed": Double(rng.next() >> 12)]
        }) { _, v, s, _ in
            photometric(s) { PixelOps.addGaussianNoise($0, mean: v["mean"]! * 255, std: v["std"]! * 255, seed: UInt64(v["noise_seed"]!)) }
        }
        k["RGBShift"] = TransformKind(defaultProbability: 0.5, parameters: with(["r_shift_limit": rangeWithin(-255, 255), "g_shift_limit": rangeWithin(-255, 255), "b_shift_limit": rangeWithin(-255, 255)]),
                                      sample: { step, rng, _, _ in
            ["r": rng.uniform(step.range("r_shift_limit", (-20, 20))), "g": rng.uniform(step.range("g_shift_limit", (-20, 20))), "b": rng.uniform(step.range("b_shift_limit", (-20, 20)))]
        }, tables: { v, format in
            guard format != .gray8 else { return [[UInt8]](repeating: (0..<256).map { UInt8($0) }, count: 3) }
            return [v["r"]!, v["g"]!, v["b"]!].map { shift in table { $0 + shift } }
        })
        k["CoarseDropout"] = TransformKind(defaultProbability: 0.5, parameters: with(["num_holes_range": positiveRange(1000), "hole_height_range": positiveRange(1), "hole_width_range": positiveRange(1), "fill": fill]),
                                           sample: { step, rng, w, h in
            let (lo, hi) = step.range("num_holes_range", (1, 1), symmetric: false)
            let n = Int(lo) + Int(rng.next() % UInt64(max(1, Int(hi) - Int(lo) + 1)))
            var values: [String: Double] = ["holes": Double(n)]
            for i in 0..<n {
                let hh = max(1, Int(rng.uniform(step.range("hole_height_range", (0.1, 0.2), symmetric: false)) * Double(h)))
                let hw = max(1, Int(rng.uniform(step.range("hole_width_range", (0.1, 0.2), symmetric: false)) * Double(w)))
                values["y\(i)"] = Double(Int(rng.next() % UInt64(max(1, h - hh + 1))))
                values["x\(i)"] = Double(Int(rng.next() % UInt64(max(1, w - hw + 1))))
                values["h\(i)"] = Double(hh)
                values["w\(i)"] = Double(hw)
            }
            return values
        }) { step, v, s, _ in
            photometric(s) { image in
                var out = image
                let c = image.format.channels, value = UInt8(step.number("fill", 0))
                for i in 0..<Int(v["holes"] ?? 0) {
                    let x0 = Int(v["x\(i)"]!), y0 = Int(v["y\(i)"]!), hw = Int(v["w\(i)"]!), hh = Int(v["h\(i)"]!)
                    for y in y0..<min(image.height, y0 + hh) {
                        for x in x0..<min(image.width, x0 + hw) { for k in 0..<min(c, 3) { out.bytes[(y * image.width + x) * c + k] = value } }
                    }
                }
                return out
            }
        }
        k["Blur"] = TransformKind(defaultProbability: 0.5, parameters: with(["blur_limit": positiveRange(99)]), sample: { step, rng, _, _ in
            let (a, b) = step.range("blur_limit", (3, 7), symmetric: false)
            let sizes = stride(from: Int(a) | 1, through: Int(b), by: 2).map { $0 }
            return ["ksize": Double(sizes.isEmpty ? 3 : sizes[Int(rng.next() % UInt64(sizes.count))])]
        }) { _, v, s, _ in photometric(s) { PixelOps.boxBlur($0, kernelSize: Int(v["ksize"]!)) } }
        k["MotionBlur"] = TransformKind(defaultProbability: 0.5, parameters: with(["blur_limit": positiveRange(99)]), sample: { step, rng, _, _ in
            let (a, b) = step.range("blur_limit", (3, 7), symmetric: false)
            let sizes = stride(from: max(3, Int(a) | 1), through: max(3, Int(b)), by: 2).map { $0 }
            return ["ksize": Double(sizes.isEmpty ? 3 : sizes[Int(rng.next() % UInt64(sizes.count))]), "angle": rng.uniform((0, 180))]
        }) { _, v, s, _ in photometric(s) { PixelOps.motionBlur($0, size: Int(v["ksize"]!), angle: v["angle"]!) } }
        k["Equalize"] = TransformKind(defaultProbability: 0.5, parameters: p, sample: none) { _, _, s, _ in photometric(s, PixelOps.equalize) }
        k["ImageCompression"] = TransformKind(defaultProbability: 0.5, parameters: with(["quality_range": positiveRange(100)]), sample: { step, rng, _, _ in
            let (a, b) = step.range("quality_range", (75, 100), symmetric: false)
            return ["quality": Double(Int(a) + Int(rng.next() % UInt64(max(1, Int(b) - Int(a) + 1))))]
        }) { _, v, s, _ in
            photometric(s) { image in
                // JPEG artefacts: encode at the drawn quality and decode again (alpha kept).
                guard let bytes = try? ImageEncoder(jpegQuality: Int(v["quality"]!)).encode(image, as: .jpeg),
                      let back = try? ImageDecoder(appliesOrientation: false).decode(bytes, format: image.format == .gray8 ? .gray8 : .rgb8).pixels
                else { return image }
                guard image.format == .rgba8 else { return back }
                var out = back.converted(to: .rgba8)
                for i in stride(from: 3, to: out.bytes.count, by: 4) { out.bytes[i] = image.bytes[i] }
                return out
            }
        }
        k["HueSaturationValue"] = TransformKind(defaultProbability: 0.5, parameters: with(["hue_shift_limit": rangeWithin(-180, 180), "sat_shift_limit": rangeWithin(-255, 255),
                                                                                          "val_shift_limit": rangeWithin(-255, 255)]), sample: { step, rng, _, _ in
            ["hue": rng.uniform(step.range("hue_shift_limit", (-20, 20))), "sat": rng.uniform(step.range("sat_shift_limit", (-30, 30))),
             "val": rng.uniform(step.range("val_shift_limit", (-20, 20)))]
        }) { _, v, s, _ in
            // albumentations' uint8 convention: hue in OpenCV units (2 degrees each), saturation and value in 0…255.
            let hue = v["hue"]! * 2, sat = v["sat"]! / 255, val = v["val"]! / 255
            return photometric(s) { PixelOps.adjustHSV($0, hueShift: Float(hue), satShift: Float(sat), valShift: Float(val)) }
        }
        k["ColorJitter"] = TransformKind(defaultProbability: 0.5, parameters: with(["brightness": positiveRange(10), "contrast": positiveRange(10), "saturation": positiveRange(10),
                                                                                   "hue": rangeWithin(-0.5, 0.5)]), sample: { step, rng, _, _ in
            // torchvision's convention: brightness, contrast, saturation factors from [max(0, 1 - x), 1 + x]; hue from [-x, x].
            func factor(_ key: String, _ fallback: Double) -> Double {
                let (a, b) = step.range(key, (fallback, fallback), symmetric: false)
                return a == b ? rng.uniform((max(0, 1 - a), 1 + a)) : rng.uniform((a, b))
            }
            return ["brightness": factor("brightness", 0.2), "contrast": factor("contrast", 0.2), "saturation": factor("saturation", 0.2),
                    "hue": rng.uniform(step.range("hue", (-0.1, 0.1)))]
        }) { _, v, s, _ in
            photometric(s) { image in
                guard image.format != .gray8 else { return image }
                // Brightness, then contrast about the mean luma of the brightened image, then saturation and hue,
                // in one pass: the two tables compose, and the mean comes from the brightened samples.
                let brightness = table { $0 * v["brightness"]! }
                let mean = PixelOps.meanLuma(image, through: brightness)
                let contrast = table { mean + ($0 - mean) * v["contrast"]! }
                let both = brightness.map { contrast[Int($0)] }
                return PixelOps.adjustHSV(image, table: both, hueShift: Float(v["hue"]! * 360), satScale: Float(v["saturation"]!))
            }
        }
        k["CLAHE"] = TransformKind(defaultProbability: 0.5, parameters: with(["clip_limit": positiveRange(100), "tile_grid_size": size]), sample: { step, rng, _, _ in
            // albumentations: a single number x means [1, x].
            var limits = step.range("clip_limit", (1, 4), symmetric: false)
            if case .number(let x)? = step.parameters["clip_limit"] { limits = (min(1, x), x) }
            return ["clip_limit": rng.uniform(limits)]
        }) { step, v, s, _ in
            var grid: [Double] = [8, 8]
            if case .list(let l)? = step.parameters["tile_grid_size"] { grid = l }
            return photometric(s) { PixelOps.clahe($0, clipLimit: v["clip_limit"]!, tilesX: Int(grid[1]), tilesY: Int(grid[0])) }
        }
        k["Normalize"] = TransformKind(defaultProbability: 1, parameters: with(["mean": channelValues(-1000, 1000), "std": channelValues(1e-6, 1e6),
                                                                                 "max_pixel_value": positiveRange(1e6)]), sample: none) { step, _, s, _ in
            // ImageNet statistics by default, as albumentations; the result is float32 (written as .npy).
            func values(_ key: String, _ fallback: [Double]) -> [Double] {
                switch step.parameters[key] {
                case .list(let l)?: return l
                case .number(let x)?: return [x]
                default: return fallback
                }
            }
            var out = s
            out.normalized = PixelOps.normalize(s.image, mean: values("mean", [0.485, 0.456, 0.406]), std: values("std", [0.229, 0.224, 0.225]),
                                                maxPixel: step.number("max_pixel_value", 255))
            return out
        }
        // albumentations 2.x names for the same transforms.
        k["RandomBrightnessContrast"] = k["BrightnessContrast"]
        k["RandomGamma"] = k["Gamma"]
        return k
    }()
}

func fmtNumber(_ v: Double) -> String { v == v.rounded() && abs(v) < 1e12 ? String(Int(v)) : String(v) }
