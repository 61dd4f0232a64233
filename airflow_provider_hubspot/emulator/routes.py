"""The list of API families served by the emulator.

To add a family, write a module with ``register(router)`` and append it to :data:`FAMILIES`.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import ModuleType

from . import (
    account,
    associations,
    contacts_v1,
    crm_objects,
    email_api,
    forms,
    lifecycle,
    lists,
    oauth,
    properties,
    timeline,
)
from .router import Router

FAMILIES: tuple[ModuleType, ...] = (oauth, contacts_v1, crm_objects, associations, lists, timeline, lifecycle, forms)
FAMILIES += (email_api,)  # email subscriptions, events, campaigns, SMTP tokens, single send
FAMILIES += (properties,)  # property definitions of every object type
FAMILIES += (account,)  # account details (the portal id)


def build_router(families: Iterable[ModuleType] = FAMILIES) -> Router:
    router = Router()
    for family in families:
        family.register(router)
    return router
