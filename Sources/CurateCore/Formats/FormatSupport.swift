import Foundation

/// Helpers every format reader and writer shares: file access, JSON error locations, labels by kind.

func kind(_ label: Label) -> String {
    switch label {
    case .classification: "classification"
    case .multilabel: "multi-label"
    case .object: "object"
    case .span: "text span"
    }
}

/// `$.images[3].width` from a decoding error's coding path.
func decodingLocation(_ error: DecodingError) -> RecordLocation {
    let context: DecodingError.Context
    switch error {
    case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c): context = c
    case .keyNotFound(let key, let c):
        return .jsonPath(jsonPath(c.codingPath + [key]))
    @unknown default: return .file
    }
    return context.codingPath.isEmpty ? .file : .jsonPath(jsonPath(context.codingPath))
}

func jsonPath(_ path: [any CodingKey]) -> String {
    "$" + path.map { key in key.intValue.map { "[\($0)]" } ?? ".\(key.stringValue)" }.joined()
}

func decodingMessage(_ error: DecodingError) -> String {
    switch error {
    case .keyNotFound(let key, _): return "missing required field '\(key.stringValue)'"
    case .typeMismatch(let type, let c):
        return "expected \(typeName(type)) \(c.debugDescription.contains("NaN") ? "(NaN is not allowed)" : "")".trimmingCharacters(in: .whitespaces)
    case .valueNotFound(let type, _): return "expected \(typeName(type)), found null"
    case .dataCorrupted(let c):
        var text = "not valid JSON"
        if let underlying = c.underlyingError {
            let detail = "\(underlying)"
            if let range = detail.range(of: "around line") ?? detail.range(of: "line ") {
                text += " (" + detail[range.lowerBound...].prefix(60).trimmingCharacters(in: CharacterSet(charactersIn: ".\")")) + ")"
            }
        } else if !c.debugDescription.isEmpty {
            text = c.debugDescription
        }
        if "\(c.underlyingError.map { "\($0)" } ?? "")".contains("'N'") { text += "; NaN is not valid JSON" }
        return text
    @unknown default: return "\(error)"
    }
}

private func typeName(_ type: Any.Type) -> String {
    switch type {
    case is Int.Type: "an integer"
    case is Double.Type: "a number"
    case is String.Type: "a string"
    default: "\(type)".contains("Array") ? "an array" : "an object"
    }
}

/// Why `data` is not JSON, with the line and column when Foundation says, and a hint for bare NaN.
func jsonSyntaxMessage(_ data: Data, decoding: DecodingError? = nil) -> String {
    var message = "not valid JSON"
    do {
        _ = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        // The syntax is fine: a value does not fit where it goes (an id of 10^30 is not an integer Swift holds).
        var detail = "a value does not fit its field"
        if case .dataCorrupted(let context)? = decoding {
            let text = context.underlyingError.map { "\($0)" } ?? context.debugDescription
            if let range = text.range(of: #"[Nn]umber [^ ]+"#, options: .regularExpression) { detail = "the \(text[range].lowercased()) does not fit a 64-bit integer or double" }
        }
        return "valid JSON, but \(detail) (ids and sizes are integers up to 9223372036854775807)"
    } catch {
        let detail = ((error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String) ?? ""
        if let range = detail.range(of: "line ") {
            message += " (" + detail[range.lowerBound...].trimmingCharacters(in: CharacterSet(charactersIn: ". ")) + ")"
        }
    }
    let text = String(decoding: data, as: UTF8.self)
    if let match = text.range(of: #"[\[,:]\s*-?(NaN|Infinity)\b"#, options: .regularExpression) {
        let line = text[..<match.lowerBound].reduce(1) { $1 == "\n" ? $0 + 1 : $0 }
        message += "; line \(line) has NaN or Infinity, which JSON does not allow (write null or drop the record)"
    }
    return message
}

/// Files ending in `.ext` below `folder/subfolder` when that folder exists, else below `folder`,
/// as sorted paths relative to the folder searched (returned as `base`).
func filesWithExtension(_ ext: String, in folder: String, preferring subfolder: String) -> (base: String, files: [String]) {
    var base = folder
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: folder + "/" + subfolder, isDirectory: &isDirectory), isDirectory.boolValue {
        base = folder + "/" + subfolder
    }
    let files = (FileManager.default.enumerator(atPath: base)?.allObjects as? [String] ?? [])
        .filter { $0.hasSuffix("." + ext) }.sorted()
    return (base, files)
}

/// Reads a whole file, with errors naming it (regular files only, size capped: see ``InputFile``).
func readFile(_ path: String) throws(LabelError) -> Data {
    do { return try InputFile.read(path) } catch {
        switch error {
        case .notFound: throw LabelError(.notFound, file: path, message: error.description)
        case .folder, .unreadable: throw LabelError(.io, file: path, message: error.description)
        case .notRegular, .tooLarge: throw LabelError(.malformed, file: path, message: error.description)
        }
    }
}

/// A text file's contents: UTF-8 (a leading byte-order mark dropped), or an error naming the line of the first
/// invalid byte (lenient decoding would turn it into U+FFFD, and a class named with it would be stored).
func readText(_ path: String) throws(LabelError) -> String {
    var data = try readFile(path)
    if data.starts(with: [0xEF, 0xBB, 0xBF]) { data.removeFirst(3) }
    if let text = String(validating: data, as: UTF8.self) { return text }
    // Find the first invalid byte: decode prefixes line by line.
    var line = 1
    var start = data.startIndex
    while start < data.endIndex {
        let end = data[start...].firstIndex(of: 0x0A) ?? data.endIndex
        if String(validating: data[start..<end], as: UTF8.self) == nil { break }
        line += 1
        start = end < data.endIndex ? data.index(after: end) : end
    }
    throw LabelError(.malformed, file: path, location: .line(line), message: "not valid UTF-8 text (save the file as UTF-8)")
}

/// Writes a file atomically (temporary file, then rename), creating parent folders.
func writeFile(_ data: Data, to path: String) throws(LabelError) {
    let url = URL(fileURLWithPath: path)
    do {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.write(to: url, options: .atomic)
    } catch {
        throw LabelError(.io, file: path, message: "cannot write the file: \(error.localizedDescription)")
    }
}
