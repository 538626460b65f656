#!/usr/bin/env python3
"""Expected outputs for CurateAugment, made once with albumentations 2.0.8 / OpenCV / NumPy.

Writes Tests/CurateAugmentTests/Fixtures/: input.png (a 37x23 RGB noise image, exact cases), smooth.png (a
smooth 64x48 image, tolerance cases), one PNG per case and cases.json with each case's parameters and the
boxes (pascal_voc pixels) and keypoints (pixel centres) that albumentations produced.

Run: python3 -m venv /tmp/v && /tmp/v/bin/pip install albumentations==2.0.8 && /tmp/v/bin/python scripts/make_augment_fixtures.py
"""
import json
import os

import albumentations as A
import cv2
import numpy as np
from albumentations.augmentations.geometric import functional as fgeometric

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "CurateAugmentTests", "Fixtures")
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(11)
image = rng.integers(0, 256, (23, 37, 3), dtype=np.uint8)
yy, xx = np.mgrid[0:48, 0:64]
smooth = np.stack([127 + 100 * np.sin(xx / 9.0), 127 + 100 * np.cos(yy / 7.0), (xx * 2 + yy * 2) % 256], -1).astype(np.uint8)
cv2.imwrite(os.path.join(OUT, "input.png"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
cv2.imwrite(os.path.join(OUT, "smooth.png"), cv2.cvtColor(smooth, cv2.COLOR_RGB2BGR))

boxes = [[2, 3, 20, 15], [10, 5, 36, 22], [0, 0, 37, 23]]
labels = [0, 1, 2]
keypoints = [[4, 6], [30, 2], [0, 0], [36, 22]]
cases = []


def save(name, out):
    cv2.imwrite(os.path.join(OUT, name + ".png"), cv2.cvtColor(out, cv2.COLOR_RGB2BGR))


def run(name, transform, params, source=image, src_name="input"):
    t = A.Compose([transform], bbox_params=A.BboxParams(format="pascal_voc", label_fields=["labels"], min_area=0, min_visibility=0),
                  keypoint_params=A.KeypointParams(format="xy", remove_invisible=False), seed=1)
    result = t(image=source, bboxes=boxes, labels=labels, keypoints=keypoints)
    save(name, result["image"])
    cases.append({"name": name, "source": src_name, "transform": params,
                  "boxes": [[float(v) for v in b] for b in result["bboxes"]],
                  "keypoints": [[float(v) for v in k[:2]] for k in result["keypoints"]]})


run("hflip", A.HorizontalFlip(p=1), {"HorizontalFlip": {"p": 1}})
run("vflip", A.VerticalFlip(p=1), {"VerticalFlip": {"p": 1}})
run("transpose", A.Transpose(p=1), {"Transpose": {"p": 1}})
run("crop", A.Crop(x_min=5, y_min=3, x_max=30, y_max=20, p=1), {"Crop": {"x_min": 5, "y_min": 3, "x_max": 30, "y_max": 20}})
run("center_crop", A.CenterCrop(height=11, width=20, p=1), {"CenterCrop": {"height": 11, "width": 20}})
run("pad", A.PadIfNeeded(min_height=31, min_width=45, border_mode=cv2.BORDER_CONSTANT, fill=0, p=1),
    {"PadIfNeeded": {"min_height": 31, "min_width": 45, "fill": 0}})
run("resize_nearest_up", A.Resize(height=50, width=70, interpolation=cv2.INTER_NEAREST_EXACT, p=1),
    {"Resize": {"height": 50, "width": 70, "interpolation": "nearest"}})
run("resize_nearest_down", A.Resize(height=11, width=17, interpolation=cv2.INTER_NEAREST_EXACT, p=1),
    {"Resize": {"height": 11, "width": 17, "interpolation": "nearest"}})

# rot90 with a fixed k: the image by np.rot90, boxes and keypoints by albumentations' own functions.
for k in (1, 2, 3):
    rotated = np.ascontiguousarray(np.rot90(image, k))
    save(f"rot90_{k}", rotated)
    norm = np.array([[b[0] / 37, b[1] / 23, b[2] / 37, b[3] / 23] for b in boxes], dtype=np.float64)
    rb = fgeometric.bboxes_rot90(norm, k)
    w, h = (23, 37) if k % 2 else (37, 23)
    kp = np.array([[x, y, 0, 0] for x, y in keypoints], dtype=np.float64)
    rk = fgeometric.keypoints_rot90(kp, k, image.shape)
    cases.append({"name": f"rot90_{k}", "source": "input", "transform": {"RandomRotate90": {"k": k}},
                  "boxes": [[b[0] * w, b[1] * h, b[2] * w, b[3] * h] for b in rb.tolist()],
                  "keypoints": [[float(p[0]), float(p[1])] for p in rk]})

# Tolerance cases on the smooth image (interpolation conventions differ by sub-pixel details).
for name, t, params in [
    ("resize_bilinear", A.Resize(height=30, width=41, interpolation=cv2.INTER_LINEAR, p=1), {"Resize": {"height": 30, "width": 41, "interpolation": "bilinear"}}),
    ("resize_area", A.Resize(height=20, width=27, interpolation=cv2.INTER_AREA, p=1), {"Resize": {"height": 20, "width": 27, "interpolation": "area"}}),
    ("resize_bicubic", A.Resize(height=30, width=41, interpolation=cv2.INTER_CUBIC, p=1), {"Resize": {"height": 30, "width": 41, "interpolation": "bicubic"}}),
    ("resize_bilinear_up", A.Resize(height=80, width=100, interpolation=cv2.INTER_LINEAR, p=1), {"Resize": {"height": 80, "width": 100, "interpolation": "bilinear"}}),
    ("rotate15", A.Rotate(limit=(15, 15), border_mode=cv2.BORDER_CONSTANT, fill=0, p=1), {"Rotate": {"limit": [15, 15], "border_mode": "constant", "p": 1}}),
    ("blur5", A.Blur(blur_limit=(5, 5), p=1), {"Blur": {"blur_limit": [5, 5], "p": 1}}),
    ("gaussian_blur5", A.GaussianBlur(blur_limit=(5, 5), sigma_limit=(1.5, 1.5), p=1), {"GaussianBlur": {"blur_limit": [5, 5], "sigma_limit": [1.5, 1.5], "p": 1}}),
    ("equalize", A.Equalize(p=1), {"Equalize": {"p": 1}}),
    ("hsv", A.HueSaturationValue(hue_shift_limit=(10, 10), sat_shift_limit=(20, 20), val_shift_limit=(-15, -15), p=1),
     {"HueSaturationValue": {"hue_shift_limit": [10, 10], "sat_shift_limit": [20, 20], "val_shift_limit": [-15, -15], "p": 1}}),
    ("affine", A.Affine(scale=(1.2, 1.2), rotate=(-10, -10), translate_percent=(0.05, 0.05), shear=(0, 0), p=1),
     {"Affine": {"scale": [1.2, 1.2], "rotate": [-10, -10], "translate_percent": [0.05, 0.05], "p": 1}}),
]:
    t2 = A.Compose([t], seed=1)
    out = t2(image=smooth)["image"]
    save(name, out)
    cases.append({"name": name, "source": "smooth", "transform": params, "boxes": [], "keypoints": []})

# CLAHE: colour through albumentations (L of CIELAB, tolerance), grey straight from OpenCV on a size that is not a
# multiple of the grid (reflect-101 extension; exact).
t2 = A.Compose([A.CLAHE(clip_limit=(2, 2), tile_grid_size=(8, 8), p=1)], seed=1)
save("clahe", t2(image=smooth)["image"])
cases.append({"name": "clahe", "source": "smooth", "transform": {"CLAHE": {"clip_limit": [2, 2], "tile_grid_size": [8, 8], "p": 1}},
              "boxes": [], "keypoints": []})
grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
cv2.imwrite(os.path.join(OUT, "grey.png"), grey)
cv2.imwrite(os.path.join(OUT, "lab_l.png"), cv2.cvtColor(image, cv2.COLOR_RGB2LAB)[:, :, 0])
cv2.imwrite(os.path.join(OUT, "clahe_grey.png"), cv2.createCLAHE(clipLimit=3.0, tileGridSize=(4, 3)).apply(grey))

# Normalize: float32 output of albumentations' default (ImageNet mean and std), saved as .npy.
t2 = A.Compose([A.Normalize(p=1)], seed=1)
np.save(os.path.join(OUT, "normalize.npy"), t2(image=image)["image"].astype(np.float32))

with open(os.path.join(OUT, "cases.json"), "w") as f:
    json.dump({"albumentations": A.__version__, "boxes": boxes, "keypoints": keypoints, "cases": cases}, f, indent=1)
print(f"{len(cases)} cases written to {os.path.normpath(OUT)}")
