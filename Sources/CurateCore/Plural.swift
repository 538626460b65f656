/// Counts in words: "1 answer", "3 answers", "0 items".
package enum Plural {
    /// `n` and the noun, plural unless `n` is 1 (`plural` when the noun does not take an "s").
    package static func count(_ n: Int, _ noun: String, plural: String? = nil) -> String {
        "\(n) " + (n == 1 ? noun : plural ?? noun + "s")
    }
}
