"""Who a person signing in through a city's OpenID Connect provider is in Legitka (docs/security.md T2.18).

Accounts are never made here: the city or the school's director creates them, as for password
sign-in. A person is the user linked to the provider's issuer and subject (`IdentityLink`, the
identifier OpenID Connect promises to keep: Core §5.7 — an e-mail may change hands, a subject
does not). A person not linked yet is matched by e-mail, only where the city allows it and only
when the provider says the e-mail is verified (`email_verified` exactly `true`); the link is then
stored by `record` once the sign-in succeeds, and from then on the subject decides, whatever the
e-mail becomes. A user already linked to another subject of the same issuer is not matched by
e-mail: someone else now holds that address at the provider.
"""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy import select

from infra.db import db
from infra.db import utcnow
from tenants.tenancy.models import IdentityLink
from tenants.tenancy.models import User


class NotMatched(Exception):
    """No Legitka user for this person; `reason` is a short code for the log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def find_user(issuer: str, subject: str, *, email, email_verified,
              match_email: bool) -> tuple[User, IdentityLink | None]:
    """The user and their link (None: matched by e-mail, to be linked by `record`)."""
    link = db.session.scalar(select(IdentityLink).where(IdentityLink.issuer == issuer,
                                                        IdentityLink.subject == subject))
    if link is not None:
        return db.session.get(User, link.user_id), link
    if not match_email:
        raise NotMatched("unknown_subject")
    if email_verified is not True or not isinstance(email, str) or not email.strip():
        raise NotMatched("email_not_verified")
    user = db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None:
        raise NotMatched("unknown_user")
    other = db.session.scalar(select(IdentityLink.id).where(IdentityLink.user_id == user.id,
                                                            IdentityLink.issuer == issuer))
    if other is not None:
        raise NotMatched("email_linked_to_another_subject")
    return user, None


def record(user: User, issuer: str, subject: str, link: IdentityLink | None) -> None:
    """After a successful sign-in: the link stored on first use, its last use noted after."""
    if link is None:
        db.session.add(IdentityLink(user_id=user.id, issuer=issuer, subject=subject))
    else:
        link.last_used_at = utcnow()
