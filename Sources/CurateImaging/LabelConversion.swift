import CurateCore
import Foundation

/// `curate labels convert` as a library call: read labels in one format (every record checked, image sizes read
/// from the images' headers when an images folder is given) and write them in another, all or nothing.
package enum LabelConversion {
    /// What a conversion did.
    package struct Report: Codable, Sendable {
        package var input: String, from: String, to: String, out: String
        package var items: Int, annotations: Int, classes: Int
        /// Invalid records a lenient read skipped.
        package var skipped: [LabelIssue]
    }

    /// The image-size reader label readers use: header only, upright (EXIF orientation applied).
    package static let imageSize: @Sendable (String) -> (width: Int, height: Int)? = { path in
        (try? ImageDecoder().info(fileAt: path))?.displaySize
    }

    /// Converts `input` (in `from`) to `out` (in `to`). `images`: the folder item paths are relative to;
    /// `classes`: a text file of class names (one per line) that records must use.
    package static func convert(_ input: String, from: LabelFormat, to: LabelFormat, out: String, images: String?, classes: String?,
                                lenient: Bool) throws -> Report {
        var options = LabelReadOptions(imagesRoot: images, lenient: lenient, imageSize: imageSize)
        if let images {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: images, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw InputError("\(images): no such folder (--images)", kind: .notFound)
            }
        }
        if let classes {
            let names = try InputFile.text(classes).split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            options.schema = LabelSchema(classNames: names)
        }
        let result = try from.read(from: input, options: options)
        try to.writeAtomically(result.labelSet, to: out)
        let labels = result.labelSet
        return Report(input: input, from: from.rawValue, to: to.rawValue, out: out, items: labels.items.count, annotations: labels.annotations.count,
                      classes: labels.schema.classes.count, skipped: result.skipped)
    }
}
