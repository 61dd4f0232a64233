"""Imports that differ between Airflow 2.11 and 3.x, in one place.

Airflow 3 moved the authoring API to ``airflow.sdk`` and deprecates the old paths (3.3 warns on
``airflow.hooks.base``, ``airflow.sensors.base``, ``airflow.utils.context``, ``airflow.io.path``).
"""

from __future__ import annotations

from typing import Any

try:  # Airflow 3.x
    from airflow.sdk import (
        BaseHook,
        BaseOperator,
        BaseSensorOperator,
        Context,
        ObjectStoragePath,
        PokeReturnValue,
    )
    from airflow.sdk.exceptions import AirflowException, AirflowFailException
    from airflow.sdk.log import mask_secret

    AIRFLOW_V3 = True
except ImportError:  # Airflow 2.11
    from airflow.exceptions import AirflowException, AirflowFailException  # type: ignore[no-redef,attr-defined,unused-ignore]
    from airflow.hooks.base import BaseHook  # type: ignore[no-redef,attr-defined,unused-ignore]
    from airflow.io.path import ObjectStoragePath  # type: ignore[no-redef,attr-defined,unused-ignore]
    from airflow.models.baseoperator import BaseOperator  # type: ignore[no-redef,attr-defined,unused-ignore]
    from airflow.sensors.base import BaseSensorOperator, PokeReturnValue  # type: ignore[no-redef,attr-defined,unused-ignore]
    from airflow.utils.context import Context  # type: ignore[no-redef,attr-defined,unused-ignore]
    from airflow.utils.log.secrets_masker import mask_secret  # type: ignore[no-redef,attr-defined,unused-ignore]

    AIRFLOW_V3 = False

from airflow.triggers.base import BaseTrigger, TriggerEvent

try:  # Airflow 3: triggers of asset watchers (event-driven scheduling)
    from airflow.triggers.base import BaseEventTrigger
except ImportError:  # Airflow 2.11: no event-driven scheduling
    BaseEventTrigger = None  # type: ignore[assignment,misc,unused-ignore]


def mask_secret_locally(secret: str) -> None:
    """Register a secret with this process's masker only (safe inside the triggerer's event loop)."""
    try:
        from airflow.sdk._shared.secrets_masker.secrets_masker import mask_secret as local_mask
    except ImportError:  # Airflow 2.11: the masker is process-local anyway
        local_mask = mask_secret
    local_mask(secret)


async def aget_connection(conn_id: str) -> Any:
    """Resolve a connection without blocking the triggerer's event loop."""
    getter = getattr(BaseHook, "aget_connection", None)
    if getter is not None:  # Airflow 3: async API of the task SDK
        return await getter(conn_id)
    import asyncio

    return await asyncio.to_thread(BaseHook.get_connection, conn_id)


def default_deferrable() -> bool:
    """``[operators] default_deferrable`` (read when an operator is created)."""
    try:
        from airflow.configuration import conf

        return conf.getboolean("operators", "default_deferrable", fallback=False)
    except Exception:  # pragma: no cover - config unavailable
        return False


__all__ = [
    "AIRFLOW_V3",
    "AirflowException",
    "AirflowFailException",
    "BaseEventTrigger",
    "BaseHook",
    "BaseOperator",
    "BaseSensorOperator",
    "BaseTrigger",
    "Context",
    "ObjectStoragePath",
    "PokeReturnValue",
    "TriggerEvent",
    "aget_connection",
    "default_deferrable",
    "mask_secret",
    "mask_secret_locally",
]
