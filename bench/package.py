"""Benchmark: the printer's package for 100 and 1,000 cards, through the real code path, next to a floor.

Per size it builds the print file (`printing.render.render_print_file`) and the encrypted package
(`printing.package.build`, with a password) from distinct 492×633 JPEG photos (~60 KB each, made
here: gradient, noise and a face-like shape) and Polish names with diacritics. The floor is the
same photos written into a PDF with no layout, by img2pdf and by pikepdf, measured in the same run.

"fonts preloaded" is the same build in a process that called `printing.card_fonts.preload()` first
(load DejaVu and make its subsets, ~0.5 s once per process), as a worker can before it forks.

Every measurement runs in a fresh interpreter (multiprocessing "spawn"), which loads the photos
from a cache folder, then reports its own seconds and peak RSS (`getrusage`; the RSS before the
work, with the imports and the photos, is shown too). Each is repeated (`--runs`, default 3) and
the best and the median are printed: other processes may be using the CPU.

Run with `make bench` or `python -m bench.package [--runs N] [sizes…]` (default 100 1000).
"""

from __future__ import annotations

import datetime as dt
import io
import multiprocessing
import os
import pathlib
import resource
import secrets
import statistics
import sys
import tempfile
import time

WIDTH, HEIGHT = 492, 633
PHOTOS = pathlib.Path(tempfile.gettempdir()) / "legitka-bench-photos-v1"  # synthetic, no personal data
PASSWORD = secrets.token_urlsafe(18)  # one per order in production (printing.tasks)

FIRST = ["Zuzanna", "Łucja", "Jakub", "Michał", "Wiktoria", "Maja", "Szymon", "Żaneta", "Bartłomiej", "Jędrzej",
         "Małgorzata", "Świętosław", "Zofia", "Kacper", "Anna", "Julia", "Gabriela", "Wojciech", "Iga", "Józef"]
SURNAMES = ["Wróblewska", "Żółkiewski", "Łęcka", "Kowalczyk", "Wiśniewska", "Dąbrowski", "Grzegorczyk",
            "Ślusarczyk", "Nowak", "Pietrzak", "Jabłońska", "Zieliński", "Król", "Błaszczyk", "Szczęsna",
            "Gołębiowski", "Kaźmierczak", "Chrząszcz", "Sęk", "Mróz"]


def _make_photos(start: int, stop: int) -> None:
    import numpy as np
    from PIL import Image
    from PIL import ImageDraw

    rng = np.random.default_rng(start)
    noise = rng.normal(0, 10, (HEIGHT, WIDTH + 64, 3)).astype(np.int16)
    rows = np.arange(HEIGHT, dtype=np.int16)[:, None, None]
    for k in range(start, stop):
        shade = np.array([200 + k % 40, 205 + (k * 7) % 40, 215 + (k * 3) % 35], dtype=np.int16)
        shift = (k * 13) % 64
        pixels = np.clip(shade - rows * (10 + k % 20) // HEIGHT + noise[:, shift:shift + WIDTH], 0, 255)
        img = Image.fromarray(pixels.astype(np.uint8))
        draw = ImageDraw.Draw(img)
        cx = WIDTH // 2 + (k % 21) - 10
        draw.rectangle((cx - 170, 430, cx + 170, HEIGHT), fill=(40 + k % 60, 50 + k % 30, 90))  # shoulders
        draw.ellipse((cx - 110, 110 + k % 15, cx + 110, 430), fill=(225 - k % 30, 185 - k % 25, 160 - k % 20))
        draw.ellipse((cx - 120, 70, cx + 120, 250 - k % 40), fill=(60 + k % 50, 40 + k % 20, 25))  # hair
        draw.text((10, 10), str(k), fill=(0, 0, 0))  # distinct bytes even where the shapes repeat
        img.save(PHOTOS / f"{k:05d}.jpg", "JPEG", quality=90)


def ensure_photos(n: int) -> None:
    """Make the first n photos once (~15 ms each, in parallel); later runs reuse them."""
    PHOTOS.mkdir(exist_ok=True)
    missing = [k for k in range(n) if not (PHOTOS / f"{k:05d}.jpg").exists()]
    if not missing:
        return
    start = missing[0]
    step = max(1, (n - start + 7) // 8)
    with multiprocessing.get_context("spawn").Pool(os.cpu_count() or 1) as pool:
        pool.starmap(_make_photos, [(s, min(n, s + step)) for s in range(start, n, step)])


def load_photos(n: int) -> list[bytes]:
    return [(PHOTOS / f"{k:05d}.jpg").read_bytes() for k in range(n)]


def cards(photos: list[bytes]):
    from printing.card_layout import CardData
    from tenants.pupils.pesel import make

    result = []
    for k, photo in enumerate(photos):
        born = dt.date(2012, 1, 1) + dt.timedelta(days=(k * 37) % 3650)
        sex = "KM"[k % 2]
        first = FIRST[k % len(FIRST)] + (f" {FIRST[(k * 7 + 3) % len(FIRST)]}" if k % 3 == 0 else "")
        surname = SURNAMES[(k * 7) % len(SURNAMES)] + (f"-{SURNAMES[(k + 5) % len(SURNAMES)]}" if k % 11 == 0 else "")
        template = "MEiN-I/5" if k % 25 == 0 else "MEiN-I/3-N" if k % 10 == 0 else "MEiN-I/1"
        identity = f"paszport FA{k:07d}" if k % 40 == 39 else make(born, k % 1000, sex)
        result.append(CardData(
            f"{k + 1}/2026", template, first, surname, born, identity,
            "Szkoła Podstawowa nr 18 im. Marii Konopnickiej w Szczecinie", "ul. Żółkiewskiego 4, 71-104 Szczecin",
            "Grażyna Kowalczyk-Wiśniewska", dt.date(2026, 11, 21), dt.date(2027, 9, 30), photo))
    return result


def _rss_mb() -> float:
    for line in pathlib.Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _measure(kind: str, n: int, queue) -> None:
    """In a fresh interpreter: load, then time one build; report (seconds, details, RSS)."""
    from printing import package  # imported before timing, as in a worker
    from printing.card_fonts import preload
    from printing.render import render_print_file

    photos = load_photos(n)
    data = cards(photos)
    if kind == "legitka-warm":
        preload()  # what a worker can do once before it forks its jobs
    before = _rss_mb()
    start = time.perf_counter()
    details = {}
    if kind.startswith("legitka"):
        pdf = render_print_file(data)
        details["render"] = time.perf_counter() - start
        built = package.build(data, pdf, PASSWORD, order_id=1)
        details["pack"] = time.perf_counter() - start - details["render"]
        details["pdf_mb"], details["7z_mb"] = len(pdf) / 1e6, len(built.data) / 1e6
    elif kind == "img2pdf":
        import img2pdf

        details["pdf_mb"] = len(img2pdf.convert(photos)) / 1e6
    else:  # pikepdf: one page per photo, the JPEG passed through, nothing else
        import pikepdf

        pdf = pikepdf.new()
        for photo in photos:
            image = pikepdf.Stream(pdf, photo, Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Image,
                                   Width=WIDTH, Height=HEIGHT, ColorSpace=pikepdf.Name.DeviceRGB,
                                   BitsPerComponent=8, Filter=pikepdf.Name.DCTDecode)
            page = pikepdf.Page(pikepdf.Dictionary(Type=pikepdf.Name.Page, MediaBox=[0, 0, 242.65, 153.01],
                                                   Resources=pikepdf.Dictionary(XObject={"/P": image})))
            page.obj.Contents = pikepdf.Stream(pdf, b"q 20 0 0 25.7 4 15 cm /P Do Q")
            pdf.pages.append(page)
        out = io.BytesIO()
        pdf.save(out)
        details["pdf_mb"] = len(out.getvalue()) / 1e6
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put((seconds, details, before, peak))


def measure(kind: str, n: int) -> tuple[float, dict, float, float]:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_measure, args=(kind, n, queue))
    process.start()
    result = queue.get()
    process.join()
    return result


METHODS = (("legitka", "Legitka: render + package"), ("legitka-warm", "  same, fonts preloaded"),
           ("img2pdf", "floor: img2pdf photos→PDF"), ("pikepdf", "floor: pikepdf photos→PDF"))


def main(sizes: list[int], runs: int) -> None:
    ensure_photos(max(sizes))
    load = os.getloadavg()[0]
    print(f"{os.cpu_count()} CPUs, load average {load:.2f}; {runs} runs per line, each in a fresh process")
    print(f"{'cards':>6} {'method':<27} {'best s':>7} {'median s':>8} {'cards/s':>8} {'render s':>8} "
          f"{'pack s':>7} {'PDF MB':>7} {'7z MB':>6} {'RSS MB':>7} {'peak MB':>8}")
    for n in sizes:
        for kind, label in METHODS:
            results = [measure(kind, n) for _ in range(runs)]
            times = [r[0] for r in results]
            best = min(results, key=lambda r: r[0])
            details = best[1]
            render = f"{details['render']:>8.2f}" if "render" in details else f"{'':>8}"
            pack = f"{details['pack']:>7.2f}" if "pack" in details else f"{'':>7}"
            archive = f"{details['7z_mb']:>6.1f}" if "7z_mb" in details else f"{'':>6}"
            print(f"{n:>6} {label:<27} {best[0]:>7.2f} {statistics.median(times):>8.2f} {n / best[0]:>8.0f} "
                  f"{render} {pack} {details['pdf_mb']:>7.1f} {archive} {best[2]:>7.0f} "
                  f"{max(r[3] for r in results):>8.0f}", flush=True)


if __name__ == "__main__":
    args = sys.argv[1:]
    repeat = 3
    if "--runs" in args:
        i = args.index("--runs")
        repeat = int(args[i + 1])
        del args[i:i + 2]
    main([int(a) for a in args] or [100, 1000], repeat)
