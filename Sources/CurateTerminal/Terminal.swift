import CurateCore
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The controlling terminal in raw mode on the alternate screen, restored on every way out: normal return,
/// `restore()`, SIGINT, SIGTERM, SIGHUP (closed ssh), SIGQUIT and the crash signals (the handlers restore the
/// saved settings with async-signal-safe calls, then re-raise).
package final class Terminal: @unchecked Sendable {
    package let input: Int32
    package let output: Int32
    private var saved = termios()
    private var active = false
    /// A byte read ahead (after a lone Escape) and not yet handed out.
    private var pushedBack: UInt8?

    /// Saved settings and output descriptor for the signal handlers (plain globals: handlers cannot capture).
    /// Heap memory, not a Swift global: AddressSanitizer sized the global termios 57 bytes while tcgetattr and
    /// assignments write 60 (found by `swift test --sanitize=address`); a C allocation has one size for both.
    /// Written once in `enter()` before the handlers are installed; read only by the handlers.
    nonisolated(unsafe) static let savedForSignals: UnsafeMutablePointer<termios> = {
        let raw = calloc(1, max(MemoryLayout<termios>.stride, 128))!
        return raw.bindMemory(to: termios.self, capacity: 1)
    }()
    nonisolated(unsafe) static var outputForSignals: Int32 = -1
    nonisolated(unsafe) static var resized: sig_atomic_t = 0

    package init(input: Int32 = STDIN_FILENO, output: Int32 = STDOUT_FILENO) {
        self.input = input
        self.output = output
    }

    package var isTTY: Bool { isatty(input) == 1 && isatty(output) == 1 }

    /// Columns × rows of the window.
    package var size: (columns: Int, rows: Int) {
        var w = winsize()
        if ioctl(output, UInt(TIOCGWINSZ), &w) == 0, w.ws_col > 0, w.ws_row > 0 { return (Int(w.ws_col), Int(w.ws_row)) }
        return (80, 24)
    }

    /// Pixels per character cell, when the terminal reports its size in pixels (kitty and sixel images need it).
    package var cellSize: (width: Int, height: Int)? {
        var w = winsize()
        guard ioctl(output, UInt(TIOCGWINSZ), &w) == 0, w.ws_col > 0, w.ws_row > 0, w.ws_xpixel > 0, w.ws_ypixel > 0 else { return nil }
        return (Int(w.ws_xpixel) / Int(w.ws_col), Int(w.ws_ypixel) / Int(w.ws_row))
    }

    /// Raw input, no echo, alternate screen, hidden cursor.
    package func enter() throws {
        guard tcgetattr(input, &saved) == 0 else { throw TerminalError("not a terminal (stdin): run curate label in a terminal") }
        Terminal.savedForSignals.pointee = saved
        Terminal.outputForSignals = output
        var raw = saved
        cfmakeraw(&raw)
        // Keep output post-processing so "\n" still returns the carriage.
        raw.c_oflag |= tcflag_t(OPOST)
        withUnsafeMutableBytes(of: &raw.c_cc) { cc in
            cc[Int(VMIN)] = 1
            cc[Int(VTIME)] = 0
        }
        guard tcsetattr(input, TCSAFLUSH, &raw) == 0 else { throw TerminalError("cannot switch the terminal to raw mode") }
        active = true
        Terminal.installHandlers()
        write("\u{1B}[?1049h\u{1B}[?25l\u{1B}[2J")
    }

    /// Asks the terminal to report mouse presses, drags and releases (SGR 1006 encoding, which tmux passes
    /// through); `restore()` turns it off again. While it is on, the terminal's own text selection needs Shift.
    package func enableMouse() {
        write("\u{1B}[?1002h\u{1B}[?1006h")
    }

    /// Back to the saved settings and the main screen (idempotent).
    package func restore() {
        guard active else { return }
        active = false
        write("\u{1B}[?1002l\u{1B}[?1006l\u{1B}[0m\u{1B}[?25h\u{1B}[?1049l")
        tcsetattr(input, TCSAFLUSH, &saved)
    }

    deinit { restore() }

    package func write(_ text: String) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Glibc.write(output, $0.baseAddress! + offset, $0.count - offset) }
            if n <= 0 { if errno == EINTR { continue }; return }
            offset += n
        }
    }

    /// Whether the window was resized since the last call.
    package func takeResize() -> Bool {
        if Terminal.resized != 0 { Terminal.resized = 0; return true }
        return false
    }

    /// The next key, waiting up to `timeout` seconds (nil on timeout, so the caller can redraw a clock).
    package func readKey(timeout: Double) -> Key? {
        guard let first = readByte(timeout: timeout) else { return nil }
        if first == 0x1B {
            // A lone Escape, or the start of a sequence: the rest arrives within a few milliseconds.
            guard let second = readByte(timeout: 0.03) else { return .escape }
            // Escape, then a key typed right after it: the key is not lost (it is read next).
            guard second == UInt8(ascii: "[") || second == UInt8(ascii: "O") else { pushedBack = second; return .escape }
            var params: [UInt8] = []
            while let b = readByte(timeout: 0.03) {
                if (0x40...0x7E).contains(b) {
                    if params.first == UInt8(ascii: "<"), b == UInt8(ascii: "M") || b == UInt8(ascii: "m") {
                        return Mouse(sgr: String(decoding: params.dropFirst(), as: UTF8.self), released: b == UInt8(ascii: "m")).map(Key.mouse) ?? .unknown
                    }
                    let shift = params.contains(UInt8(ascii: ";")) && params.last == UInt8(ascii: "2")
                    switch b {
                    case UInt8(ascii: "A"): return .up(shift: shift)
                    case UInt8(ascii: "B"): return .down(shift: shift)
                    case UInt8(ascii: "C"): return .right(shift: shift)
                    case UInt8(ascii: "D"): return .left(shift: shift)
                    case UInt8(ascii: "Z"): return .backTab
                    default: return .unknown
                    }
                }
                params.append(b)
            }
            return .unknown
        }
        switch first {
        case 0x0D, 0x0A: return .enter
        case 0x09: return .tab
        case 0x7F, 0x08: return .backspace
        case 0x03: return .interrupt
        case 0x04: return .endOfInput
        default:
            // UTF-8: read the continuation bytes.
            var bytes = [first]
            let extra = first >= 0xF0 ? 3 : first >= 0xE0 ? 2 : first >= 0xC0 ? 1 : 0
            for _ in 0..<extra { if let b = readByte(timeout: 0.03) { bytes.append(b) } }
            return String(bytes: bytes, encoding: .utf8).flatMap(\.first).map { .character($0) } ?? .unknown
        }
    }

    func readByte(timeout: Double) -> UInt8? {
        if let byte = pushedBack { pushedBack = nil; return byte }
        var fds = pollfd(fd: input, events: Int16(POLLIN), revents: 0)
        let ready = poll(&fds, 1, Int32(timeout * 1000))
        guard ready > 0 else { return nil }
        var byte: UInt8 = 0
        let n = read(input, &byte, 1)
        if n == 1 { return byte }
        if n == 0 { return 0x04 }  // end of input: treat as Ctrl-D
        return nil
    }

    static func installHandlers() {
        signal(SIGWINCH) { _ in Terminal.resized = 1 }
        for s in [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT] {
            signal(s) { number in
                // Async-signal-safe: write(2), tcsetattr(3), then die by the same signal.
                let reset = "\u{1B}[?1002l\u{1B}[?1006l\u{1B}[0m\u{1B}[?25h\u{1B}[?1049l"
                _ = reset.utf8CString.withUnsafeBufferPointer { Glibc.write(Terminal.outputForSignals, $0.baseAddress, $0.count - 1) }
                tcsetattr(STDIN_FILENO, TCSAFLUSH, Terminal.savedForSignals)
                signal(number, SIG_DFL)
                raise(number)
            }
        }
    }
}

/// A key press.
package enum Key: Equatable, Sendable {
    case character(Character)
    case enter, tab, backTab, backspace, escape, interrupt, endOfInput, unknown
    case up(shift: Bool), down(shift: Bool), left(shift: Bool), right(shift: Bool)
    case mouse(Mouse)
}

/// A mouse report: which button, where (1-based column and row of the window), and what happened.
package struct Mouse: Equatable, Sendable {
    package enum Action: Equatable, Sendable { case press, drag, release, wheelUp, wheelDown }
    package var action: Action
    /// 0 left, 1 middle, 2 right.
    package var button: Int
    package var column: Int
    package var row: Int

    package init(_ action: Action, button: Int = 0, column: Int, row: Int) {
        self.action = action
        self.button = button
        self.column = column
        self.row = row
    }

    /// From the parameters of an SGR 1006 report `ESC [ < b ; x ; y M` (press or drag) or `… m` (release).
    init?(sgr: String, released: Bool) {
        let parts = sgr.split(separator: ";").compactMap { Int($0) }
        guard parts.count == 3 else { return nil }
        let b = parts[0]
        if b & 64 != 0 {
            action = b & 1 == 0 ? .wheelUp : .wheelDown
        } else {
            action = released ? .release : b & 32 != 0 ? .drag : .press
        }
        button = b & 3
        column = parts[1]
        row = parts[2]
    }
}

package struct TerminalError: CurateError {
    package var message: String
    /// Its kind in the shared vocabulary (most are usage: no terminal, or an unknown queue).
    package var kind: FailureKind
    package init(_ message: String, kind: FailureKind = .usage) { self.message = message; self.kind = kind }
    package var description: String { message }
}
