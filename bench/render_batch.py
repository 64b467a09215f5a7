"""Benchmark: card PDF rendering for batches of 100 and 1,000 cards, next to a floor.

The floor is the same JPEG photos written into a PDF by Pillow with no layout (the bytes pass
through unchanged), measured in the same run. Prints cards per second and the peak memory of a
child process per measurement. Run with `make bench` (or `python -m bench.render_batch 100 1000`).
"""

from __future__ import annotations

import datetime as dt
import io
import multiprocessing
import resource
import sys
import time


def _cards(n: int):
    from PIL import Image
    from PIL import ImageDraw

    from printing.render import CardData

    photos = []
    for i in range(20):  # 20 distinct photos, reused: realistic JPEG sizes without 1,000 encodes
        img = Image.new("RGB", (492, 633), (230 - i, 230, 235))
        ImageDraw.Draw(img).ellipse((150, 140, 342, 430), fill=(220 - i * 3, 180, 150))
        out = io.BytesIO()
        img.save(out, "JPEG", quality=90)
        photos.append(out.getvalue())
    return [CardData(str(k + 1), "MEiN-I/1", "Zuzanna Łucja", f"Wróblewska-{k}", dt.date(2014, 5, 3), "14250312345",
                     "Szkoła Podstawowa nr 18 im. Marii Konopnickiej", "ul. Żółkiewskiego 4, 71-104 Szczecin",
                     "Grażyna Kowalczyk", dt.date(2026, 11, 21), dt.date(2027, 9, 30), photos[k % 20])
            for k in range(n)]


def _measure(kind: str, n: int, queue) -> None:
    cards = _cards(n)
    start = time.perf_counter()
    if kind == "weasyprint":
        from printing.render import render_cards

        pdf = render_cards(cards)
    else:
        from PIL import Image

        images = [Image.open(io.BytesIO(c.photo_jpeg)) for c in cards]
        out = io.BytesIO()
        images[0].save(out, "PDF", save_all=True, append_images=images[1:])
        pdf = out.getvalue()
    seconds = time.perf_counter() - start
    queue.put((seconds, len(pdf), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))


def measure(kind: str, n: int) -> tuple[float, int, float]:
    queue = multiprocessing.Queue()
    process = multiprocessing.Process(target=_measure, args=(kind, n, queue))
    process.start()
    result = queue.get()
    process.join()
    return result


def main(sizes: list[int]) -> None:
    print(f"{'cards':>6} {'method':<22} {'seconds':>8} {'cards/s':>8} {'PDF MB':>7} {'peak MB':>8}")
    for n in sizes:
        for kind, label in (("weasyprint", "WeasyPrint (Legitka)"), ("floor", "floor: Pillow JPEG→PDF")):
            seconds, size, peak = measure(kind, n)
            print(f"{n:>6} {label:<22} {seconds:>8.2f} {n / seconds:>8.1f} {size / 1e6:>7.1f} {peak:>8.0f}")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [100, 1000])
