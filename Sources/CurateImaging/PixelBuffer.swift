/// The channel layout of a ``PixelBuffer``: 8 bits per sample, interleaved.
public enum PixelFormat: String, Sendable, Hashable, CaseIterable, Codable {
    case gray8, rgb8, rgba8

    /// Samples per pixel.
    public var channels: Int {
        switch self {
        case .gray8: 1
        case .rgb8: 3
        case .rgba8: 4
        }
    }
}

/// Decoded pixels: rows top to bottom, each `width * format.channels` bytes, no padding.
public struct PixelBuffer: Sendable, Hashable {
    public private(set) var width: Int
    public private(set) var height: Int
    public private(set) var format: PixelFormat
    /// `height * width * format.channels` bytes.
    public var bytes: [UInt8]

    /// Wraps existing bytes; they must be exactly `width * height * channels` long.
    /// - Throws: ``ImagingError`` with code `.invalidArgument` when the sizes disagree.
    public init(width: Int, height: Int, format: PixelFormat, bytes: [UInt8]) throws(ImagingError) {
        guard width >= 0, height >= 0, bytes.count == width * height * format.channels else {
            throw ImagingError(
                .invalidArgument, source: "",
                message: "pixel buffer of \(bytes.count) bytes does not match \(width)x\(height) \(format.rawValue)")
        }
        self.width = width
        self.height = height
        self.format = format
        self.bytes = bytes
    }

    /// A buffer filled with one value.
    public init(width: Int, height: Int, format: PixelFormat, filledWith value: UInt8 = 0) {
        self.width = max(0, width)
        self.height = max(0, height)
        self.format = format
        self.bytes = [UInt8](repeating: value, count: self.width * self.height * format.channels)
    }

    /// A buffer whose bytes `initialize` writes, every one of them, without zero-filling first (for kernels that
    /// overwrite the whole image).
    package init(width: Int, height: Int, format: PixelFormat,
                 initializingWith initialize: (UnsafeMutableBufferPointer<UInt8>) -> Void) {
        self.width = max(0, width)
        self.height = max(0, height)
        self.format = format
        let count = self.width * self.height * format.channels
        self.bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            initialize(buffer)
            initialized = count
        }
    }

    /// The rectangle (`x`, `y`, `width`, `height`) of this image, clamped to it (at least one pixel).
    public func cropped(x: Int, y: Int, width w: Int, height h: Int) -> PixelBuffer {
        let x0 = min(max(0, x), max(0, width - 1)), y0 = min(max(0, y), max(0, height - 1))
        let cw = max(1, min(w, width - x0)), ch = max(1, min(h, height - y0))
        guard width > 0, height > 0, (x0, y0, cw, ch) != (0, 0, width, height) else { return self }
        let c = format.channels
        return PixelBuffer(width: cw, height: ch, format: format) { out in
            bytes.withUnsafeBufferPointer { src in
                for row in 0..<ch {
                    let from = ((y0 + row) * width + x0) * c
                    _ = UnsafeMutableBufferPointer(rebasing: out[(row * cw * c)..<((row + 1) * cw * c)]).initialize(from: src[from..<(from + cw * c)])
                }
            }
        }
    }

    /// Bytes per row.
    public var rowBytes: Int { width * format.channels }

    /// The samples of pixel (x, y).
    public func pixel(x: Int, y: Int) -> ArraySlice<UInt8> {
        let start = (y * width + x) * format.channels
        return bytes[start..<start + format.channels]
    }

    /// The same image in another channel layout (grey is replicated; alpha is 255 when added, dropped when removed).
    public func converted(to target: PixelFormat) -> PixelBuffer {
        if target == format { return self }
        var out = PixelBuffer(width: width, height: height, format: target)
        let n = width * height
        let sc = format.channels, tc = target.channels
        bytes.withUnsafeBufferPointer { src in
            out.bytes.withUnsafeMutableBufferPointer { dst in
                for i in 0..<n {
                    let s = i * sc, d = i * tc
                    switch (format, target) {
                    case (.gray8, _):
                        dst[d] = src[s]; dst[d + 1] = src[s]; dst[d + 2] = src[s]
                        if tc == 4 { dst[d + 3] = 255 }
                    case (_, .gray8):
                        // ITU-R BT.601 luma, as libjpeg and Pillow compute it.
                        let r = Int(src[s]), g = Int(src[s + 1]), b = Int(src[s + 2])
                        dst[d] = UInt8((r * 19595 + g * 38470 + b * 7471 + 32768) >> 16)
                    default:
                        dst[d] = src[s]; dst[d + 1] = src[s + 1]; dst[d + 2] = src[s + 2]
                        if tc == 4 { dst[d + 3] = 255 }
                    }
                }
            }
        }
        return out
    }
}

extension PixelBuffer {
    /// A smaller (or equal) copy by area averaging: each output pixel is the mean of the input pixels it covers.
    /// Upscaling repeats pixels (nearest). Used for thumbnails.
    public func resized(width newWidth: Int, height newHeight: Int) -> PixelBuffer {
        let w = max(1, newWidth), h = max(1, newHeight)
        if w == width && h == height { return self }
        var out = PixelBuffer(width: w, height: h, format: format)
        let c = format.channels
        bytes.withUnsafeBufferPointer { src in
            out.bytes.withUnsafeMutableBufferPointer { dst in
                for y in 0..<h {
                    let y0 = y * height / h, y1 = max(y0 + 1, (y + 1) * height / h)
                    for x in 0..<w {
                        let x0 = x * width / w, x1 = max(x0 + 1, (x + 1) * width / w)
                        let count = (y1 - y0) * (x1 - x0)
                        for k in 0..<c {
                            var sum = 0
                            for yy in y0..<y1 {
                                var i = (yy * width + x0) * c + k
                                for _ in x0..<x1 { sum += Int(src[i]); i += c }
                            }
                            dst[(y * w + x) * c + k] = UInt8((sum + count / 2) / count)
                        }
                    }
                }
            }
        }
        return out
    }
}
