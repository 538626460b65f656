extension StringProtocol {
    /// `trimmingCharacters(in: .whitespaces)` (tabs, Unicode space separators and, as Foundation has it, U+200B at
    /// either end) without Foundation's bridging: the per-row readers call it millions of times.
    package func trimmingWhitespace() -> String {
        func blank(_ s: Unicode.Scalar) -> Bool { s == "\t" || s == "\u{200B}" || s.properties.generalCategory == .spaceSeparator }
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !blank($0) }) else { return "" }
        let last = scalars.lastIndex(where: { !blank($0) })!
        if first == scalars.startIndex && scalars.index(after: last) == scalars.endIndex { return String(self) }
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars[first...last])
        return String(view)
    }
}
