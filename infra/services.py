"""The configured services of the running app (storage, queue, PESEL cipher).

`portal.create_app` builds them once and registers them here; domain code and jobs reach them
through these getters inside an app context, the same way they reach `db.session`.
"""

from __future__ import annotations

import dataclasses

from flask import current_app

from infra.crypto import FieldCipher
from infra.mail import Mailer
from infra.queue import JobQueue
from infra.storage import Storage

_KEY = "legitka"


@dataclasses.dataclass
class Services:
    storage: Storage
    queue: JobQueue
    pesel_cipher: FieldCipher
    mailer: Mailer


def register(app, services: Services) -> None:
    app.extensions[_KEY] = services


def _services() -> Services:
    return current_app.extensions[_KEY]


def storage() -> Storage:
    return _services().storage


def queue() -> JobQueue:
    return _services().queue


def pesel_cipher() -> FieldCipher:
    return _services().pesel_cipher


def mailer() -> Mailer:
    return _services().mailer
