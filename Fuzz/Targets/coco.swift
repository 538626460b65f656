// libFuzzer target: the coco label reader (LabelFormat.coco.read) on arbitrary bytes, through a file.
// Built and run by scripts/fuzz (see Fuzz/README.md); never part of the package build.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    fuzzLabels(.coco, extension: "json", Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}
