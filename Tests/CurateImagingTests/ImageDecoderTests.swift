import CurateImaging
import CurateTestSupport
import Foundation
import Testing

private func fixture(_ relative: String) -> String { TestFixtures.path("CurateImaging", relative) }

private struct PNGSuiteReference: Sendable, CustomTestStringConvertible {
    let name: String, width: Int, height: Int, digest: String
    var testDescription: String { name }

    static let all: [PNGSuiteReference] = {
        let text = (try? String(contentsOfFile: fixture("pngsuite-rgba.tsv"), encoding: .utf8)) ?? ""
        return text.split(separator: "\n").map { line in
            let f = line.split(separator: "\t").map(String.init)
            return PNGSuiteReference(name: f[0], width: Int(f[1])!, height: Int(f[2])!, digest: f[3])
        }
    }()
}

@Suite struct PNGDecodeTests {
    @Test func referenceCoversEveryPNGSuiteFile() {
        let files = TestFixtures.files(in: fixture("pngsuite"), ext: "png").map { ($0 as NSString).lastPathComponent }
        #expect(files.count == 60)
        #expect(PNGSuiteReference.all.map(\.name) == files)
    }

    @Test(arguments: PNGSuiteReference.all)
    fileprivate func decodesLikeTheReference(_ ref: PNGSuiteReference) throws {
        let image = try ImageDecoder().decode(fileAt: fixture("pngsuite/\(ref.name)"), format: .rgba8)
        #expect(image.pixels.width == ref.width)
        #expect(image.pixels.height == ref.height)
        #expect(sha256Hex(image.pixels.bytes) == ref.digest)
    }

    @Test func headerOnlyReadReportsTypeAndDepth() throws {
        let decoder = ImageDecoder()
        let grey16 = try decoder.info(fileAt: fixture("pngsuite/basn0g16.png"))
        #expect(grey16.format == .png)
        #expect(grey16.colorType == "grey")
        #expect(grey16.bitDepth == 16)
        #expect(!grey16.interlaced)
        let palette = try decoder.info(fileAt: fixture("pngsuite/ibasn3p04.png"))
        #expect(palette.colorType == "palette")
        #expect(palette.bitDepth == 4)
        #expect(palette.interlaced)
        let trns = try decoder.info(fileAt: fixture("pngsuite/ftbbn2c16.png"))
        #expect(trns.hasTransparency && trns.hasAlpha)
        #expect(try decoder.info(fileAt: fixture("pngsuite/basn6a08.png")).colorType == "rgba")
    }

    @Test func sixteenBitSamplesRoundToNearest() throws {
        // A 1x3 16-bit grey image: 0x0080 rounds down to 0, 0x0081 up to 1 (v*255/65535 = 0.5019...), 0xFFFF to 255.
        let pixels: [UInt16] = [0x0080, 0x0081, 0xFFFF]
        let png = try makeGrey16PNG(pixels)
        let image = try ImageDecoder().decode(png, format: .rgb8)
        #expect(image.pixels.bytes == [0, 0, 0, 1, 1, 1, 255, 255, 255])
    }

    @Test func opaqueImagesDecodeToRGBAndTransparentOnesToRGBA() throws {
        #expect(try ImageDecoder().decode(fileAt: fixture("pngsuite/basn2c08.png")).pixels.format == .rgb8)
        #expect(try ImageDecoder().decode(fileAt: fixture("pngsuite/tbbn3p08.png".replacingOccurrences(of: "tbbn", with: "ftbbn"))).pixels.format == .rgba8)
        let grey = try ImageDecoder().decode(fileAt: fixture("pngsuite/basn0g08.png"), format: .gray8)
        #expect(grey.pixels.format == .gray8)
        #expect(grey.pixels.bytes.count == 32 * 32)
    }
}

/// Builds a valid 16-bit greyscale PNG by hand (stored zlib blocks), independent of libpng's writer.
func makeGrey16PNG(_ samples: [UInt16]) throws -> [UInt8] {
    var raw: [UInt8] = [0]  // filter type none
    for s in samples { raw += [UInt8(s >> 8), UInt8(s & 0xff)] }
    func crc32(_ data: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xffffffff
        for b in data {
            c ^= UInt32(b)
            for _ in 0..<8 { c = (c & 1) != 0 ? 0xedb88320 ^ (c >> 1) : c >> 1 }
        }
        return ~c
    }
    func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xff), UInt8((v >> 8) & 0xff), UInt8(v & 0xff)] }
    func chunk(_ type: String, _ body: [UInt8]) -> [UInt8] {
        let typed = Array(type.utf8) + body
        return be32(UInt32(body.count)) + typed + be32(crc32(typed))
    }
    var a: UInt32 = 1, b: UInt32 = 0
    for byte in raw { a = (a + UInt32(byte)) % 65521; b = (b + a) % 65521 }
    let len = UInt16(raw.count)
    let zlib: [UInt8] = [0x78, 0x01, 0x01, UInt8(len & 0xff), UInt8(len >> 8), UInt8(~len & 0xff), UInt8(~len >> 8)]
        + raw + be32(b << 16 | a)
    let ihdr = be32(UInt32(samples.count)) + be32(1) + [16, 0, 0, 0, 0]
    return [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + chunk("IHDR", ihdr) + chunk("IDAT", zlib) + chunk("IEND", [])
}

@Suite struct BrokenInputTests {
    @Test(arguments: TestFixtures.files(in: fixture("png-crashers"), ext: "png"))
    func crashersDecodeOrFailCleanly(_ path: String) {
        do {
            let image = try ImageDecoder().decode(fileAt: path)
            #expect(image.pixels.bytes.count == image.pixels.width * image.pixels.height * image.pixels.format.channels)
        } catch {
            #expect(error.source == path)
            #expect(!error.message.isEmpty)
            #expect([.corrupt, .truncated, .unsupported, .tooLarge].contains(error.code), "\(error)")
        }
    }

    /// Every PNG and JPEG fixture, and the bundled photos.
    static let truncationFixtures: [String] =
        TestFixtures.files(in: fixture("pngsuite"), ext: "png") + TestFixtures.files(in: fixture("jpeg"), ext: "png")
        + TestFixtures.files(in: fixture("jpeg"), ext: "jpg") + TestFixtures.files(in: fixture("exif"), ext: "jpg")
        + TestFixtures.files(in: fixture("exif"), ext: "png")
        + TestFixtures.files(in: TestFixtures.repoPath("datasets/photos/images"), ext: "jpg")
        + TestFixtures.files(in: TestFixtures.repoPath("datasets/photos/images"), ext: "png")

    @Test(arguments: truncationFixtures)
    func truncatedAtEverySixteenthFailsCleanly(_ path: String) {
        let bytes = TestFixtures.bytes(path)
        #expect(throws: Never.self) { try ImageDecoder().decode(bytes, source: path) }
        for k in 0..<16 {
            let cut = Array(bytes.prefix(bytes.count * k / 16))
            #expect(throws: ImagingError.self, "\(path) cut at \(k)/16") {
                try ImageDecoder().decode(cut, source: "cut.bin")
            }
            do {
                _ = try ImageDecoder().decode(cut, source: "cut.bin")
            } catch {
                #expect(error.source == "cut.bin")
                #expect(error.code != .invalidArgument)
            }
        }
    }

    @Test func hugeHeaderIsRefusedBeforeAllocation() throws {
        // A PNG whose IHDR claims 100,000 x 100,000 pixels (10^10: ~40 GB as RGBA) with one byte of data.
        var png = try makeGrey16PNG([1])
        // Patch width and height in IHDR (bytes 16..<24) and fix the CRC.
        let size: [UInt8] = [0x00, 0x01, 0x86, 0xA0]
        png.replaceSubrange(16..<20, with: size)
        png.replaceSubrange(20..<24, with: size)
        var c: UInt32 = 0xffffffff
        for b in png[12..<29] {
            c ^= UInt32(b)
            for _ in 0..<8 { c = (c & 1) != 0 ? 0xedb88320 ^ (c >> 1) : c >> 1 }
        }
        c = ~c
        png.replaceSubrange(29..<33, with: [UInt8(c >> 24), UInt8((c >> 16) & 0xff), UInt8((c >> 8) & 0xff), UInt8(c & 0xff)])
        let info = try ImageDecoder().info(of: png)
        #expect(info.width == 100_000 && info.height == 100_000)
        #expect {
            try ImageDecoder().decode(png, source: "huge.png")
        } throws: { error in
            let e = error as? ImagingError
            return e?.code == .tooLarge && e?.source == "huge.png" && e!.message.contains("100000x100000")
        }
        // A JPEG whose SOF claims 65,500 x 65,500 pixels is refused under the default limit, from its header.
        var jpeg = TestFixtures.bytes(fixture("jpeg/baseline.jpg"))
        let sof = try #require((0..<jpeg.count - 1).first { jpeg[$0] == 0xFF && jpeg[$0 + 1] == 0xC0 })
        jpeg.replaceSubrange((sof + 5)..<(sof + 9), with: [0xFF, 0xDC, 0xFF, 0xDC])
        #expect(try ImageDecoder().info(of: jpeg).width == 65_500)
        #expect {
            try ImageDecoder().decode(jpeg, source: "huge.jpg")
        } throws: { ($0 as? ImagingError)?.code == .tooLarge }
        // The limit is configurable: a 48x64 image refused under a limit of 1,000 pixels.
        #expect(throws: ImagingError.self) {
            try ImageDecoder(maxPixels: 1000).decode(fileAt: fixture("exif/orientation-6.jpg"))
        }
    }

    @Test func unknownAndEmptyInputs() {
        #expect {
            try ImageDecoder().decode(Array("hello, world".utf8), source: "notes.txt")
        } throws: { ($0 as? ImagingError)?.description == "notes.txt: not a PNG or JPEG file" }
        #expect {
            try ImageDecoder().decode([], source: "empty.png")
        } throws: { ($0 as? ImagingError)?.code == .truncated }
        #expect {
            try ImageDecoder().decode(fileAt: "/nonexistent/x.png")
        } throws: { ($0 as? ImagingError)?.description == "/nonexistent/x.png: no such file" }
    }
}
