#!/usr/bin/env python3
"""albumentations + OpenCV end to end, as a team would drive it: a 2-process multiprocessing.Pool reads each JPEG
(cv2.imread), runs the pipeline with its COCO boxes, writes the JPEG (cv2.imwrite, quality 95) and returns the
boxes; the parent writes the COCO file. Prints wall and CPU seconds (parent + children) as JSON.

usage: e2e_peer.py IN_DIR OUT_DIR ORDER   (ORDER: resize-first or resize-last)
"""
import json
import multiprocessing
import os
import resource
import sys
import time

import cv2

cv2.setNumThreads(1)
import albumentations as A  # noqa: E402

src, out, order = sys.argv[1], sys.argv[2], sys.argv[3]
steps = [A.HorizontalFlip(p=0.5), A.RandomBrightnessContrast(p=1)]
resize = A.Resize(height=256, width=256, p=1)
steps = [resize] + steps if order == "resize-first" else steps + [resize]
transform = A.Compose(steps, bbox_params=A.BboxParams(format="coco", label_fields=["labels"]), seed=1)


def work(job):
    file, boxes, labels = job
    image = cv2.cvtColor(cv2.imread(os.path.join(src, file)), cv2.COLOR_BGR2RGB)
    result = transform(image=image, bboxes=boxes, labels=labels)
    cv2.imwrite(os.path.join(out, file), cv2.cvtColor(result["image"], cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 95])
    return file, [list(map(float, b)) for b in result["bboxes"]], list(result["labels"])


if __name__ == "__main__":
    start = time.perf_counter()
    coco = json.load(open(os.path.join(src, "labels.coco.json")))
    os.makedirs(os.path.join(out, "images"), exist_ok=True)
    by_image = {}
    for a in coco["annotations"]:
        by_image.setdefault(a["image_id"], []).append(a)
    jobs = [(im["file_name"], [a["bbox"] for a in by_image.get(im["id"], [])], [a["category_id"] for a in by_image.get(im["id"], [])])
            for im in coco["images"]]
    with multiprocessing.Pool(2) as pool:
        results = pool.map(work, jobs, chunksize=8)
    images, annotations = [], []
    for file, boxes, labels in results:
        images.append({"id": len(images) + 1, "file_name": file, "width": 256, "height": 256})
        for b, l in zip(boxes, labels):
            annotations.append({"id": len(annotations) + 1, "image_id": len(images), "category_id": l, "bbox": b, "area": b[2] * b[3], "iscrowd": 0})
    json.dump({"images": images, "annotations": annotations, "categories": coco["categories"]}, open(os.path.join(out, "labels.coco.json"), "w"))
    wall = time.perf_counter() - start
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime
    print(json.dumps({"wall": wall, "cpu": cpu, "images": len(images)}))
