import ArgumentParser
import CurateCore
import CurateVersioning
import CurateQuality
import Foundation

/// Text rendering of a diff, shared by `diff` and `show`.
enum DiffText {
    static func lines(_ diff: Diff, stat: Bool) -> [String] {
        var out: [String] = []
        out.append("files: \(diff.added.count) added, \(diff.removed.count) removed, \(diff.modified.count) modified, \(diff.renamed.count) renamed")
        if !stat {
            for p in diff.added { out.append("A  \(p)") }
            for p in diff.removed { out.append("D  \(p)") }
            for p in diff.modified { out.append("M  \(p)") }
            for r in diff.renamed { out.append("R  \(r.from) -> \(r.to)") }
        }
        out.append("labels: \(Plural.count(diff.labels.count, "item")) changed")
        if !stat {
            for item in diff.labels {
                var who = item.by.joined(separator: ", ")
                if let date = item.date { who += (who.isEmpty ? "" : ", ") + iso8601(date) }
                out.append("  \(item.item)" + (who.isEmpty ? "" : "  (by \(who))"))
                for change in item.changes { out.append("    \(change)") }
            }
        }
        let shift = diff.shift
        out.append(String(format: "classes (before -> after): chi-square %.2f, df %d, p %.3g; total variation %.3f",
                          shift.chiSquare, shift.degreesOfFreedom, shift.pValue, shift.totalVariation))
        let width = max(8, diff.classes.map(\.name.count).max() ?? 0)
        for c in diff.classes {
            let delta = c.after - c.before
            out.append("  " + c.name.padding(toLength: width, withPad: " ", startingAt: 0)
                + " \(c.before) -> \(c.after)" + (delta == 0 ? "" : " (\(delta > 0 ? "+" : "")\(delta))"))
        }
        let sizes = Set(diff.before.sizes.keys).union(diff.after.sizes.keys).sorted { (diff.after.sizes[$0] ?? 0, $1) > (diff.after.sizes[$1] ?? 0, $0) }
        out.append("image sizes (before -> after), \(diff.before.files) -> \(diff.after.files) files:")
        for size in sizes.prefix(stat ? 5 : 20) {
            out.append("  \(size.padding(toLength: 11, withPad: " ", startingAt: 0)) \(diff.before.sizes[size] ?? 0) -> \(diff.after.sizes[size] ?? 0)")
        }
        if sizes.count > (stat ? 5 : 20) { out.append("  … \(sizes.count - (stat ? 5 : 20)) more sizes") }
        return out
    }
}

