"""A pupil's identity number (PESEL, or another identity document) in clear: the one place that
decrypts it, and every reveal writes its access-log row (docs/security.md T3.4, T3.10, T3.18).

Nothing else decrypts `pesel_cipher` or `id_document_cipher`: views, exports, the registry book,
the SIO list and the print batch all call `reveal_pesel` or `reveal_identity` with the actor and
the purpose, which becomes the log row's action (`tests/tenants/test_identity.py` walks the code
for any other decrypt). The row is added to the caller's transaction, so it is written exactly
when the work that used the number commits. The masked form (`masked`) shows at most the last four
characters, the form T3.4 allows on every screen, and writes no row.
"""

from __future__ import annotations

from infra import services
from tenants.tenancy.actors import Actor
from tenants.tenancy.operations import log_access


def _decrypt(blob: bytes) -> str:
    return services.pesel_cipher().decrypt(blob)


def _log(actor: Actor, pupil, purpose: str, order_id: int | None) -> None:
    log_access(actor, purpose, school_id=pupil.school_id, pupil_id=pupil.id, order_id=order_id)


def reveal_pesel(actor: Actor, pupil, purpose: str, *, order_id: int | None = None) -> str | None:
    """The pupil's PESEL in clear (None for a pupil recorded with another document), with one
    access-log row: `actor` did `purpose` to the pupil (and order). Flushes nothing."""
    _log(actor, pupil, purpose, order_id)
    return _decrypt(pupil.pesel_cipher) if pupil.pesel_cipher is not None else None


def reveal_identity(actor: Actor, pupil, purpose: str, *, order_id: int | None = None) -> str:
    """What a card, form or register shows as the pupil's identity: the PESEL, or for a pupil
    without one the document's type and number ("paszport AB1234567"); "" with neither. One
    access-log row, as `reveal_pesel`."""
    pesel = reveal_pesel(actor, pupil, purpose, order_id=order_id)
    if pesel is not None:
        return pesel
    if pupil.id_document_cipher is None:
        return ""
    return f"{pupil.id_document_type} {_decrypt(pupil.id_document_cipher)}"


def reveal_document_number(actor: Actor, pupil, purpose: str) -> str:
    """The number of the pupil's other identity document in clear ("" without one), with one
    access-log row."""
    _log(actor, pupil, purpose, None)
    return _decrypt(pupil.id_document_cipher) if pupil.id_document_cipher is not None else ""


def masked(subject) -> str:
    """`*******1234` (a PESEL) or `*****567` (another document) or "—": what screens show of a
    pupil or a transfer's snapshot (T3.4). No log row: the full number never leaves this module."""
    if subject.pesel_cipher is not None:
        return "*******" + _decrypt(subject.pesel_cipher)[-4:]
    if subject.id_document_cipher is not None:  # another identity document: its last three characters
        return "*****" + _decrypt(subject.id_document_cipher)[-3:]
    return "—"


def reveal_holder_identity(actor: Actor, card, purpose: str) -> str:
    """The PESEL of an imported registry entry's holder who is no pupil of the school
    (docs/domain.md §24), in clear ("" without one), with one access-log row naming the card."""
    log_access(actor, purpose, school_id=card.school_id, detail=f"card={card.id}")
    return _decrypt(card.holder_pesel_cipher) if card.holder_pesel_cipher is not None else ""


def masked_holder(card) -> str:
    """`*******1234` for an imported entry's holder, as `masked` for a pupil."""
    if card.holder_pesel_cipher is not None:
        return "*******" + _decrypt(card.holder_pesel_cipher)[-4:]
    return "—"
