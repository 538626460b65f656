// libFuzzer target: the csv label reader (LabelFormat.csv.read) on arbitrary bytes, through a file.
// Built and run by scripts/fuzz (see Fuzz/README.md); never part of the package build.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    fuzzLabels(.csv, extension: "csv", Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}
