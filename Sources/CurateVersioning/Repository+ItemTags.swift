import Foundation
import GRDB

extension Repository {
    /// Replaces every tag starting with one of `prefixes` by `tags` (tag → item paths), in one transaction: a triage
    /// run re-tags without leaving the previous run's clusters behind. Tag names as for commit tags, plus ':'.
    package func setItemTags(_ tags: [String: [String]], replacing prefixes: [String], wait: Double = 0) throws(VersioningError) {
        for name in tags.keys where name.isEmpty || !name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-:".contains($0)) }) {
            throw VersioningError(.invalid, "\(name): item tag names use letters, digits, '.', '_', '-' and ':'")
        }
        try writing(wait: wait) { () throws(VersioningError) in
            try write("tagging items") { db in
                for prefix in prefixes {
                    try db.execute(sql: "DELETE FROM item_tags WHERE substr(tag, 1, ?) = ?", arguments: [prefix.count, prefix])
                }
                for (tag, paths) in tags {
                    for path in paths { try db.execute(sql: "INSERT OR IGNORE INTO item_tags (tag, path) VALUES (?, ?)", arguments: [tag, path]) }
                }
            }
        }
    }

    /// The item paths carrying `tag`, sorted.
    package func items(tagged tag: String) throws(VersioningError) -> [String] {
        try read("reading item tags") { db in try String.fetchAll(db, sql: "SELECT path FROM item_tags WHERE tag = ? ORDER BY path", arguments: [tag]) }
    }

    /// Every item tag with its number of items.
    package func itemTags() throws(VersioningError) -> [(tag: String, items: Int)] {
        try read("reading item tags") { db in
            try Row.fetchAll(db, sql: "SELECT tag, COUNT(*) AS n FROM item_tags GROUP BY tag ORDER BY tag").map { ($0["tag"], $0["n"]) }
        }
    }
}
