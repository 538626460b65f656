"""The benchmark cases: a Curate pipeline (YAML) and the albumentations transform with the same parameters."""
import albumentations as A
import cv2

CASES = [
    ("HorizontalFlip", "- HorizontalFlip: {p: 1}", lambda: A.HorizontalFlip(p=1)),
    ("VerticalFlip", "- VerticalFlip: {p: 1}", lambda: A.VerticalFlip(p=1)),
    ("RandomRotate90", "- RandomRotate90: {p: 1}", lambda: A.RandomRotate90(p=1)),
    ("Transpose", "- Transpose: {p: 1}", lambda: A.Transpose(p=1)),
    ("Rotate15", "- Rotate: {limit: [15, 15], p: 1}", lambda: A.Rotate(limit=(15, 15), border_mode=cv2.BORDER_CONSTANT, p=1)),
    ("Affine", "- Affine: {p: 1, rotate: [-10, 10], scale: [0.9, 1.1], translate_percent: [-0.05, 0.05]}",
     lambda: A.Affine(rotate=(-10, 10), scale=(0.9, 1.1), translate_percent=(-0.05, 0.05), p=1)),
    ("RandomCrop256", "- RandomCrop: {height: 256, width: 256, p: 1}", lambda: A.RandomCrop(height=256, width=256, p=1)),
    ("RandomResizedCrop224", "- RandomResizedCrop: {size: [224, 224], p: 1}", lambda: A.RandomResizedCrop(size=(224, 224), p=1)),
    ("Resize256", "- Resize: {height: 256, width: 256, p: 1}", lambda: A.Resize(height=256, width=256, p=1)),
    ("PadIfNeeded640", "- PadIfNeeded: {min_height: 640, min_width: 640, p: 1}",
     lambda: A.PadIfNeeded(min_height=640, min_width=640, border_mode=cv2.BORDER_CONSTANT, p=1)),
    ("BrightnessContrast", "- BrightnessContrast: {p: 1}", lambda: A.RandomBrightnessContrast(p=1)),
    ("Gamma", "- Gamma: {p: 1}", lambda: A.RandomGamma(p=1)),
    ("ToGray", "- ToGray: {p: 1}", lambda: A.ToGray(p=1)),
    ("RGBShift", "- RGBShift: {p: 1}", lambda: A.RGBShift(p=1)),
    ("GaussianBlur", "- GaussianBlur: {blur_limit: [3, 7], p: 1}", lambda: A.GaussianBlur(blur_limit=(3, 7), p=1)),
    ("GaussNoise", "- GaussNoise: {p: 1}", lambda: A.GaussNoise(p=1)),
    ("CoarseDropout", "- CoarseDropout: {p: 1}", lambda: A.CoarseDropout(p=1)),
    ("ColorJitter", "- ColorJitter: {hue: 0.5, p: 1}", lambda: A.ColorJitter(p=1)),
    ("HueSaturationValue", "- HueSaturationValue: {p: 1}", lambda: A.HueSaturationValue(p=1)),
    ("Normalize", "- Normalize: {}", lambda: A.Normalize(p=1)),
    ("CLAHE", "- CLAHE: {p: 1}", lambda: A.CLAHE(p=1)),
]

# The training pipeline of the issue: with 3 boxes per image from decoded pixels, and from JPEG bytes.
PIPELINE_YAML = "\n  ".join([
    "- RandomResizedCrop: {size: [224, 224], p: 1}", "- HorizontalFlip: {p: 0.5}", "- ColorJitter: {hue: 0.5, p: 1}", "- Normalize: {}"])


def pipeline():
    return [A.RandomResizedCrop(size=(224, 224), p=1), A.HorizontalFlip(p=0.5), A.ColorJitter(p=1), A.Normalize(p=1)]
