"""Polish names of the values the pages, tables and reports show (channels, kinds of card, card and
order states, school types): one map per thing, for the city's tables and the portal's template
filters alike (docs/architecture.md, "Polish input and output; the pupil field rules").

Each name is marked for translation and translated when it is read: in the reader's language
during a request, in Polish elsewhere (a worker writing a council report). A map reads like a
`dict` of `str`; `Labels.label` gives a value without a name back unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from collections.abc import Mapping

from flask_babel import lazy_gettext as _l


class Labels(Mapping[str, str]):
    """Value → its name, translated on every read."""

    def __init__(self, names: dict[str, object]):
        self._names = names

    def __getitem__(self, value: str) -> str:
        return str(self._names[value])

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def label(self, value: str | None) -> str:
        """The name of `value`, or `value` itself when it has none ("" for None)."""
        return self.get(value, value or "") if value is not None else ""


CHANNELS = Labels({"external": _l("drukarnia zewnętrzna"), "city_centre": _l("miejskie centrum druku"),
                   "own": _l("drukarka szkoły")})
KINDS = Labels({"first": _l("pierwsza legitymacja"), "replacement": _l("wymiana"), "duplicate": _l("duplikat")})
CARD_STATES = Labels({"ordered": _l("zamówiona"), "printed": _l("wydrukowana"),
                      "delivered": _l("w szkole, do wydania"), "handed_over": _l("wydana"),
                      "spoiled": _l("zepsuta"), "invalidated": _l("unieważniona")})
ORDER_STATES = Labels({"draft": _l("szkic"), "submitted": _l("złożone"), "rendering": _l("przygotowanie paczki"),
                       "ready": _l("paczka gotowa"), "failed": _l("błąd paczki"),
                       "accepted": _l("przyjęte przez drukarnię"), "rejected": _l("odrzucone przez drukarnię"),
                       "downloaded": _l("pobrane przez drukarnię"), "printed": _l("wydrukowane"),
                       "shipped": _l("wysłane"), "delivered": _l("dostarczone do szkoły")})
SCHOOL_TYPES = Labels({"primary": _l("szkoła podstawowa"), "liceum": _l("liceum ogólnokształcące"),
                       "technikum": _l("technikum"), "branzowa": _l("szkoła branżowa"),
                       "special": _l("szkoła specjalna"), "adult": _l("szkoła dla dorosłych"),
                       "preschool": _l("przedszkole")})
OWN_PRINTERS = "drukarki szkół (własne)"
