import CChafa
import CurateImaging
import Foundation

/// Draws pixels in the terminal with chafa: kitty or sixel graphics where the terminal has them, else truecolor
/// symbols, 256 colours, or plain ASCII (for `NO_COLOR` or dumb terminals). Symbols work everywhere, in tmux and
/// over ssh.
package struct ImageRenderer: Sendable {
    package enum Mode: String, Sendable, CaseIterable { case kitty, sixel, truecolor, colors256 = "256", ascii }

    package var mode: Mode
    /// Pixels per cell (from the terminal; kitty and sixel images are sized with it).
    package var cellSize: (width: Int, height: Int)

    package init(mode: Mode, cellSize: (width: Int, height: Int) = (10, 20)) {
        self.mode = mode
        self.cellSize = cellSize
    }

    /// Whether the mode draws pixels (kitty, sixel) rather than characters.
    package var drawsPixels: Bool { mode == .kitty || mode == .sixel }

    /// The mode for this environment: `CURATE_GRAPHICS` (kitty, sixel, truecolor, 256, ascii) when set; ASCII when
    /// `NO_COLOR` is set or TERM is dumb; kitty graphics in kitty, WezTerm and Ghostty, sixels in foot, mlterm and
    /// terminals whose TERM names sixel — but not inside tmux or screen, which do not pass images through; else
    /// truecolor symbols when COLORTERM says truecolor (or 24bit), 256 colours otherwise.
    package static func detect(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> Mode {
        if let forced = environment["CURATE_GRAPHICS"], let mode = Mode(rawValue: forced) { return mode }
        let term = environment["TERM"] ?? ""
        if environment["NO_COLOR"].map({ !$0.isEmpty }) == true || term == "dumb" { return .ascii }
        let multiplexed = environment["TMUX"] != nil || term.hasPrefix("screen") || term.hasPrefix("tmux")
        if !multiplexed {
            let program = environment["TERM_PROGRAM"] ?? ""
            if term == "xterm-kitty" || environment["KITTY_WINDOW_ID"] != nil || ["WezTerm", "ghostty"].contains(program) || term == "xterm-ghostty" { return .kitty }
            if term.hasPrefix("foot") || term.hasPrefix("mlterm") || term.contains("sixel") { return .sixel }
        }
        if let c = environment["COLORTERM"], c.contains("truecolor") || c.contains("24bit") { return .truecolor }
        return .colors256
    }

    /// The size in cells that fits `columns` × `rows` with the image's aspect (cells are about twice as tall as wide).
    package static func fit(width: Int, height: Int, columns: Int, rows: Int) -> (columns: Int, rows: Int) {
        guard width > 0, height > 0 else { return (1, 1) }
        let aspect = Double(width) / Double(height) * 2  // columns per row for square pixels
        var c = columns, r = Int((Double(c) / aspect).rounded())
        if r > rows { r = rows; c = max(1, Int((Double(r) * aspect).rounded())) }
        return (max(1, min(c, columns)), max(1, min(r, rows)))
    }

    /// The image as `rows` lines of at most `columns` cells (ANSI escapes included; each line ends reset).
    package func render(_ image: PixelBuffer, columns: Int, rows: Int) -> [String] {
        let rgba = image.converted(to: .rgba8)
        let (c, r) = Self.fit(width: rgba.width, height: rgba.height, columns: columns, rows: rows)
        guard let symbols = chafa_symbol_map_new() else { return [] }
        defer { chafa_symbol_map_unref(symbols) }
        let tags = mode == .ascii ? CHAFA_SYMBOL_TAG_ASCII.rawValue : (CHAFA_SYMBOL_TAG_BLOCK.rawValue | CHAFA_SYMBOL_TAG_BORDER.rawValue | CHAFA_SYMBOL_TAG_SPACE.rawValue)
        chafa_symbol_map_add_by_tags(symbols, ChafaSymbolTags(rawValue: tags))
        guard let config = chafa_canvas_config_new() else { return [] }
        defer { chafa_canvas_config_unref(config) }
        chafa_canvas_config_set_geometry(config, Int32(c), Int32(r))
        if drawsPixels {
            chafa_canvas_config_set_pixel_mode(config, mode == .kitty ? CHAFA_PIXEL_MODE_KITTY : CHAFA_PIXEL_MODE_SIXELS)
            chafa_canvas_config_set_cell_geometry(config, Int32(max(1, cellSize.width)), Int32(max(1, cellSize.height)))
        }
        chafa_canvas_config_set_symbol_map(config, symbols)
        switch mode {
        case .truecolor, .kitty, .sixel: chafa_canvas_config_set_canvas_mode(config, CHAFA_CANVAS_MODE_TRUECOLOR)
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
        // A pixel image is one escape sequence drawn at the cursor; it takes `r` rows, left for the image.
        if drawsPixels { return [text] + Array(repeating: "", count: max(0, r - 1)) }
        return text.split(separator: "\n", omittingEmptySubsequences: false).map { String($0) + "\u{1B}[0m" }.filter { $0 != "\u{1B}[0m" }
    }
}
