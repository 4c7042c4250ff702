"""Helpers for tests that talk to a running twin (also meant for the live adapter's integration tests).

* :class:`WsProbe` - a raw WebSocket client (``websockets`` sync API) that records every message
  on a background thread; ``wait_for(predicate)`` polls with a timeout instead of sleeping.
* :func:`signed_exchange_body` - an ``/exchange`` body signed with the SDK's own signing code,
  for requests the SDK cannot make directly (fixed nonces, ``modify``, tampering).
* :func:`post` - raw ``POST`` returning ``(status, text)``.
* :func:`wait_until` - poll a condition.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any
from typing import Callable

import requests


def wait_until(predicate: Callable[[], Any], timeout_s: float = 5.0, interval_s: float = 0.01) -> Any:
    """Poll ``predicate`` until it returns something truthy; raise ``TimeoutError`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"condition not met within {timeout_s} s")
        time.sleep(interval_s)


def post(base_url: str, path: str, body: Any, timeout_s: float = 10.0) -> tuple[int, str]:
    response = requests.post(base_url + path, data=json.dumps(body), headers={"Content-Type": "application/json"},
                             timeout=timeout_s)
    return response.status_code, response.text


def signed_exchange_body(
    wallet,
    action: dict,
    nonce: int | None = None,
    vault_address: str | None = None,
    expires_after: int | None = None,
    is_mainnet: bool = False,
) -> dict:
    """The exact body ``Exchange._post_action`` would send for this L1 action."""
    from hyperliquid.utils.signing import get_timestamp_ms
    from hyperliquid.utils.signing import sign_l1_action

    nonce = get_timestamp_ms() if nonce is None else nonce
    signature = sign_l1_action(wallet, action, vault_address, nonce, expires_after, is_mainnet)
    return {"action": action, "nonce": nonce, "signature": signature, "vaultAddress": vault_address,
            "expiresAfter": expires_after}


class WsProbe:
    """Raw WebSocket client for the twin's ``/ws`` that records all frames (parsed JSON or raw text)."""

    def __init__(self, ws_url: str, open_timeout_s: float = 5.0) -> None:
        from websockets.sync.client import connect

        self.url = ws_url
        self.messages: list[Any] = []
        self.closed = threading.Event()
        self._lock = threading.Lock()
        self._conn = connect(ws_url, open_timeout=open_timeout_s, close_timeout=1)
        self._thread = threading.Thread(target=self._read_forever, daemon=True)
        self._thread.start()

    def _read_forever(self) -> None:
        try:
            for frame in self._conn:
                try:
                    item = json.loads(frame)
                except ValueError:
                    item = frame
                with self._lock:
                    self.messages.append(item)
        except Exception:  # noqa: BLE001 - connection closed or dropped
            pass
        finally:
            self.closed.set()

    def send(self, obj: Any) -> None:
        self._conn.send(obj if isinstance(obj, str) else json.dumps(obj))

    def subscribe(self, subscription: dict) -> None:
        self.send({"method": "subscribe", "subscription": subscription})

    def unsubscribe(self, subscription: dict) -> None:
        self.send({"method": "unsubscribe", "subscription": subscription})

    def channel(self, name: str) -> list[Any]:
        with self._lock:
            return [m for m in self.messages if isinstance(m, dict) and m.get("channel") == name]

    def wait_for(self, predicate: Callable[[Any], bool], timeout_s: float = 5.0) -> Any:
        """First recorded message satisfying ``predicate`` (waits for it)."""

        def find():
            with self._lock:
                for m in self.messages:
                    if predicate(m):
                        return m
            return None

        found = wait_until(lambda: find() is not None, timeout_s)
        return find() if found else None

    def wait_channel(self, name: str, predicate: Callable[[Any], bool] = lambda m: True, timeout_s: float = 5.0) -> Any:
        return self.wait_for(lambda m: isinstance(m, dict) and m.get("channel") == name and predicate(m), timeout_s)

    def close(self) -> None:
        try:
            self._conn.close()
        except Exception:  # noqa: BLE001
            pass
        self._thread.join(timeout=2)
