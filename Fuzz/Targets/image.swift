// libFuzzer target: PNG and JPEG headers and decode (ImageDecoder) at every DCT scale
// Built and run by scripts/fuzz (see Fuzz/README.md); never part of the package build.
import CurateImaging

let decoder = ImageDecoder(maxPixels: 1 << 22)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    _ = try? decoder.info(of: bytes)
    _ = try? decoder.decode(bytes)
    _ = try? decoder.decode(bytes, format: .gray8)
    return 0
}
