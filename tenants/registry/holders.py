"""Who holds a valid card, and who needs one (docs/domain.md §26): the one place these are
written as SQL, for the statistics refresh (reports.statistics) and anything else that counts.

Each function gives a condition on the current pupil row (`Pupil`), to use in a `where` or a
`case`; the school's tenant criteria apply as usual. Cards that come into the registry by
another way (an import of cards issued before Legitka) are `Card` rows like any other and count
here as soon as they have a live status; a new kind of document is added here, once.

- a **valid e-card in hand**: a registry card handed over and not invalidated;
- a **live e-card**: a card ordered, printed, delivered or handed over (on its way or in hand);
- a **valid paper card**: a paper card recorded and not ended by an exchange or a loss (§7,
  §21 — valid until the pupil leaves the school, source 000);
- **holds a valid card**: a live e-card or a valid paper card;
- **lost validity**: holds none, but held one once (a card invalidated, or a paper card ended);
- an **open request**: a replacement, a duplicate or an exchange of a paper card, asked for and
  not yet handed over (submitted, approved or ordered).
"""

from __future__ import annotations

from sqlalchemy import and_
from sqlalchemy import or_
from sqlalchemy import select

from tenants.pupils.models import Application
from tenants.pupils.models import ApplicationKind
from tenants.pupils.models import ApplicationStatus
from tenants.pupils.models import Pupil
from tenants.registry.models import LIVE_CARD_STATUSES
from tenants.registry.models import Card
from tenants.registry.models import CardMedium
from tenants.registry.models import CardSource
from tenants.registry.models import CardStatus

OPEN_REQUEST_STATUSES = (ApplicationStatus.SUBMITTED.value, ApplicationStatus.APPROVED.value,
                         ApplicationStatus.ORDERED.value)
REQUEST_KINDS = (ApplicationKind.REPLACEMENT.value, ApplicationKind.DUPLICATE.value)


def _card(*where):
    return select(Card.id).where(Card.pupil_id == Pupil.id, Card.school_id == Pupil.school_id, *where).exists()


def ecard_in_hand():
    return _card(Card.medium == CardMedium.ID1.value, Card.status == CardStatus.HANDED_OVER.value)


def live_ecard():
    # An imported paper card's registry entry is not an e-card: the paper card counts once, from
    # the pupil's paper-card fields the import set (docs/domain.md §24).
    return _card(Card.medium == CardMedium.ID1.value, Card.status.in_(LIVE_CARD_STATUSES))


def valid_paper_card():
    return and_(Pupil.paper_card_number != "", Pupil.paper_card_invalidated_on.is_(None))


def valid_card_from_import():
    """The valid card the pupil holds came from the school's earlier register (docs/domain.md §24):
    an imported e-card in hand, or the valid paper card the import recorded (its registry entry is
    still in hand). Counted apart so that the rollout shows where its cards came from."""
    imported = (Card.source == CardSource.IMPORT.value, Card.status == CardStatus.HANDED_OVER.value)
    return or_(_card(Card.medium == CardMedium.ID1.value, *imported),
               and_(valid_paper_card(), _card(Card.medium == CardMedium.PAPER.value, *imported)))


def holds_valid_card():
    return or_(live_ecard(), valid_paper_card())


def held_a_card_once():
    """A card that was valid and stopped being so: an e-card invalidated, or a paper card ended."""
    return or_(_card(Card.status == CardStatus.INVALIDATED.value), Pupil.paper_card_number != "")


def open_request():
    return select(Application.id).where(
        Application.pupil_id == Pupil.id, Application.school_id == Pupil.school_id,
        Application.status.in_(OPEN_REQUEST_STATUSES),
        or_(Application.kind.in_(REQUEST_KINDS), Application.paper_card_number != "")).exists()
