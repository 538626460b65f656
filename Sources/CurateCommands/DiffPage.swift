import CurateVersioning
import Foundation

/// The self-contained HTML review page of a diff (filled in by the HTML renderer).
enum DiffPage {
    static func render(_ diff: Diff, repository: Repository) throws -> String {
        try repository.diffHTML(diff)
    }
}
