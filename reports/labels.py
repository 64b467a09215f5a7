"""Polish names of the values the pages, tables and reports show (channels, kinds of card, card and
order states, school types): one map per thing, for the city's tables and the portal's template
filters alike (docs/architecture.md, "Polish input and output; the pupil field rules").

Each name is marked for translation (`N_`, which pybabel extracts) and translated when it is read:
in the reader's language during a request, in Polish elsewhere (a worker writing a council report
has no reader and no session to choose a language from). A map reads like a `dict` of `str`;
`Labels.label` gives a value without a name back unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from collections.abc import Mapping

from flask import g
from flask import has_request_context
from flask_babel import gettext


def N_(text: str) -> str:  # noqa: N802 — the name gettext's tools know as "mark, translate later"
    return text


class Labels(Mapping[str, str]):
    """Value → its name, translated for the reader. A request translates each map once (kept on
    `flask.g`): gettext per read cost ~20 µs, and a card list download reads 30,000 names."""

    def __init__(self, names: dict[str, str]):
        self._names = names

    def current(self) -> dict[str, str]:
        """Every name as the current reader reads it, as a plain dict (for loops over many rows)."""
        if not has_request_context():
            return self._names
        translated = g.setdefault("_labels_translated", {})
        names = translated.get(id(self))
        if names is None:
            names = translated[id(self)] = {value: gettext(name) for value, name in self._names.items()}
        return names

    def __getitem__(self, value: str) -> str:
        return self.current()[value]

    def get(self, value, default=None):
        return self.current().get(value, default)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def label(self, value: str | None) -> str:
        """The name of `value`, or `value` itself when it has none ("" for None)."""
        return self.get(value, value or "") if value is not None else ""


CHANNELS = Labels({"external": N_("drukarnia zewnętrzna"), "city_centre": N_("miejskie centrum druku"),
                   "own": N_("drukarka szkoły")})
KINDS = Labels({"first": N_("pierwsza legitymacja"), "replacement": N_("wymiana"), "duplicate": N_("duplikat")})
CARD_STATES = Labels({"ordered": N_("zamówiona"), "printed": N_("wydrukowana"),
                      "delivered": N_("w szkole, do wydania"), "handed_over": N_("wydana"),
                      "spoiled": N_("zepsuta"), "invalidated": N_("unieważniona")})
ORDER_STATES = Labels({"draft": N_("szkic"), "submitted": N_("złożone"), "rendering": N_("przygotowanie paczki"),
                       "ready": N_("paczka gotowa"), "failed": N_("błąd paczki"),
                       "accepted": N_("przyjęte przez drukarnię"), "rejected": N_("odrzucone przez drukarnię"),
                       "downloaded": N_("pobrane przez drukarnię"), "printed": N_("wydrukowane"),
                       "shipped": N_("wysłane"), "delivered": N_("dostarczone do szkoły")})
SCHOOL_TYPES = Labels({"primary": N_("szkoła podstawowa"), "liceum": N_("liceum ogólnokształcące"),
                       "technikum": N_("technikum"), "branzowa": N_("szkoła branżowa"),
                       "special": N_("szkoła specjalna"), "adult": N_("szkoła dla dorosłych"),
                       "preschool": N_("przedszkole")})
OWN_PRINTERS = "drukarki szkół (własne)"

# The access log's actions (tenants.tenancy.operations.log_access, record_change) as the data
# protection officer reads them; an action without a name here is shown by its code.
ACCESS_ACTIONS = Labels({
    "order": N_("zamówienie"), "pupil_list": N_("lista uczniów"), "pupil_view": N_("dane ucznia (podgląd)"),
    "pupil_edit": N_("PESEL w formularzu edycji"), "pupil_added": N_("dodanie ucznia"),
    "pupil_updated": N_("zmiana danych ucznia"), "pupil_left": N_("odejście ucznia ze szkoły"),
    "photo_view": N_("zdjęcie ucznia (podgląd)"), "photo_review": N_("ocena zdjęcia od rodzica"),
    "transfer_sent": N_("przeniesienie: wysłane"), "transfer_received": N_("przeniesienie: otrzymane"),
    "transfer_accepted": N_("przeniesienie: przyjęte"), "transfer_declined": N_("przeniesienie: odrzucone"),
    "transfer_withdrawn": N_("przeniesienie: wycofane"), "transfer_view": N_("przeniesienie (podgląd)"),
    "transfer_photo_view": N_("zdjęcie z przeniesienia (podgląd)"),
    "batch_download": N_("pobranie paczki przez drukarnię"), "batch_link": N_("link do paczki dla drukarni"),
    "print_file_download": N_("pobranie pliku do druku"), "package_password_view": N_("hasło do paczki (podgląd)"),
    "card_invalidated": N_("unieważnienie legitymacji"), "card_spoiled": N_("legitymacja zepsuta przy druku"),
    "card_numbering_changed": N_("zmiana numeracji legitymacji"),
    "old_card_returned": N_("zwrot poprzedniej legitymacji"),
    "paper_card_recorded": N_("zapis legitymacji papierowej"),
    "paper_card_invalidated": N_("unieważnienie legitymacji papierowej"),
    "mleg_registered": N_("mLegitymacja: wydanie"), "mleg_invalidated": N_("mLegitymacja: unieważnienie"),
    "sio_export": N_("PESEL w eksporcie do SIO"),
    "import_mapped": N_("import listy uczniów: kolumny"), "import_confirmed": N_("import listy uczniów"),
    "import_discarded": N_("import listy uczniów odrzucony"),
    "registry_import_uploaded": N_("import ewidencji: plik"), "registry_imported": N_("import ewidencji"),
    "registry_import_discarded": N_("import ewidencji odrzucony"),
    "order_discarded": N_("zamówienie odrzucone przez szkołę"), "order_invoiced": N_("faktura drukarni"),
    "printer_deletion_confirmed": N_("drukarnia potwierdziła usunięcie danych"),
    "denied": N_("odmowa dostępu"), "denied_capped": N_("odmowy dostępu (dalsze bez zapisu)"),
    "dpo_pupil_search": N_("inspektor: wyszukanie ucznia"), "dpo_access_report": N_("inspektor: kto widział dane"),
    "dpo_access_export": N_("inspektor: eksport „kto widział”"),
    "dpo_printer_report": N_("inspektor: dane przekazane drukarni"),
    "dpo_printer_export": N_("inspektor: eksport danych drukarni"),
})
ACCESS_RESULTS = Labels({"ok": N_("wykonano"), "denied": N_("odmowa")})


def access_action(code: str) -> str:
    """An access-log action's name: from ACCESS_ACTIONS, "zamówienie: <state>" for an order's move
    (`order_<state>`, printing.operations), else the code itself."""
    names = ACCESS_ACTIONS.current()
    if code in names:
        return names[code]
    state = code.removeprefix("order_")
    if state != code and state in ORDER_STATES.current():
        return f"{ACCESS_ACTIONS.label('order')}: {ORDER_STATES[state]}"
    return code
