"""The names of downloaded files, from one place (docs/architecture.md, "Polish input and output"):
`legitka-<Polish name>-<rrrr-mm-dd>.<csv|xlsx|pdf>`, where the name says in Polish what the file
holds and the date is the Polish day of the download (year first, so a folder sorts the files
by date). Names are ASCII without diacritics: a plain `filename=` works in every browser and
file system. A table's key stays as it is in the URL (`/eksport/cost_channels.csv`); only the
file is named here.
"""

from __future__ import annotations

import datetime as dt

from infra import clock

# The city dashboard's tables (reports.dashboard.TABLES).
DASHBOARD = {
    "rollout": "wdrozenie", "forecast": "prognoza", "forecast_check": "prognoza-a-wykonanie",
    "lead_schools": "czas-oczekiwania-szkoly", "lead_printers": "czas-oczekiwania-drukarnie",
    "cost_channels": "koszty-kanaly", "cost_schools": "koszty-szkoly", "cost_months": "koszty-miesiace",
    "budget": "budzet", "holograms": "hologramy", "facts": "legitymacje",
    "orders_by_school": "zamowienia-szkol", "orders": "zamowienia",
}
# The cost model's tables (portal.city.costs): "koszty-…", not to clash with the dashboard's.
COSTS = {
    "kanaly": "koszty-porownanie-kanalow", "co_jesli": "koszty-co-jesli-szkoly",
    "co_jesli_kanaly": "koszty-co-jesli-kanaly", "drukarka_wzorcowa": "koszty-drukarka-wzorcowa",
    "prog": "koszty-prog-oplacalnosci", "centrum": "koszty-centrum-druku",
}
# A consultation's tables (reports.consultations.TABLES), after "konsultacja-<nr>-".
CONSULTATION = {"summary": "podsumowanie", "missing": "brak-odpowiedzi", "answers": "odpowiedzi"}


def file_name(name: str, fmt: str, day: dt.date | None = None) -> str:
    """`legitka-<name>-<rrrr-mm-dd>.<fmt>`, dated `day` (a stored file's own day), else today in Poland."""
    return f"legitka-{name}-{(day or clock.today()).isoformat()}.{fmt}"


def attachment(name: str, fmt: str, day: dt.date | None = None) -> dict[str, str]:
    """The Content-Disposition header that saves the download as `file_name(name, fmt, day)`."""
    return {"Content-Disposition": f'attachment; filename="{file_name(name, fmt, day)}"'}
