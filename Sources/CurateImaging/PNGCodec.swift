import CCurateCodecs

enum PNGCodec {
    static let colorTypeNames: [Int32: String] = [0: "grey", 2: "rgb", 3: "palette", 4: "grey+alpha", 6: "rgba"]

    /// Walks the chunk list before libpng sees it: every chunk must fit in the bytes there are, so a chunk
    /// that declares gigabytes in a small file is refused instead of allocated (libpng sizes its buffer from the
    /// declared length).
    static func checkChunks(_ data: UnsafeRawBufferPointer) throws(ImagingError) {
        var offset = 8
        while offset < data.count {
            guard data.count - offset >= 12 else {
                throw ImagingError(.truncated, source: "", message: "truncated PNG: a chunk header is cut off at byte \(offset)")
            }
            let length = Int(data[offset]) << 24 | Int(data[offset + 1]) << 16 | Int(data[offset + 2]) << 8 | Int(data[offset + 3])
            let type = String(decoding: data[(offset + 4)..<(offset + 8)].map { $0 >= 0x20 && $0 < 0x7f ? $0 : UInt8(ascii: "?") }, as: UTF8.self)
            guard length <= 0x7fff_ffff, length <= data.count - offset - 12 else {
                throw ImagingError(.truncated, source: "", message: "truncated PNG: chunk '\(type)' at byte \(offset) declares \(length) bytes, the file has \(data.count - offset - 12) left")
            }
            offset += 12 + length
            if type == "IEND" { break }
        }
    }

    static func info(_ data: UnsafeRawBufferPointer) throws(ImagingError) -> ImageInfo {
        try checkChunks(data)
        var info = curate_png_info()
        var message = [CChar](repeating: 0, count: 256)
        let status = curate_png_read_info(
            data.baseAddress?.assumingMemoryBound(to: UInt8.self), data.count, &info, &message, message.count)
        guard status == Int32(CURATE_PNG_OK) else { throw error(status: status, message: message) }
        return ImageInfo(
            format: .png, width: Int(info.width), height: Int(info.height),
            colorType: colorTypeNames[info.color_type] ?? "type \(info.color_type)",
            bitDepth: Int(info.bit_depth), interlaced: info.interlaced != 0,
            hasTransparency: info.has_trns != 0, subsampling: nil, orientation: .up)
    }

    static func decode(
        _ data: UnsafeRawBufferPointer, info: ImageInfo, format: PixelFormat, maxPixels: Int
    ) throws(ImagingError) -> PixelBuffer {
        try checkChunks(data)
        let decodeFormat: PixelFormat = format == .rgba8 ? .rgba8 : .rgb8
        let count = info.width * info.height * decodeFormat.channels
        var message = [CChar](repeating: 0, count: 256)
        var bytes = [UInt8]()
        var status: Int32 = 0
        bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            status = curate_png_decode(
                data.baseAddress?.assumingMemoryBound(to: UInt8.self), data.count,
                Int32(decodeFormat.channels), UInt64(maxPixels), buffer.baseAddress, count,
                &message, message.count)
            initialized = status == Int32(CURATE_PNG_OK) ? count : 0
        }
        guard status == Int32(CURATE_PNG_OK) else { throw error(status: status, message: message) }
        let pixels = try PixelBuffer(width: info.width, height: info.height, format: decodeFormat, bytes: bytes)
        return format == .gray8 ? pixels.converted(to: .gray8) : pixels
    }

    static func encode(_ pixels: PixelBuffer, compressionLevel: Int) throws(ImagingError) -> [UInt8] {
        var out: UnsafeMutablePointer<UInt8>?
        var size = 0
        var message = [CChar](repeating: 0, count: 256)
        let status = pixels.bytes.withUnsafeBufferPointer { buffer in
            curate_png_encode(
                buffer.baseAddress, UInt32(pixels.width), UInt32(pixels.height), Int32(pixels.format.channels),
                Int32(compressionLevel), &out, &size, &message, message.count)
        }
        guard status == Int32(CURATE_PNG_OK), let out else { throw error(status: status, message: message) }
        defer { curate_free(out) }
        return Array(UnsafeBufferPointer(start: out, count: size))
    }

    private static func error(status: Int32, message: [CChar]) -> ImagingError {
        let text = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        switch status {
        case Int32(CURATE_PNG_TOO_LARGE):
            return ImagingError(.tooLarge, source: "", message: "PNG exceeds the pixel limit")
        case Int32(CURATE_PNG_NO_MEMORY):
            return ImagingError(.corrupt, source: "", message: "PNG: out of memory")
        case Int32(CURATE_PNG_BAD_ARGUMENT):
            return ImagingError(.invalidArgument, source: "", message: "PNG: \(text)")
        default:
            if text.contains("truncated") || text.contains("Not enough image data") {
                return ImagingError(.truncated, source: "", message: "truncated PNG: \(text)")
            }
            if text.hasPrefix("not a PNG") {
                return ImagingError(.unknownFormat, source: "", message: text)
            }
            return ImagingError(.corrupt, source: "", message: "corrupt PNG: \(text)")
        }
    }
}
