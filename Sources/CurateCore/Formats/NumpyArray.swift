import Foundation

/// A NumPy `.npy` array of numbers (format 1.0–3.0, C order), held as `Double`s, for model outputs
/// (probabilities, embeddings) that tools exchange with Python.
///
/// ```swift
/// let probs = try NumpyArray(contentsOf: "predictions.npy")   // shape [N, K]
/// let row = probs.row(3)
/// ```
public struct NumpyArray: Sendable, Equatable {
    public var shape: [Int]
    /// Row-major values.
    public var values: [Double]

    public init(shape: [Int], values: [Double]) {
        self.shape = shape
        self.values = values
    }

    /// The `i`-th row of a 2-D array.
    public func row(_ i: Int) -> ArraySlice<Double> {
        let width = shape.count > 1 ? shape.dropFirst().reduce(1, *) : 1   // checked when read
        return values[(i * width)..<((i + 1) * width)]
    }

    /// Reads a file; `source` names it in errors.
    /// - Throws: ``LabelError`` naming the file and what is wrong (not .npy, Fortran order, unsupported dtype,
    ///   truncated data).
    public init(contentsOf path: String) throws(LabelError) {
        try self.init(bytes: [UInt8](readFile(path)), source: path)
    }

    public init(bytes: [UInt8], source: String) throws(LabelError) {
        guard bytes.count >= 10, bytes[0] == 0x93, Array(bytes[1..<6]) == Array("NUMPY".utf8) else {
            throw LabelError(.malformed, file: source, message: "not a .npy file (no \\x93NUMPY magic)")
        }
        let major = bytes[6]
        let headerLength: Int, start: Int
        if major == 1 {
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            start = 10
        } else if major == 2 || major == 3, bytes.count >= 12 {
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            start = 12
        } else {
            throw LabelError(.malformed, file: source, message: "unsupported .npy version \(major)")
        }
        guard bytes.count >= start + headerLength else { throw LabelError(.malformed, file: source, message: "truncated .npy header") }
        let header = String(decoding: bytes[start..<(start + headerLength)], as: UTF8.self)
        func field(_ key: String) -> String? {
            guard let range = header.range(of: "'\(key)':") else { return nil }
            return String(header[range.upperBound...]).trimmingCharacters(in: .whitespaces)
        }
        guard let descrField = field("descr"), descrField.hasPrefix("'"),
              let descr = descrField.dropFirst().split(separator: "'", maxSplits: 1).first.map(String.init) else {
            throw LabelError(.malformed, file: source, message: "the .npy header has no dtype ('descr')")
        }
        if let order = field("fortran_order"), order.hasPrefix("True") {
            throw LabelError(.malformed, file: source, message: "Fortran-order arrays are not supported; save with np.ascontiguousarray")
        }
        guard let shapeField = field("shape"), shapeField.hasPrefix("("), let close = shapeField.firstIndex(of: ")") else {
            throw LabelError(.malformed, file: source, message: "the .npy header has no shape")
        }
        let dims = shapeField[shapeField.index(after: shapeField.startIndex)..<close]
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        // Sizes come from the file: each dimension a non-negative integer, and every product checked for overflow.
        var shape: [Int] = []
        var count = 1
        for dim in dims {
            guard let n = Int(dim), n >= 0 else {
                throw LabelError(.malformed, file: source, message: "the .npy shape has a bad dimension '\(dim.prefix(40))' (expected non-negative integers)")
            }
            let (product, overflow) = count.multipliedReportingOverflow(by: n)
            guard !overflow else { throw LabelError(.malformed, file: source, message: "the .npy shape (\(dims.joined(separator: ", "))) is too large") }
            shape.append(n)
            count = product
        }
        let kinds: [String: (size: Int, read: (UnsafeRawPointer) -> Double)] = [
            "<f4": (4, { Double(Float(bitPattern: UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self)))) }),
            "<f8": (8, { Double(bitPattern: UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self))) }),
            "<i4": (4, { Double(Int32(littleEndian: $0.loadUnaligned(as: Int32.self))) }),
            "<i8": (8, { Double(Int64(littleEndian: $0.loadUnaligned(as: Int64.self))) }),
            "|u1": (1, { Double($0.load(as: UInt8.self)) }),
            "|b1": (1, { Double($0.load(as: UInt8.self)) }),
        ]
        guard let kind = kinds[descr] else {
            throw LabelError(.malformed, file: source, message: "unsupported dtype '\(descr)' (expected float32, float64, int32, int64, uint8 or bool, little-endian)")
        }
        let body = start + headerLength
        let (needed, overflow) = count.multipliedReportingOverflow(by: kind.size)
        guard !overflow, bytes.count - body >= needed else {
            throw LabelError(.malformed, file: source, message: "truncated .npy data: shape \(shape) needs \(overflow ? "more than \(Int.max)" : String(needed)) bytes, the file has \(bytes.count - body)")
        }
        let values = bytes.withUnsafeBytes { raw in
            (0..<count).map { kind.read(raw.baseAddress! + body + $0 * kind.size) }
        }
        self.init(shape: shape, values: values)
    }

    /// The array as `.npy` bytes (version 1.0, little-endian float32 or float64, C order).
    public func npyBytes(float32: Bool = true) -> [UInt8] {
        let dims = shape.count == 1 ? "\(shape[0])," : shape.map(String.init).joined(separator: ", ")
        var header = "{'descr': '\(float32 ? "<f4" : "<f8")', 'fortran_order': False, 'shape': (\(dims)), }"
        // Magic (6) + version (2) + length (2) + header, padded with spaces to a multiple of 64, ending in \n.
        header += String(repeating: " ", count: (64 - (10 + header.utf8.count + 1) % 64) % 64) + "\n"
        var out: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count & 0xff), UInt8(header.utf8.count >> 8)]
        out += Array(header.utf8)
        out.reserveCapacity(out.count + values.count * (float32 ? 4 : 8))
        for v in values {
            if float32 {
                withUnsafeBytes(of: Float(v).bitPattern.littleEndian) { out += $0 }
            } else {
                withUnsafeBytes(of: v.bitPattern.littleEndian) { out += $0 }
            }
        }
        return out
    }
}
