// libFuzzer target: the .npy reader (NumpyArray(bytes:))
// Built and run by scripts/fuzz (see Fuzz/README.md); never part of the package build.
import CurateCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    _ = try? NumpyArray(bytes: bytes, source: "fuzz.npy")
    return 0
}
