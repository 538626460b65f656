import Foundation

/// CSV with a header row: `path,label` for one class per item; `label` may list several classes
/// separated by `|` (multi-label) or be empty (an unlabeled item). Optional columns: `source`
/// (`annotator:ID`, `model:NAME@VERSION`, `consensus`), `annotator` (shorthand for `source`),
/// `created` (ISO 8601), `seconds` (time spent) and `confidence`. Several rows may name the same path
/// (one per annotator). Quoting follows RFC 4180.
enum CSVFormat {
    /// Splits CSV text into records, each with the 1-based line it starts on (RFC 4180 quoting; a BOM is skipped).
    /// Works on UTF-8 bytes: a separator or quote byte never occurs inside a multi-byte character.
    static func records(_ text: String, file: String) throws(LabelError) -> [(line: Int, fields: [String])] {
        var text = text
        return try text.withUTF8 { bytes in Result { () throws(LabelError) -> [(line: Int, fields: [String])] in
            var result: [(Int, [String])] = []
            var fields: [String] = []
            var field: [UInt8] = []
            var i = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
            var line = 1, recordLine = 1
            var inQuotes = false, quoted = false
            let quote = UInt8(ascii: "\""), comma = UInt8(ascii: ","), newline = UInt8(ascii: "\n"), ret = UInt8(ascii: "\r")
            func finishField() {
                fields.append(String(decoding: field, as: UTF8.self))
                field.removeAll(keepingCapacity: true)
                quoted = false
            }
            while i < bytes.count {
                let c = bytes[i]
                if inQuotes {
                    if c == quote {
                        if i + 1 < bytes.count, bytes[i + 1] == quote { field.append(quote); i += 1 } else { inQuotes = false }
                    } else {
                        if c == newline { line += 1 }
                        field.append(c)
                    }
                } else if c == quote && field.isEmpty && !quoted {
                    inQuotes = true
                    quoted = true
                } else if c == comma {
                    finishField()
                } else if c == newline || c == ret {
                    if c == ret, i + 1 < bytes.count, bytes[i + 1] == newline { i += 1 }
                    finishField()
                    if !(fields.count == 1 && fields[0].isEmpty) { result.append((recordLine, fields)) }
                    fields.removeAll(keepingCapacity: true)
                    line += 1
                    recordLine = line
                } else {
                    field.append(c)
                }
                i += 1
            }
            if inQuotes {
                throw LabelError(.malformed, file: file, location: .line(recordLine), message: "unterminated quoted field")
            }
            if !field.isEmpty || !fields.isEmpty || quoted {
                finishField()
                result.append((recordLine, fields))
            }
            return result
        } }.get()
    }

    static func read(from path: String, options: LabelReadOptions) throws(LabelError) -> LabelReadResult {
        let text = try readText(path)
        let rows = try records(text, file: path)
        guard let header = rows.first else {
            throw LabelError(.malformed, file: path, message: "empty CSV; expected a header row 'path,label'")
        }
        let columns = header.fields.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        guard let pathColumn = columns.firstIndex(of: "path"), let labelColumn = columns.firstIndex(of: "label") else {
            throw LabelError(.malformed, file: path, location: .line(header.line),
                             message: "header must name the columns 'path' and 'label' (found: \(header.fields.joined(separator: ",")))")
        }
        let sourceColumn = columns.firstIndex(of: "source"), annotatorColumn = columns.firstIndex(of: "annotator")
        let createdColumn = columns.firstIndex(of: "created"), secondsColumn = columns.firstIndex(of: "seconds")
        let confidenceColumn = columns.firstIndex(of: "confidence")
        var check = RecordChecker(file: path, options: options)
        var schema = options.schema ?? LabelSchema(classes: [])
        var items: [Item] = []
        var known = Set<String>()
        var rowKeys = Set<String>()
        var annotations: [Annotation] = []
        var multilabel = false
        rowLoop: for row in rows.dropFirst() {
            let location = RecordLocation.line(row.line)
            guard row.fields.count == columns.count else {
                try check.reject(location, "has \(row.fields.count) fields, the header has \(columns.count)")
                continue
            }
            let cell = row.fields[labelColumn].trimmingWhitespace()
            let names = cell.split(separator: "|").map { $0.trimmingWhitespace() }.filter { !$0.isEmpty }
            if check.skips(row.fields[pathColumn]) {
                // Another reader's record: only its class names count (ids are numbered from all of them).
                if options.schema == nil { for name in names { _ = schema.addClass(named: name) } }
                if !names.isEmpty && (names.count > 1 || cell.contains("|")) { multilabel = true }
                continue
            }
            guard let itemPath = try check.itemPath(row.fields[pathColumn], at: location) else { continue }
            var source = AnnotationSource.imported
            if let c = sourceColumn, !row.fields[c].isEmpty {
                guard let parsed = AnnotationSource(row.fields[c]) else {
                    try check.reject(location, "source '\(row.fields[c])' is not annotator:ID, model:NAME@VERSION or consensus")
                    continue
                }
                source = parsed
            } else if let c = annotatorColumn, !row.fields[c].isEmpty {
                source = .annotator(row.fields[c])
            }
            var created: Date?
            if let c = createdColumn, !row.fields[c].isEmpty {
                guard let date = parseDate(row.fields[c]) else {
                    try check.reject(location, "created '\(row.fields[c])' is not an ISO 8601 time")
                    continue
                }
                created = date
            }
            var numbers: [Double?] = []
            for (column, name) in [(secondsColumn, "seconds"), (confidenceColumn, "confidence")] {
                guard let c = column, !row.fields[c].isEmpty else { numbers.append(nil); continue }
                guard let value = Double(row.fields[c]), value.isFinite, value >= 0 else {
                    try check.reject(location, "\(name) '\(row.fields[c])' must be a finite non-negative number")
                    continue rowLoop
                }
                if name == "confidence", value > 1 {
                    try check.reject(location, "confidence \(value) is above 1")
                    continue rowLoop
                }
                numbers.append(value)
            }
            // One row per item and annotator, as JSON Lines has one line per item: a repeated row is a mistake,
            // never merged into a multi-label answer.
            guard rowKeys.insert(itemPath + "\u{0}" + source.description).inserted else {
                try check.reject(location, "duplicate row for '\(itemPath)'\(source == .imported ? "" : " by \(source)") (one row per item and annotator; several classes go in one cell as a|b)")
                continue
            }
            if known.insert(itemPath).inserted {
                items.append(Item(path: itemPath, width: nil, height: nil))
            }
            if names.isEmpty { continue }
            var ids: [Int] = []
            for name in names {
                if options.schema == nil {
                    ids.append(schema.addClass(named: name))
                } else {
                    guard let id = try check.classID(named: name, schema: schema, at: location) else { continue rowLoop }
                    ids.append(id)
                }
            }
            let label: Label
            if names.count > 1 || cell.contains("|") {
                label = .multilabel(Array(Set(ids)).sorted())
                multilabel = true
            } else {
                label = .classification(ids[0])
            }
            annotations.append(Annotation(item: itemPath, label: label, source: source, createdAt: created,
                                          secondsSpent: numbers[0], confidence: numbers[1]))
        }
        if options.schema == nil {
            // Classes named in the file get ids in sorted-name order, so the ids do not depend on row order.
            let sorted = LabelSchema(classNames: schema.classes.map(\.name).sorted())
            let remap = Dictionary(uniqueKeysWithValues: schema.classes.map { ($0.id, sorted.id(named: $0.name)!) })
            annotations = annotations.map { annotation in
                var copy = annotation
                switch annotation.label {
                case .classification(let id): copy.label = .classification(remap[id]!)
                case .multilabel(let ids): copy.label = .multilabel(ids.map { remap[$0]! }.sorted())
                default: break
                }
                return copy
            }
            schema = sorted
        }
        schema.tasks = multilabel ? [.multilabel] : [.classification]
        if let sizeOf = options.imageSize, let root = options.imagesRoot {
            items = items.map { item in
                var copy = item
                if let size = sizeOf(root + "/" + item.path) { copy.width = size.width; copy.height = size.height }
                return copy
            }
        }
        return LabelReadResult(labelSet: LabelSet(schema: schema, items: items, annotations: annotations), skipped: check.skipped)
    }

    static func write(_ set: LabelSet, to path: String) throws(LabelError) {
        let extended = set.annotations.contains {
            $0.source != .imported || $0.createdAt != nil || $0.secondsSpent != nil || $0.confidence != nil
        }
        var out = extended ? "path,label,source,created,seconds,confidence\n" : "path,label\n"
        let grouped = set.annotationsByItem()
        for item in set.items {
            let annotations = grouped[item.path] ?? []
            if annotations.isEmpty {
                out += quote(item.path) + "," + (extended ? ",,,," : "") + "\n"
                continue
            }
            for annotation in annotations {
                let cell: String
                switch annotation.label {
                case .classification(let id): cell = set.schema.name(of: id)
                case .multilabel(let ids): cell = ids.map { set.schema.name(of: $0) }.joined(separator: "|") + (ids.count == 1 ? "|" : "")
                default:
                    throw LabelError(.unrepresentable, file: path, message: "CSV holds class labels only; '\(item.path)' has a \(kind(annotation.label)) label")
                }
                out += quote(item.path) + "," + quote(cell)
                if extended {
                    out += "," + quote(annotation.source.description) + "," + (annotation.createdAt.map(formatDate) ?? "")
                    out += "," + (annotation.secondsSpent.map { "\($0)" } ?? "") + "," + (annotation.confidence.map { "\($0)" } ?? "")
                }
                out += "\n"
            }
        }
        try writeFile(Data(out.utf8), to: path)
    }

    static func quote(_ field: String) -> String {
        if field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) {
            return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        return field
    }
}

/// ISO 8601 with or without fractional seconds.
func parseDate(_ text: String) -> Date? {
    (try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text))
        ?? (try? Date.ISO8601FormatStyle().parse(text))
}

/// ISO 8601 in UTC with milliseconds.
func formatDate(_ date: Date) -> String {
    date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
}
