import CCurateKernels
import CurateImaging
import Foundation

/// Pixel kernels over interleaved 8-bit buffers. Hot loops use unsafe buffers; every kernel returns a new buffer.
enum PixelOps {
    /// Rows reversed (byte shuffles on AVX2 and AVX-512; see `ck_flip_h`).
    static func flipHorizontal(_ src: PixelBuffer) -> PixelBuffer {
        src.bytes.withUnsafeBufferPointer { s in
            PixelBuffer(width: src.width, height: src.height, format: src.format) { d in
                guard !d.isEmpty else { return }
                ck_flip_h(d.baseAddress!, s.baseAddress!, Int32(src.width), Int32(src.height), Int32(src.format.channels))
            }
        }
    }

    static func flipVertical(_ src: PixelBuffer) -> PixelBuffer {
        let row = src.rowBytes, h = src.height
        return src.bytes.withUnsafeBytes { s in
            PixelBuffer(width: src.width, height: src.height, format: src.format) { d in
                for y in 0..<h { UnsafeMutableRawPointer(d.baseAddress! + y * row).copyMemory(from: s.baseAddress! + (h - 1 - y) * row, byteCount: row) }
            }
        }
    }

    /// `k` quarter turns counter-clockwise, as `np.rot90(image, k)`.
    static func rotate90(_ src: PixelBuffer, k: Int) -> PixelBuffer {
        let turns = ((k % 4) + 4) % 4
        if turns == 0 { return src }
        if turns == 2 { return rotate180(src) }
        // CCW: destination (x', y') = source (w-1-y', x'); CW: source (y', h-1-x').
        return turns == 1 ? remap(src, width: src.height, height: src.width, start: { (src.width - 1 - $0, 0) }, step: (0, 1))
                          : remap(src, width: src.height, height: src.width, start: { ($0, src.height - 1) }, step: (0, -1))
    }

    static func transpose(_ src: PixelBuffer) -> PixelBuffer {
        remap(src, width: src.height, height: src.width, start: { ($0, 0) }, step: (0, 1))
    }

    /// Half a turn: every row reversed, rows in reverse order, in one pass.
    static func rotate180(_ src: PixelBuffer) -> PixelBuffer {
        let flipped = flipHorizontal(src)
        return flipVertical(flipped)
    }

    /// Writes destination rows in order, 32 at a time so the source columns they read stay in cache: destination
    /// row y' starts at source pixel `start(y')` and walks it by `step` per destination pixel.
    private static func remap(_ src: PixelBuffer, width: Int, height: Int, start: (Int) -> (Int, Int), step: (Int, Int)) -> PixelBuffer {
        let c = src.format.channels, sw = src.width
        let stride = (step.1 * sw + step.0) * c
        let starts = (0..<height).map { y in let (x0, y0) = start(y); return (y0 * sw + x0) * c }
        return src.bytes.withUnsafeBufferPointer { s in
            PixelBuffer(width: width, height: height, format: src.format) { d in
                let sp = UnsafeRawPointer(s.baseAddress!), dp = UnsafeMutableRawPointer(d.baseAddress!)
                let lastPixel = sp + max(0, s.count - c)
                let tile = 32
                for ty in Swift.stride(from: 0, to: height, by: tile) {
                    for tx in Swift.stride(from: 0, to: width, by: tile) {
                        let xEnd = min(tx + tile, width)
                        for y in ty..<min(ty + tile, height) {
                            var o = dp + (y * width + tx) * c
                            var p = sp + starts[y] + tx * stride
                            switch c {
                            case 3:
                                // 4-byte copies spill one byte into the next destination pixel; the row's last
                                // pixel (whose spill would reach the next row) is copied byte by byte.
                                // A 4-byte load of the image's very last pixel would read past it: copied by bytes.
                                let fast = xEnd == width ? xEnd - 1 : xEnd
                                for _ in tx..<fast {
                                    if p == lastPixel { o.copyMemory(from: p, byteCount: 3) } else {
                                        o.storeBytes(of: p.loadUnaligned(as: UInt32.self), as: UInt32.self)
                                    }
                                    o += 3; p += stride
                                }
                                if fast < xEnd { o.copyMemory(from: p, byteCount: 3) }
                            case 4:
                                for _ in tx..<xEnd {
                                    o.storeBytes(of: p.loadUnaligned(as: UInt32.self), as: UInt32.self)
                                    o += 4; p += stride
                                }
                            default:
                                for _ in tx..<xEnd {
                                    o.copyMemory(from: p, byteCount: c)
                                    o += c; p += stride
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// The rectangle [x0, x0+w) × [y0, y0+h), which must lie inside the image.
    static func crop(_ src: PixelBuffer, x0: Int, y0: Int, width: Int, height: Int) -> PixelBuffer {
        var out = PixelBuffer(width: width, height: height, format: src.format)
        let c = src.format.channels, row = width * c
        src.bytes.withUnsafeBytes { s in
            out.bytes.withUnsafeMutableBytes { d in
                for y in 0..<height {
                    (d.baseAddress! + y * row).copyMemory(from: s.baseAddress! + ((y0 + y) * src.width + x0) * c, byteCount: row)
                }
            }
        }
        return out
    }

    /// Constant border of `value` around the image.
    static func pad(_ src: PixelBuffer, top: Int, bottom: Int, left: Int, right: Int, value: UInt8) -> PixelBuffer {
        let w = src.width + left + right, h = src.height + top + bottom, c = src.format.channels
        var out = PixelBuffer(width: w, height: h, format: src.format, filledWith: value)
        src.bytes.withUnsafeBytes { s in
            out.bytes.withUnsafeMutableBytes { d in
                for y in 0..<src.height {
                    (d.baseAddress! + ((y + top) * w + left) * c).copyMemory(from: s.baseAddress! + y * src.rowBytes, byteCount: src.rowBytes)
                }
            }
        }
        return out
    }

    enum Interpolation: String, Sendable, CaseIterable, Codable {
        case nearest, bilinear, area, bicubic
    }

    static func resize(_ src: PixelBuffer, width: Int, height: Int, interpolation: Interpolation) -> PixelBuffer {
        if width == src.width && height == src.height { return src }
        switch interpolation {
        case .nearest: return resizeNearest(src, width: width, height: height)
        case .area where width <= src.width && height <= src.height: return resizeArea(src, width: width, height: height)
        case .bicubic: return resizeBicubic(src, width: width, height: height)
        default: return resizeBilinear(src, width: width, height: height)
        }
    }

    /// A source rectangle with fractional edges (pixel-edge coordinates, inside the image) resampled to
    /// `width` × `height`: area averaging when it shrinks, bilinear otherwise. Used when a crop drawn for a full-size
    /// image is cut from a DCT-reduced decode, where the crop's edges fall between pixels.
    static func resizeRegion(_ src: PixelBuffer, x: Double, y: Double, regionWidth: Double, regionHeight: Double,
                             width: Int, height: Int) -> PixelBuffer {
        if regionWidth >= Double(width) && regionHeight >= Double(height) {
            return resizeArea(src, width: width, height: height, region: (x, y, regionWidth, regionHeight))
        }
        return resizeBilinear(src, width: width, height: height, region: (x, y, regionWidth, regionHeight))
    }

    /// OpenCV's INTER_NEAREST_EXACT: the source pixel whose centre is nearest, floor((2x + 1) · W / 2w).
    static func resizeNearest(_ src: PixelBuffer, width: Int, height: Int) -> PixelBuffer {
        var out = PixelBuffer(width: width, height: height, format: src.format)
        let c = src.format.channels
        let xs = (0..<width).map { min(src.width - 1, (2 * $0 + 1) * src.width / (2 * width)) }
        src.bytes.withUnsafeBufferPointer { s in
            out.bytes.withUnsafeMutableBufferPointer { d in
                for y in 0..<height {
                    let sy = min(src.height - 1, (2 * y + 1) * src.height / (2 * height))
                    let srow = sy * src.width * c, drow = y * width * c
                    for x in 0..<width {
                        let si = srow + xs[x] * c, di = drow + x * c
                        for k in 0..<c { d[di + k] = s[si + k] }
                    }
                }
            }
        }
        return out
    }

    /// Bilinear with half-pixel centres and replicated edges (OpenCV's INTER_LINEAR geometry), 11-bit weights.
    /// `region` resamples a rectangle with fractional edges of the whole image; `window` resamples the integer
    /// rectangle as if it had been cropped first (its edges replicated), without the intermediate crop.
    static func resizeBilinear(_ src: PixelBuffer, width: Int, height: Int,
                               region: (x: Double, y: Double, width: Double, height: Double)? = nil,
                               window: (x: Int, y: Int, width: Int, height: Int)? = nil) -> PixelBuffer {
        let c = src.format.channels
        let win = window ?? (0, 0, src.width, src.height)
        let r = region ?? (0, 0, Double(win.width), Double(win.height))
        let sx = r.width / Double(width), sy = r.height / Double(height)
        func taps(_ n: Int, _ scale: Double, _ limit: Int, _ origin: Double) -> (lo: [Int], hi: [Int], weight: [Int16]) {
            var lo = [Int](), hi = [Int](), weight = [Int16]()
            lo.reserveCapacity(n); hi.reserveCapacity(n); weight.reserveCapacity(n)
            for i in 0..<n {
                let f = origin + (Double(i) + 0.5) * scale - 0.5
                var i0 = Int(floor(f))
                var t = f - Double(i0)
                if i0 < 0 { i0 = 0; t = 0 }
                if i0 >= limit - 1 { i0 = limit - 1; t = 0 }
                lo.append(i0); hi.append(min(i0 + 1, limit - 1)); weight.append(Int16((t * 2048).rounded()))
            }
            return (lo, hi, weight)
        }
        let tx = taps(width, sx, win.width, r.x), ty = taps(height, sy, win.height, r.y)
        // Per output sample: the two blended-row samples it mixes and the weight of the second.
        var col0 = [Int32](), col1 = [Int32](), wx = [Int16]()
        col0.reserveCapacity(width * c); col1.reserveCapacity(width * c); wx.reserveCapacity(width * c)
        for x in 0..<width {
            for k in 0..<c {
                col0.append(Int32(tx.lo[x] * c + k)); col1.append(Int32(tx.hi[x] * c + k)); wx.append(tx.weight[x])
            }
        }
        let srcRow = src.width * c
        let row0 = ty.lo.map { Int64(($0 + win.y) * srcRow) }, row1 = ty.hi.map { Int64(($0 + win.y) * srcRow) }
        return src.bytes.withUnsafeBufferPointer { s in
            PixelBuffer(width: width, height: height, format: src.format) { d in
                guard !d.isEmpty else { return }
                ck_resize_bilinear(d.baseAddress!, width * c, Int32(height), s.baseAddress!, s.count, row0, row1, ty.weight,
                                   col0, col1, wx, win.x * c, win.width * c, Int32(c))
            }
        }
    }

    /// Area averaging with fractional pixel weights (OpenCV's INTER_AREA when shrinking).
    static func resizeArea(_ src: PixelBuffer, width: Int, height: Int,
                           region: (x: Double, y: Double, width: Double, height: Double)? = nil) -> PixelBuffer {
        let c = src.format.channels
        let r = region ?? (0, 0, Double(src.width), Double(src.height))
        func spans(_ n: Int, _ m: Int, _ origin: Double, _ extent: Double) -> [[(Int, Double)]] {
            let scale = extent / Double(n)
            return (0..<n).map { i in
                let a = origin + Double(i) * scale, b = origin + Double(i + 1) * scale
                var list: [(Int, Double)] = []
                var j = Int(floor(a))
                while Double(j) < b - 1e-12, j < m {
                    let w = min(b, Double(j + 1)) - max(a, Double(j))
                    if w > 1e-12 { list.append((j, w / scale)) }
                    j += 1
                }
                return list
            }
        }
        let xs = spans(width, src.width, r.x, r.width), ys = spans(height, src.height, r.y, r.height)
        var out = PixelBuffer(width: width, height: height, format: src.format)
        var row = [Double](repeating: 0, count: src.width * c)
        src.bytes.withUnsafeBufferPointer { s in
            out.bytes.withUnsafeMutableBufferPointer { d in
                for y in 0..<height {
                    for i in row.indices { row[i] = 0 }
                    for (sy, wy) in ys[y] {
                        let base = sy * src.width * c
                        for i in 0..<(src.width * c) { row[i] += Double(s[base + i]) * wy }
                    }
                    for x in 0..<width {
                        for k in 0..<c {
                            var v = 0.0
                            for (sx, wx) in xs[x] { v += row[sx * c + k] * wx }
                            d[(y * width + x) * c + k] = UInt8(clamping: Int(v.rounded()))
                        }
                    }
                }
            }
        }
        return out
    }

    /// BORDER_REFLECT_101: index `i` folded into 0..<n as ...dcb|abcd|cba...
    static func reflect101(_ i: Int, _ n: Int) -> Int {
        if n == 1 { return 0 }
        let period = 2 * (n - 1)
        let j = ((i % period) + period) % period
        return j < n ? j : period - j
    }

    enum Border: String, Sendable, CaseIterable, Codable {
        case constant, reflect, replicate
    }

    /// Inverse-mapped bilinear warp: destination pixel centre (x, y) samples the source at `inverse · (x, y, 1)`
    /// (pixel-centre coordinates, as cv2.warpAffine). The source position advances by a constant step along a row,
    /// and interpolation uses 11-bit fixed-point weights.
    static func warpAffine(_ src: PixelBuffer, inverse m: [Double], width: Int, height: Int, border: Border, value: UInt8) -> PixelBuffer {
        let code: Int32 = switch border {
        case .constant: 0
        case .reflect: 1
        case .replicate: 2
        }
        return src.bytes.withUnsafeBufferPointer { s in
            PixelBuffer(width: width, height: height, format: src.format) { d in
                guard !d.isEmpty else { return }
                ck_warp_affine(d.baseAddress!, Int32(width), Int32(height), s.baseAddress!, Int32(src.width), Int32(src.height),
                               Int32(src.format.channels), m, code, value)
            }
        }
    }

    /// Applies a 256-entry table to every sample (alpha untouched), in one pass from source to a new buffer.
    static func lookup(_ src: PixelBuffer, _ table: [UInt8]) -> PixelBuffer {
        let c = src.format.channels
        if c == 4 { return lookup(src, perChannel: [table, table, table]) }
        return table.withUnsafeBufferPointer { t in
            src.bytes.withUnsafeBufferPointer { s in
                PixelBuffer(width: src.width, height: src.height, format: src.format) { d in
                    guard !d.isEmpty else { return }
                    ck_lookup(d.baseAddress!, s.baseAddress!, t.baseAddress!, d.count)
                }
            }
        }
    }

    /// Three per-channel tables, through the single-table kernel when they are one table.
    static func lookup(_ src: PixelBuffer, tables: [[UInt8]]) -> PixelBuffer {
        tables[0] == tables[1] && tables[1] == tables[2] ? lookup(src, tables[0]) : lookup(src, perChannel: tables)
    }

    /// One 256-entry table per colour channel (grey images use the first; alpha untouched).
    static func lookup(_ src: PixelBuffer, perChannel tables: [[UInt8]]) -> PixelBuffer {
        let c = src.format.channels
        if c == 1 { return lookup(src, tables[0]) }
        let flat = tables[0] + tables[1] + tables[2]
        return flat.withUnsafeBufferPointer { t in
            src.bytes.withUnsafeBufferPointer { s in
                PixelBuffer(width: src.width, height: src.height, format: src.format) { d in
                    guard !d.isEmpty else { return }
                    ck_lookup3(d.baseAddress!, s.baseAddress!, t.baseAddress!, src.width * src.height, Int32(c))
                }
            }
        }
    }

    /// The mean BT.601 luma (rounded per pixel, as `toGray`) of the image after `table` is applied to its samples.
    static func meanLuma(_ src: PixelBuffer, through table: [UInt8]) -> Double {
        let c = src.format.channels
        guard c >= 3, src.width * src.height > 0 else { return 0 }
        var total = 0
        table.withUnsafeBufferPointer { t in
            src.bytes.withUnsafeBufferPointer { s in
                var i = 0
                while i < s.count {
                    total &+= (Int(t[Int(s[i])]) * 19595 + Int(t[Int(s[i + 1])]) * 38470 + Int(t[Int(s[i + 2])]) * 7471 + 32768) >> 16
                    i += c
                }
            }
        }
        return Double(total) / Double(src.width * src.height)
    }

    /// Luma (BT.601, 16-bit fixed point, as libjpeg) replicated into the colour channels; alpha kept.
    static func toGray(_ src: PixelBuffer) -> PixelBuffer {
        let c = src.format.channels
        guard c >= 3 else { return src }
        return src.bytes.withUnsafeBufferPointer { s in
            PixelBuffer(width: src.width, height: src.height, format: src.format) { d in
                guard !d.isEmpty else { return }
                ck_gray(d.baseAddress!, s.baseAddress!, src.width * src.height, Int32(c))
            }
        }
    }

    /// Separable Gaussian blur with BORDER_REFLECT_101 (OpenCV's default), kernel size odd, in 8.8 fixed point as
    /// OpenCV's bit-exact Gaussian for 8-bit images: weights quantised with error diffusion so they sum to 256, a
    /// horizontal pass into 16-bit sums, a vertical pass into 32-bit sums rounded once (see `gaussianWeights`).
    static func gaussianBlur(_ src: PixelBuffer, kernelSize: Int, sigma: Double) -> PixelBuffer {
        let radius = kernelSize / 2
        let s = sigma > 0 ? sigma : 0.3 * (Double(kernelSize - 1) * 0.5 - 1) + 0.8
        let weights = fixedWeights((-radius...radius).map { exp(-Double($0 * $0) / (2 * s * s)) })
        guard src.width > 0, src.height > 0, weights.count < 64 else { return separable(src, weights.map(Double.init)) }
        return weights.withUnsafeBufferPointer { w in
            src.bytes.withUnsafeBufferPointer { p in
                PixelBuffer(width: src.width, height: src.height, format: src.format) { d in
                    ck_separable_fixed(d.baseAddress!, p.baseAddress!, Int32(src.width), Int32(src.height), Int32(src.format.channels),
                                       w.baseAddress!, Int32(w.count))
                }
            }
        }
    }

    /// A symmetric kernel (odd length) normalised and quantised to 8 fractional bits, summing to exactly 256: the
    /// outer weights rounded with the error carried inwards, the centre taking the rest (OpenCV's
    /// getGaussianKernelFixedPoint_ED).
    static func fixedWeights(_ kernel: [Double]) -> [UInt16] {
        let total = kernel.reduce(0, +), n = kernel.count, half = n / 2
        var out = [UInt16](repeating: 0, count: n)
        var error = 0.0, sum = 0
        for i in 0..<half {
            let adjusted = kernel[i] / total * 256 + error
            let v = Int(adjusted.rounded(.toNearestOrEven))
            error = adjusted - Double(v)
            out[i] = UInt16(max(0, v)); out[n - 1 - i] = out[i]
            sum += 2 * Int(out[i])
        }
        out[half] = UInt16(max(0, 256 - sum))
        return out
    }

    /// Mean over a k × k box (cv2.blur), BORDER_REFLECT_101.
    static func boxBlur(_ src: PixelBuffer, kernelSize: Int) -> PixelBuffer {
        separable(src, [Double](repeating: 1, count: max(1, kernelSize | 1)))
    }

    /// The same 1-D kernel (normalised to sum 1) along rows, then along columns, with BORDER_REFLECT_101, in single
    /// precision. Both passes run over contiguous samples (each row is first extended by its reflection), which
    /// the compiler vectorises; the result is rounded once at the end.
    static func separable(_ src: PixelBuffer, _ kernel: [Double]) -> PixelBuffer {
        let taps = kernel.count, radius = taps / 2
        let total = kernel.reduce(0, +)
        let weights = kernel.map { Float($0 / total) }
        let c = src.format.channels, w = src.width, h = src.height, n = w * c
        var temp = [Float](repeating: 0, count: n * h)
        var padded = [Float](repeating: 0, count: (w + 2 * radius) * c)
        let edges = (0..<radius).map { (reflect101($0 - radius, w), reflect101(w + $0, w)) }
        src.bytes.withUnsafeBufferPointer { p in
            temp.withUnsafeMutableBufferPointer { t in
                padded.withUnsafeMutableBufferPointer { row in
                    let rp = row.baseAddress!
                    for y in 0..<h {
                        let line = p.baseAddress! + y * n
                        Kernels.widen(rp + radius * c, line, n)
                        for (j, (left, right)) in edges.enumerated() {
                            for k in 0..<c {
                                rp[j * c + k] = Float(line[left * c + k])
                                rp[(radius + w + j) * c + k] = Float(line[right * c + k])
                            }
                        }
                        let out = t.baseAddress! + y * n
                        for j in 0..<taps { Kernels.multiplyAdd(out, rp + j * c, weights[j], n) }
                    }
                }
            }
        }
        let rows = (0..<h).map { y in (0..<taps).map { reflect101(y + $0 - radius, h) * n } }
        var acc = [Float](repeating: 0, count: n)
        return temp.withUnsafeBufferPointer { t in
            acc.withUnsafeMutableBufferPointer { a in
                src.bytes.withUnsafeBufferPointer { original in
                    PixelBuffer(width: w, height: h, format: src.format) { d in
                        for y in 0..<h {
                            a.update(repeating: 0)
                            for j in 0..<taps { Kernels.multiplyAdd(a.baseAddress!, t.baseAddress! + rows[y][j], weights[j], n) }
                            Kernels.narrow(d.baseAddress! + y * n, a.baseAddress!, n)
                        }
                        if c == 4 { for i in Swift.stride(from: 3, to: d.count, by: 4) { d[i] = original[i] } }
                    }
                }
            }
        }
    }

    /// A line kernel of `size` pixels through the centre at `angle` degrees, normalised (motion blur), applied as a
    /// 2-D convolution with BORDER_REFLECT_101.
    static func motionBlur(_ src: PixelBuffer, size: Int, angle: Double) -> PixelBuffer {
        let k = max(3, size | 1), r = k / 2
        var kernel = [Double](repeating: 0, count: k * k)
        let (dx, dy) = (cos(angle * .pi / 180), sin(angle * .pi / 180))
        for t in stride(from: -Double(r), through: Double(r), by: 0.25) {
            let x = Int((Double(r) + t * dx).rounded()), y = Int((Double(r) + t * dy).rounded())
            if x >= 0, x < k, y >= 0, y < k { kernel[y * k + x] = 1 }
        }
        let total = kernel.reduce(0, +)
        let weights = kernel.map { $0 / total }
        let c = src.format.channels, w = src.width, h = src.height
        let taps = weights.enumerated().filter { $0.element > 0 }.map { (dx: $0.offset % k - r, dy: $0.offset / k - r, w: $0.element) }
        return src.bytes.withUnsafeBufferPointer { s in
            PixelBuffer(width: w, height: h, format: src.format) { d in
                for y in 0..<h {
                    for x in 0..<w {
                        for ch in 0..<c {
                            if c == 4 && ch == 3 { d[(y * w + x) * c + ch] = s[(y * w + x) * c + ch]; continue }
                            var v = 0.0
                            for t in taps { v += t.w * Double(s[(reflect101(y + t.dy, h) * w + reflect101(x + t.dx, w)) * c + ch]) }
                            d[(y * w + x) * c + ch] = UInt8(clamping: Int(v.rounded()))
                        }
                    }
                }
            }
        }
    }

    /// Histogram equalisation of each colour channel (cv2.equalizeHist per channel).
    static func equalize(_ src: PixelBuffer) -> PixelBuffer {
        let c = src.format.channels, colour = min(c, 3)
        var tables: [[UInt8]] = []
        for ch in 0..<colour {
            var histogram = [Int](repeating: 0, count: 256)
            for i in stride(from: ch, to: src.bytes.count, by: c) { histogram[Int(src.bytes[i])] += 1 }
            let total = src.width * src.height
            // OpenCV: the lowest non-empty bin maps to 0; lut[i] = round((cdf[i] - cdf_min) * 255 / (total - cdf_min)).
            guard let first = histogram.firstIndex(where: { $0 > 0 }), histogram[first] < total else {
                tables.append((0..<256).map { UInt8($0) }); continue
            }
            let minimum = histogram[first]
            var cdf = 0
            tables.append(histogram.map { count in
                cdf += count
                return UInt8(clamping: Int((Double(cdf - minimum) * 255 / Double(total - minimum)).rounded()))
            })
        }
        var out = src
        for i in 0..<(src.width * src.height) {
            for ch in 0..<colour { out.bytes[i * c + ch] = tables[ch][Int(src.bytes[i * c + ch])] }
        }
        return out
    }

    /// Per pixel: RGB → HSV (H in degrees, S and V in [0, 1]); H + `hueShift` (wrapped), S · `satScale` +
    /// `satShift` and V + `valShift` (clamped to [0, 1]); → RGB. `table`, when given, is applied to the samples
    /// first (so brightness and contrast fuse into the same pass). Single precision, eight pixels at a time in SIMD
    /// lanes without branches; alpha and grey images untouched.
    static func adjustHSV(_ src: PixelBuffer, table: [UInt8]? = nil, hueShift: Float, satScale: Float = 1, satShift: Float = 0, valShift: Float = 0) -> PixelBuffer {
        let c = src.format.channels
        guard c >= 3 else { return table.map { lookup(src, $0) } ?? src }
        let lut = table ?? (0..<256).map { UInt8($0) }
        // Hue in sixths of a turn.
        var shift = (hueShift / 60).truncatingRemainder(dividingBy: 6)
        if shift < 0 { shift += 6 }
        return lut.withUnsafeBufferPointer { t in
            src.bytes.withUnsafeBufferPointer { sb in
                PixelBuffer(width: src.width, height: src.height, format: src.format) { d in
                    guard !d.isEmpty else { return }
                    ck_adjust_hsv(d.baseAddress!, sb.baseAddress!, src.width * src.height, Int32(c), t.baseAddress!, shift, satScale, satShift, valShift)
                }
            }
        }
    }

    /// Bicubic (Keys, a = −0.75, as OpenCV's INTER_CUBIC) with half-pixel centres and replicated edges.
    static func resizeBicubic(_ src: PixelBuffer, width: Int, height: Int) -> PixelBuffer {
        let c = src.format.channels
        func weights(_ t: Double) -> [Double] {
            let a = -0.75
            func k(_ x: Double) -> Double {
                let x = abs(x)
                if x <= 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
                if x < 2 { return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a }
                return 0
            }
            return [k(1 + t), k(t), k(1 - t), k(2 - t)]
        }
        func taps(_ n: Int, _ limit: Int) -> [(base: Int, w: [Double])] {
            let scale = Double(limit) / Double(n)
            return (0..<n).map { i in
                let f = (Double(i) + 0.5) * scale - 0.5
                let i0 = Int(floor(f))
                return (i0 - 1, weights(f - Double(i0)))
            }
        }
        let tx = taps(width, src.width), ty = taps(height, src.height)
        return src.bytes.withUnsafeBufferPointer { s in
            PixelBuffer(width: width, height: height, format: src.format) { d in
                for y in 0..<height {
                    let (by, wy) = ty[y]
                    for x in 0..<width {
                        let (bx, wx) = tx[x]
                        for k in 0..<c {
                            var v = 0.0
                            for j in 0..<4 {
                                let sy = min(max(by + j, 0), src.height - 1)
                                var row = 0.0
                                for i in 0..<4 {
                                    let sx = min(max(bx + i, 0), src.width - 1)
                                    row += wx[i] * Double(s[(sy * src.width + sx) * c + k])
                                }
                                v += wy[j] * row
                            }
                            d[(y * width + x) * c + k] = UInt8(clamping: Int(v.rounded()))
                        }
                    }
                }
            }
        }
    }

    /// Inverse-mapped bilinear warp through a 3×3 homography (destination pixel centre → source), constant border.
    static func warpPerspective(_ src: PixelBuffer, inverse h: [Double], width: Int, height: Int, value: UInt8) -> PixelBuffer {
        let c = src.format.channels, sw = src.width, sh = src.height
        return src.bytes.withUnsafeBufferPointer { s in
            PixelBuffer(width: width, height: height, format: src.format) { d in
                for y in 0..<height {
                    for x in 0..<width {
                        // Pixel centres in edge coordinates.
                        let px = Double(x) + 0.5, py = Double(y) + 0.5
                        let wv = h[6] * px + h[7] * py + h[8]
                        let fx = (h[0] * px + h[1] * py + h[2]) / wv - 0.5, fy = (h[3] * px + h[4] * py + h[5]) / wv - 0.5
                        let x0 = Int(floor(fx)), y0 = Int(floor(fy))
                        let tx = fx - Double(x0), ty = fy - Double(y0)
                        for k in 0..<c {
                            func at(_ xi: Int, _ yi: Int) -> Double {
                                guard xi >= 0, yi >= 0, xi < sw, yi < sh else { return Double(value) }
                                return Double(s[(yi * sw + xi) * c + k])
                            }
                            let v = (at(x0, y0) * (1 - tx) + at(x0 + 1, y0) * tx) * (1 - ty) + (at(x0, y0 + 1) * (1 - tx) + at(x0 + 1, y0 + 1) * tx) * ty
                            d[(y * width + x) * c + k] = UInt8(clamping: Int(v.rounded()))
                        }
                    }
                }
            }
        }
    }
}

/// The homography mapping four source points to four destination points (direct linear solve, h33 = 1).
func homography(from src: [(Double, Double)], to dst: [(Double, Double)]) -> [Double]? {
    var a = [[Double]](repeating: [Double](repeating: 0, count: 9), count: 8)
    for i in 0..<4 {
        let (x, y) = src[i], (u, v) = dst[i]
        a[2 * i] = [x, y, 1, 0, 0, 0, -u * x, -u * y, u]
        a[2 * i + 1] = [0, 0, 0, x, y, 1, -v * x, -v * y, v]
    }
    for col in 0..<8 {
        guard let pivot = (col..<8).max(by: { abs(a[$0][col]) < abs(a[$1][col]) }), abs(a[pivot][col]) > 1e-12 else { return nil }
        a.swapAt(col, pivot)
        for row in 0..<8 where row != col {
            let f = a[row][col] / a[col][col]
            for k in col..<9 { a[row][k] -= f * a[col][k] }
        }
    }
    return (0..<8).map { a[$0][8] / a[$0][$0] } + [1]
}

/// The inverse of a 3×3 matrix (row-major), or nil when singular.
func invert3(_ m: [Double]) -> [Double]? {
    let det = m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) + m[2] * (m[3] * m[7] - m[4] * m[6])
    guard abs(det) > 1e-15 else { return nil }
    return [(m[4] * m[8] - m[5] * m[7]) / det, (m[2] * m[7] - m[1] * m[8]) / det, (m[1] * m[5] - m[2] * m[4]) / det,
            (m[5] * m[6] - m[3] * m[8]) / det, (m[0] * m[8] - m[2] * m[6]) / det, (m[2] * m[3] - m[0] * m[5]) / det,
            (m[3] * m[7] - m[4] * m[6]) / det, (m[1] * m[6] - m[0] * m[7]) / det, (m[0] * m[4] - m[1] * m[3]) / det]
}
