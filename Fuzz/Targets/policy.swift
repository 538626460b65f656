// libFuzzer target: routing policy YAML (RoutingPolicy(yaml:))
// Built and run by scripts/fuzz (see Fuzz/README.md); never part of the package build.
import CurateRouting

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    _ = try? RoutingPolicy(yaml: String(decoding: bytes, as: UTF8.self), file: "fuzz.yaml")
    return 0
}
