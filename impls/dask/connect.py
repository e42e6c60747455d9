"""Reaching a cluster by its scheduler's address, in Dask's configuration, with its TLS settings.

With a scheduler address in Dask's configuration (``DASK_SCHEDULER_ADDRESS``, or
``dask.config.set({"scheduler-address": ...})``), the rung runs on that cluster, reached with
Dask's own security settings (``distributed.comm.tls.*``: a ``tls://`` address). Anything at the
address that does not answer as a Dask scheduler within ``CONNECT_TIMEOUT_S`` (nothing, an HTTP
server, a silent or a garbled listener, a Dask worker) is a ``ConnectionError`` naming it, and
settings the client cannot use (a certificate file missing, a ``tls://`` address with no
certificate) a ``ValueError`` naming them.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from importlib import import_module

CONNECT_TIMEOUT_S = 5.0  # for anything at a configured scheduler address to answer as a scheduler
ADDRESS_SETTING = "DASK_SCHEDULER_ADDRESS"  # how the messages name where the address came from
TLS_SETTINGS = (
    "distributed.comm.tls.ca-file",
    "distributed.comm.tls.client.cert",
    "distributed.comm.tls.client.key",
)


def _connect(address):
    """A client of the scheduler at ``address``; anything else there is a ``ConnectionError`` in time.

    ``distributed.Client`` waits for the other side's handshake without a time limit, so a program
    that accepts the connection and never answers in Dask's protocol (an HTTP server, a silent
    one) would hang it for minutes. The address is first asked, under one deadline, whether it is
    a Dask scheduler (``_not_a_scheduler``); only a scheduler gets the client's connection.
    """
    distributed = import_module("distributed")
    _check_address(address)
    security, connection_args = _security(address)
    deadline = time.monotonic() + CONNECT_TIMEOUT_S
    why = _not_a_scheduler(address, connection_args, CONNECT_TIMEOUT_S)
    if why is None:
        try:
            return distributed.Client(
                address,
                security=security,
                timeout=max(1.0, deadline - time.monotonic()),
                set_as_default=False,
            )
        except (OSError, TimeoutError) as exc:
            why = str(exc) or type(exc).__name__
    raise ConnectionError(
        f"dask: no scheduler answered at {address} ({ADDRESS_SETTING}) within {CONNECT_TIMEOUT_S:g} s: {why}"
    )


def _check_address(address) -> None:
    """A ``TypeError``/``ValueError`` naming the setting for an address Dask cannot connect to at all."""
    if not isinstance(address, str):
        raise TypeError(
            f"dask: the scheduler address in Dask's configuration ({ADDRESS_SETTING}, 'scheduler-address') "
            f"must be a string such as 'tcp://host:8786', got {address!r}"
        )
    if address.startswith("inproc://"):
        return  # a scheduler of this process (Dask's in-process transport has no port)
    try:
        import_module("distributed.comm").get_address_host_port(address)
    except ValueError as exc:
        raise ValueError(
            f"dask: the scheduler address {address!r} ({ADDRESS_SETTING}) is not one Dask connects to, "
            f"such as 'tcp://host:8786' or 'tls://host:8786': {exc}"
        ) from None


def _security(address):
    """The security the client connects with, and its connection arguments, as ``Client(address)``
    would make them: the configured security loader's, or ``distributed.Security()`` from Dask's
    configuration (``distributed.comm.tls.*``). Settings it cannot use (a file missing or not a
    certificate, a ``tls://`` address with no certificate, a plain address where encryption is
    required) are a ``ValueError`` naming them."""
    dask, distributed = import_module("dask"), import_module("distributed")
    loader = dask.config.get("distributed.client.security-loader", None)
    security = (
        import_module("distributed.utils").import_term(loader)({"address": address}) if loader else None
    )
    security = security or distributed.Security()
    settings = ", ".join(f"{key}={dask.config.get(key, None)!r}" for key in TLS_SETTINGS)
    for key in TLS_SETTINGS:
        value = dask.config.get(key, None)
        if isinstance(value, str) and "\n" not in value and not os.path.isfile(value):  # else: PEM text
            raise ValueError(f"dask: Dask's TLS setting {key} names {value!r}, which is not a file")
    try:
        connection_args = security.get_connection_args("client")
    except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError; neither names the file
        raise ValueError(f"dask: Dask's TLS settings cannot be used ({settings}): {exc}") from None
    if address.startswith("tls://") and connection_args.get("ssl_context") is None:
        raise ValueError(
            f"dask: the scheduler address {address} ({ADDRESS_SETTING}) asks for TLS, and Dask's "
            f"configuration gives the client no certificate: set all of {', '.join(TLS_SETTINGS)} "
            f"(now {settings})"
        )
    if connection_args.get("require_encryption") and not address.startswith(("tls://", "inproc://")):
        raise ValueError(
            f"dask: the scheduler address {address} ({ADDRESS_SETTING}) is not a tls:// one, and "
            "Dask's configuration requires encryption (distributed.comm.require-encryption)"
        )
    return security, connection_args


def _not_a_scheduler(address: str, connection_args: dict, timeout: float) -> str | None:
    """Why what answers at ``address`` is not a Dask scheduler, or None if it is one.

    One connection, in Dask's protocol and with the client's security, asks for the scheduler's
    identity, as the client would next; all of it within ``timeout``. It runs in a thread with
    an event loop of its own (a caller inside an event loop, as in Jupyter, is no matter), and
    the deadline holds even where that thread cannot be stopped at once (a name lookup).
    """
    comm = import_module("distributed.comm")
    outcome: dict = {}

    async def ask():
        # Connecting gives up a little before the deadline, with its own reason (refused, no such
        # host, a certificate refused); past the deadline, a connection was made and not answered.
        connection = await comm.connect(address, timeout=0.9 * timeout, **connection_args)
        try:
            await connection.write({"op": "identity", "reply": True, "n_workers": 0})
            return await connection.read()
        finally:
            connection.abort()

    def run():
        try:
            outcome["reply"] = asyncio.run(asyncio.wait_for(ask(), timeout))
        except BaseException as exc:  # whatever a stranger's bytes make the protocol raise
            outcome["error"] = exc

    asker = threading.Thread(target=run, name=f"dask-ask-{address}", daemon=True)
    asker.start()
    asker.join(timeout + 0.5)
    error, reply = outcome.get("error"), outcome.get("reply")
    if asker.is_alive():
        return "no answer (the connection, or a look-up of the host's name, still pending)"
    if isinstance(error, TimeoutError):
        return (
            "something accepted the connection and did not answer in Dask's protocol "
            "(another program listening there, e.g. an HTTP server?)"
        )
    if isinstance(error, import_module("distributed.comm.core").FatalCommClosedError):
        return str(error)  # Dask's own words: a TLS certificate refused, on either side
    if isinstance(error, comm.CommClosedError):
        tls = (
            " (a scheduler that speaks TLS closes plain connections so: is its address tls://?)"
            if "://" not in address or address.startswith("tcp://")
            else ""
        )
        return f"the other side closed the connection without answering as a Dask scheduler{tls} ({error})"
    if isinstance(error, OSError):  # refused, unreachable, no such host, a TLS handshake failed
        cause = f" ({error.__cause__ or type(error.__cause__).__name__})" if error.__cause__ else ""
        return f"{error or type(error).__name__}{cause}"
    if error is not None:
        return f"what answered does not speak Dask's protocol ({type(error).__name__}: {error})"
    if isinstance(reply, dict) and isinstance(reply.get("workers"), dict) and reply.get("type"):
        return None
    if isinstance(reply, dict) and reply.get("status") == "uncaught-error":
        return f"a Dask server that is not a scheduler answered (a worker?): {reply.get('exception_text')}"
    return f"what answered is not a Dask scheduler (it answered {str(reply)[:80]!r})"
