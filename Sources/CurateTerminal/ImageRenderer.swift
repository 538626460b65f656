import CChafa
import CurateImaging
import Foundation

/// Draws pixels as terminal text with chafa: truecolor symbols by default, 256 colours, or plain ASCII (for
/// `NO_COLOR` or dumb terminals). Kitty/sixel graphics are not used: symbols work everywhere, in tmux and over ssh.
public struct ImageRenderer: Sendable {
    public enum Mode: String, Sendable { case truecolor, colors256 = "256", ascii }

    public var mode: Mode

    public init(mode: Mode) { self.mode = mode }

    /// The mode for this environment: ASCII when `NO_COLOR` is set or TERM is dumb, 256 colours unless
    /// COLORTERM says truecolor (or 24bit).
    public static func detect(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> Mode {
        if environment["NO_COLOR"].map({ !$0.isEmpty }) == true || environment["TERM"] == "dumb" { return .ascii }
        if let c = environment["COLORTERM"], c.contains("truecolor") || c.contains("24bit") { return .truecolor }
        return .colors256
    }

    /// The size in cells that fits `columns` × `rows` with the image's aspect (cells are about twice as tall as wide).
    public static func fit(width: Int, height: Int, columns: Int, rows: Int) -> (columns: Int, rows: Int) {
        guard width > 0, height > 0 else { return (1, 1) }
        let aspect = Double(width) / Double(height) * 2  // columns per row for square pixels
        var c = columns, r = Int((Double(c) / aspect).rounded())
        if r > rows { r = rows; c = max(1, Int((Double(r) * aspect).rounded())) }
        return (max(1, min(c, columns)), max(1, min(r, rows)))
    }

    /// The image as `rows` lines of at most `columns` cells (ANSI escapes included; each line ends reset).
    public func render(_ image: PixelBuffer, columns: Int, rows: Int) -> [String] {
        let rgba = image.converted(to: .rgba8)
        let (c, r) = Self.fit(width: rgba.width, height: rgba.height, columns: columns, rows: rows)
        guard let symbols = chafa_symbol_map_new() else { return [] }
        defer { chafa_symbol_map_unref(symbols) }
        let tags = mode == .ascii ? CHAFA_SYMBOL_TAG_ASCII.rawValue : (CHAFA_SYMBOL_TAG_BLOCK.rawValue | CHAFA_SYMBOL_TAG_BORDER.rawValue | CHAFA_SYMBOL_TAG_SPACE.rawValue)
        chafa_symbol_map_add_by_tags(symbols, ChafaSymbolTags(rawValue: tags))
        guard let config = chafa_canvas_config_new() else { return [] }
        defer { chafa_canvas_config_unref(config) }
        chafa_canvas_config_set_geometry(config, Int32(c), Int32(r))
        chafa_canvas_config_set_symbol_map(config, symbols)
        switch mode {
        case .truecolor: chafa_canvas_config_set_canvas_mode(config, CHAFA_CANVAS_MODE_TRUECOLOR)
        case .colors256: chafa_canvas_config_set_canvas_mode(config, CHAFA_CANVAS_MODE_INDEXED_240)
        case .ascii: chafa_canvas_config_set_canvas_mode(config, CHAFA_CANVAS_MODE_FGBG)
        }
        guard let canvas = chafa_canvas_new(config) else { return [] }
        defer { chafa_canvas_unref(canvas) }
        rgba.bytes.withUnsafeBufferPointer { p in
            chafa_canvas_draw_all_pixels(canvas, CHAFA_PIXEL_RGBA8_UNASSOCIATED, p.baseAddress, Int32(rgba.width), Int32(rgba.height), Int32(rgba.width * 4))
        }
        guard let gs = chafa_canvas_print(canvas, nil) else { return [] }
        let text = String(cString: gs.pointee.str)
        g_string_free(gs, 1)
        return text.split(separator: "\n", omittingEmptySubsequences: false).map { String($0) + "\u{1B}[0m" }.filter { $0 != "\u{1B}[0m" }
    }
}
