import CTurboJPEG

enum JPEGCodec {
    static let colorSpaceNames: [Int32: String] = [
        Int32(TJCS_RGB.rawValue): "rgb", Int32(TJCS_YCbCr.rawValue): "ycbcr", Int32(TJCS_GRAY.rawValue): "grey",
        Int32(TJCS_CMYK.rawValue): "cmyk", Int32(TJCS_YCCK.rawValue): "ycck",
    ]
    static let subsamplingNames: [Int32: String] = [
        Int32(TJSAMP_444.rawValue): "4:4:4", Int32(TJSAMP_422.rawValue): "4:2:2",
        Int32(TJSAMP_420.rawValue): "4:2:0", Int32(TJSAMP_GRAY.rawValue): "grey",
        Int32(TJSAMP_440.rawValue): "4:4:0", Int32(TJSAMP_411.rawValue): "4:1:1",
    ]

    static func info(_ data: UnsafeRawBufferPointer) throws(ImagingError) -> ImageInfo {
        guard let handle = tjInitDecompress() else {
            throw ImagingError(.corrupt, source: "", message: "JPEG: cannot create a decompressor")
        }
        defer { tjDestroy(handle) }
        return try info(data, handle: handle)
    }

    /// Header facts, read with an existing decompressor (decoding reuses it).
    static func info(_ data: UnsafeRawBufferPointer, handle: tjhandle) throws(ImagingError) -> ImageInfo {
        var width: Int32 = 0, height: Int32 = 0, subsamp: Int32 = 0, colorspace: Int32 = 0
        let status = tjDecompressHeader3(
            handle, data.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt(data.count),
            &width, &height, &subsamp, &colorspace)
        guard status == 0 else { throw error(handle) }
        var progressive = false
        var precision = 8
        forEachJPEGSegment(data) { marker, payload in
            // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC).
            if (0xC0...0xCF).contains(marker), ![0xC4, 0xC8, 0xCC].contains(marker) {
                progressive = marker == 0xC2 || marker == 0xC6 || marker == 0xCA || marker == 0xCE
                if payload.count > 0 { precision = Int(payload[0]) }
                return false
            }
            return true
        }
        return ImageInfo(
            format: .jpeg, width: Int(width), height: Int(height),
            colorType: colorSpaceNames[colorspace] ?? "colorspace \(colorspace)", bitDepth: precision,
            interlaced: progressive, hasTransparency: false, subsampling: subsamplingNames[subsamp],
            orientation: readExifOrientation(jpeg: data))
    }

    /// Scaled output size for a 1/`denominator` DCT-domain decode (TurboJPEG's TJSCALED).
    static func scaledSize(width: Int, height: Int, denominator: Int) -> (Int, Int) {
        ((width + denominator - 1) / denominator, (height + denominator - 1) / denominator)
    }

    static func decode(
        _ data: UnsafeRawBufferPointer, info: ImageInfo, format: PixelFormat, denominator: Int, strict: Bool,
        handle: tjhandle
    ) throws(ImagingError) -> PixelBuffer {
        let (width, height) = scaledSize(width: info.width, height: info.height, denominator: denominator)
        let isCMYK = info.colorType == "cmyk" || info.colorType == "ycck"
        let (pixelFormat, channels): (TJPF, Int) =
            isCMYK ? (TJPF_CMYK, 4) : format == .gray8 ? (TJPF_GRAY, 1) : (TJPF_RGB, 3)
        var flags = TJFLAG_LIMITSCANS
        if strict { flags |= TJFLAG_STOPONWARNING }
        let count = width * height * channels
        var status: Int32 = 0
        let raw = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            status = tjDecompress2(
                handle, data.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt(data.count),
                buffer.baseAddress, Int32(width), Int32(width * channels), Int32(height),
                Int32(pixelFormat.rawValue), flags)
            // TurboJPEG fills the whole buffer whenever it returns, even on error.
            initialized = count
        }
        if status != 0 {
            let warning = tjGetErrorCode(handle) == Int32(TJERR_WARNING.rawValue)
            if strict || !warning { throw error(handle) }
        }
        var pixels: PixelBuffer
        if isCMYK {
            pixels = PixelBuffer(width: width, height: height, format: .rgb8)
            cmykToRGB(raw, into: &pixels.bytes)
        } else {
            pixels = try PixelBuffer(
                width: width, height: height, format: channels == 1 ? .gray8 : .rgb8, bytes: raw)
        }
        return pixels.converted(to: format)
    }

    /// libjpeg hands out Adobe-style (inverted) CMYK; R = C·K/255 on inverted values.
    private static func cmykToRGB(_ cmyk: [UInt8], into rgb: inout [UInt8]) {
        let n = cmyk.count / 4
        cmyk.withUnsafeBufferPointer { src in
            rgb.withUnsafeMutableBufferPointer { dst in
                for i in 0..<n {
                    let k = Int(src[4 * i + 3])
                    for c in 0..<3 { dst[3 * i + c] = UInt8((Int(src[4 * i + c]) * k + 127) / 255) }
                }
            }
        }
    }

    /// libjpeg-turbo's fastest settings that keep the requested quality: the fast integer forward DCT up to
    /// quality 95 (above it the fast DCT loses precision, and TurboJPEG itself switches to the accurate one from
    /// 96), Huffman tables not optimised, baseline (not progressive) coding.
    static func fastestFlags(quality: Int) -> Int32 {
        quality <= 95 ? TJFLAG_FASTDCT : TJFLAG_ACCURATEDCT
    }

    static func encode(_ pixels: PixelBuffer, quality: Int, subsampling: JPEGSubsampling) throws(ImagingError) -> [UInt8] {
        guard let handle = tjInitCompress() else {
            throw ImagingError(.corrupt, source: "", message: "JPEG: cannot create a compressor")
        }
        defer { tjDestroy(handle) }
        let source = pixels.format == .rgba8 ? pixels.converted(to: .rgb8) : pixels
        let pixelFormat = source.format == .gray8 ? TJPF_GRAY : TJPF_RGB
        let samp = source.format == .gray8 ? TJSAMP_GRAY : subsampling.tj
        var out: UnsafeMutablePointer<UInt8>?
        var size: UInt = 0
        let status = source.bytes.withUnsafeBufferPointer { buffer in
            tjCompress2(
                handle, buffer.baseAddress, Int32(source.width), Int32(source.rowBytes), Int32(source.height),
                Int32(pixelFormat.rawValue), &out, &size, Int32(samp.rawValue), Int32(min(100, max(1, quality))),
                fastestFlags(quality: quality))
        }
        defer { if let out { tjFree(out) } }
        guard status == 0, let out else { throw error(handle) }
        return Array(UnsafeBufferPointer(start: out, count: Int(size)))
    }

    private static func error(_ handle: tjhandle) -> ImagingError {
        let text = tjGetErrorStr2(handle).map { String(cString: $0) } ?? "unknown error"
        if text.contains("Premature end") || text.contains("insufficient data") {
            return ImagingError(.truncated, source: "", message: "truncated JPEG: \(text)")
        }
        if text.contains("Unsupported") {
            return ImagingError(.unsupported, source: "", message: "unsupported JPEG: \(text)")
        }
        return ImagingError(.corrupt, source: "", message: "corrupt JPEG: \(text)")
    }
}

/// Chroma subsampling for JPEG encoding.
public enum JPEGSubsampling: String, Sendable, Hashable, CaseIterable, Codable {
    case s444 = "4:4:4", s422 = "4:2:2", s420 = "4:2:0"

    var tj: TJSAMP {
        switch self {
        case .s444: TJSAMP_444
        case .s422: TJSAMP_422
        case .s420: TJSAMP_420
        }
    }
}
