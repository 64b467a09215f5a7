"""Benchmark: the automatic photo checks and crop, on a real face at three sizes.

The face is scikit-image's `astronaut` (installed with the test extras). Prints the median of 15
runs per size. Run with `python -m bench.photo_checks`.
"""

from __future__ import annotations

import io
import statistics
import sys
import time


def _photo(width: int, height: int) -> bytes:
    from PIL import Image
    from skimage import data

    face = Image.fromarray(data.astronaut())
    side = min(width, height)
    canvas = Image.new("RGB", (width, height), (235, 235, 235))
    canvas.paste(face.resize((side, side), Image.Resampling.LANCZOS), ((width - side) // 2, (height - side) // 2))
    out = io.BytesIO()
    canvas.save(out, "JPEG", quality=90)
    return out.getvalue()


def main(argv: list[str]) -> None:
    from tenants.photos.checks import check_photo

    print("| input | file KB | median ms | face found |")
    print("|---|---|---|---|")
    for label, (w, h) in {"492×633 (already card size)": (492, 633), "1600×2000 (scan)": (1600, 2000),
                          "3024×4032 (12 MP phone)": (3024, 4032)}.items():
        data = _photo(w, h)
        check_photo(data)  # warm-up: loads the cascade
        times = []
        for _ in range(15):
            start = time.perf_counter()
            result = check_photo(data)
            times.append(time.perf_counter() - start)
        print(f"| {label} | {len(data) // 1024} | {statistics.median(times) * 1000:.0f} | {result.face_found} |")


if __name__ == "__main__":
    main(sys.argv[1:])
