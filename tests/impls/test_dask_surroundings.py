"""The dask rung in damaged surroundings: whatever listens at the scheduler address, the ports it
opens, TLS, and Zarr stores that are not what they should be.

Each case has something real on this machine: a listener on 127.0.0.1 in a thread of the test,
scheduler and worker processes, a store on disk, another process writing it. Each must end in one
clear error naming what and where (in time, for an address), leaving the caller's arrays as they were.
"""

from __future__ import annotations

import datetime
import http.server
import ipaddress
import re
import shutil
import socket
import socketserver
import subprocess
import sys
import threading
import time
import traceback
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from impls import IMPLEMENTATIONS, MISSING

if "dask" not in IMPLEMENTATIONS:
    pytest.skip(MISSING["dask"], allow_module_level=True)

import dask
import distributed
import psutil
import zarr

from impls import dask as dask_rung
from tests.impls.dask_cluster import agrees, cluster_of_processes, fit_in_a_new_python, problem

RUNG = IMPLEMENTATIONS["dask"]
TOLERANCE = RUNG.tolerance("float64")
#: The README's promise: a ConnectionError within CONNECT_TIMEOUT_S; this much more for a busy machine.
MARGIN_S = 3.0


# --- What listens at the scheduler address ------------------------------------------------------


class _Counting:
    """A server on 127.0.0.1 in threads of this process, counting the connections it accepted."""

    daemon_threads = True

    def __init__(self, handler):
        super().__init__(("127.0.0.1", 0), handler)
        self.connections = 0
        self.stop = threading.Event()

    def process_request(self, request, client_address):
        self.connections += 1
        super().process_request(request, client_address)


class _TCPServer(_Counting, socketserver.ThreadingTCPServer):
    pass


class _HTTPServer(_Counting, http.server.ThreadingHTTPServer):
    pass


class _Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"hello")

    def log_message(self, *args):  # the test's output is not the place for its access log
        pass


class _ClosesAtOnce(socketserver.BaseRequestHandler):
    def handle(self):
        pass  # the connection is closed as soon as it is accepted


class _NeverSpeaks(socketserver.BaseRequestHandler):
    def handle(self):
        self.server.stop.wait(60)  # holds the connection open, saying nothing


class _Garbage(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.sendall(np.random.default_rng(0).bytes(4096))
        self.server.stop.wait(60)


@contextmanager
def listening(kind: str):
    """A server of ``kind`` on a free 127.0.0.1 port; yields its address (as Dask writes one) and it."""
    if kind == "http":
        server = _HTTPServer(_Hello)
    else:
        server = _TCPServer({"closes": _ClosesAtOnce, "silent": _NeverSpeaks, "garbage": _Garbage}[kind])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"tcp://127.0.0.1:{server.server_address[1]}", server
    finally:
        server.stop.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_the_helpers_of_this_module_start_real_listeners():
    """The listeners above are what their names say (a test of the tests: each can make its test fail)."""
    with listening("http") as (address, _):
        host, port = address.removeprefix("tcp://").split(":")
        with socket.create_connection((host, int(port)), timeout=5) as s:
            s.sendall(b"GET / HTTP/1.0\r\n\r\n")
            assert s.recv(12).startswith(b"HTTP/1.0 200")
    with listening("closes") as (address, _):
        host, port = address.removeprefix("tcp://").split(":")
        with socket.create_connection((host, int(port)), timeout=5) as s:
            assert s.recv(1) == b""  # closed by the other side
    with listening("garbage") as (address, _):
        host, port = address.removeprefix("tcp://").split(":")
        with socket.create_connection((host, int(port)), timeout=5) as s:
            assert len(s.recv(64)) > 0
    with listening("silent") as (address, _):
        host, port = address.removeprefix("tcp://").split(":")
        with socket.create_connection((host, int(port)), timeout=5) as s:
            s.settimeout(0.5)
            with pytest.raises(TimeoutError):
                s.recv(1)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("http", "accepted the connection and did not answer in Dask's protocol"),
        ("closes", "closed the connection without answering as a Dask scheduler"),
        ("silent", "accepted the connection and did not answer in Dask's protocol"),
        ("garbage", "what answered does not speak Dask's protocol"),
    ],
    ids=["an-http-server", "closes-at-once", "never-says-anything", "sends-garbage"],
)
def test_a_listener_that_is_not_a_scheduler_is_a_connection_error_in_time(kind, reason):
    """An HTTP server, one that closes at once, one that never speaks, one that sends garbage."""
    X, y = problem(100, 3)
    X_before, y_before = X.copy(), y.copy()
    with listening(kind) as (address, server), dask.config.set({"scheduler-address": address}):
        start = time.monotonic()
        with pytest.raises(ConnectionError) as caught:
            RUNG.fit(X, y, lr=0.1, epochs=1)
        elapsed = time.monotonic() - start
    message = str(caught.value)
    assert f"no scheduler answered at {address} (DASK_SCHEDULER_ADDRESS)" in message
    assert re.search(reason, message), message
    assert elapsed < dask_rung.CONNECT_TIMEOUT_S + MARGIN_S, f"{elapsed:.1f} s"
    assert server.connections >= 1  # the rung did reach the listener
    assert caught.value.__cause__ is None and caught.value.__suppress_context__ is False
    assert np.array_equal(X, X_before) and np.array_equal(y, y_before)


@pytest.mark.parametrize(
    ("address", "error", "match"),
    [
        (
            "http://127.0.0.1:8787",
            ValueError,
            r"'http://127.0.0.1:8787' \(DASK_SCHEDULER_ADDRESS\).*scheme 'http'",
        ),
        ("127.0.0.1", ValueError, r"'127.0.0.1' \(DASK_SCHEDULER_ADDRESS\).*missing port"),
        (8786, TypeError, r"DASK_SCHEDULER_ADDRESS.*must be a string.*got 8786"),
    ],
    ids=["a-dashboard-url", "no-port", "not-a-string"],
)
def test_a_scheduler_address_dask_cannot_connect_to_is_refused_naming_it(address, error, match):
    with dask.config.set({"scheduler-address": address}), pytest.raises(error, match=match):
        RUNG.fit(*problem(100, 3), lr=0.1, epochs=1)


def test_the_rung_follows_the_configured_address_from_one_fit_to_the_next():
    """A changed address is the cluster of the next fit (not the cluster opened for the last one)."""
    X, y = problem(200, 3)
    with dask.config.set({"scheduler-address": None}):
        RUNG.fit(X, y, lr=0.1, epochs=1)  # on this process's LocalCluster
        local = dask_rung.client()
        assert local.cluster is not None
    with listening("closes") as (address, _), dask.config.set({"scheduler-address": address}):
        with pytest.raises(ConnectionError, match=f"no scheduler answered at {address}"):
            RUNG.fit(X, y, lr=0.1, epochs=1)
    with dask.config.set({"scheduler-address": None}):
        assert dask_rung.client() is local  # kept through the failed attempt: nothing else was opened


# --- Ports ------------------------------------------------------------------------------------------


def listening_addresses(process: psutil.Process, children: bool) -> set[str]:
    """The addresses where ``process`` (and its children, if asked) listen for TCP connections."""
    found = set()
    for each in [process, *(process.children(recursive=True) if children else [])]:
        for connection in each.net_connections(kind="inet"):
            if connection.status == psutil.CONN_LISTEN:
                found.add(connection.laddr.ip)
    return found


def test_nothing_a_default_fit_starts_listens_beyond_loopback():
    """The in-process LocalCluster: its dashboard and its worker's HTTP server, on 127.0.0.1 only."""
    dask_rung.close()  # the cluster of this fit is the one the rung starts today
    with dask.config.set({"scheduler-address": None}):
        X, y = problem(500, 3)
        assert agrees(RUNG.fit(X, y, lr=0.5, epochs=2), X, y, 0.5, 2) <= TOLERANCE
        assert dask_rung.client().cluster is not None  # the rung's LocalCluster, still up
        addresses = listening_addresses(psutil.Process(), children=False)
    assert addresses, "the cluster listens nowhere: nothing was checked"
    assert addresses <= {"127.0.0.1", "::1"}, addresses


def test_a_cluster_of_worker_processes_listens_on_loopback_only():
    """The benchmark's cluster of worker processes (bench/suite/bench_dask.py), with local_cluster's
    defaults."""
    with (
        dask_rung.local_cluster(n_workers=2, threads_per_worker=1, processes=True) as cluster,
        distributed.Client(cluster, set_as_default=False) as client,
    ):
        assert len(client.scheduler_info()["workers"]) == 2
        me = psutil.Process()
        assert me.children(recursive=True), "no worker processes: nothing was checked"
        addresses = listening_addresses(me, children=True)
    assert addresses <= {"127.0.0.1", "::1"}, addresses


# --- TLS ------------------------------------------------------------------------------------------------


def self_signed_certificate(folder: Path, name: str = "ladder-test") -> tuple[str, str]:
    """A certificate for 127.0.0.1 that is its own authority, and its key: (cert.pem, key.pem) paths."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    cert, key_file = folder / f"{name}.pem", folder / f"{name}-key.pem"
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return str(cert), str(key_file)


def tls_settings(ca: str, cert: str, key: str) -> dict:
    """Dask's configuration for the client's TLS (what DASK_DISTRIBUTED__COMM__TLS__* set)."""
    return {
        "distributed.comm.tls.ca-file": ca,
        "distributed.comm.tls.client.cert": cert,
        "distributed.comm.tls.client.key": key,
    }


@pytest.fixture(scope="module")
def tls_cluster(tmp_path_factory):
    """`dask scheduler` and a `dask worker` on tls://127.0.0.1, with a certificate made here."""
    folder = tmp_path_factory.mktemp("tls-cluster")
    cert, key = self_signed_certificate(folder / "certificates")
    with cluster_of_processes(folder, workers=1, tls=(cert, cert, key)) as (address, _):
        assert address.startswith("tls://127.0.0.1:")
        yield address, cert, key


@pytest.mark.slow
def test_a_tls_cluster_with_dask_tls_settings_in_the_environment(tls_cluster, tmp_path):
    """As a user would: the address and Dask's TLS settings in environment variables, a new Python."""
    address, cert, key = tls_cluster
    env = {
        "DASK_SCHEDULER_ADDRESS": address,
        "DASK_DISTRIBUTED__COMM__TLS__CA_FILE": cert,
        "DASK_DISTRIBUTED__COMM__TLS__CLIENT__CERT": cert,
        "DASK_DISTRIBUTED__COMM__TLS__CLIENT__KEY": key,
    }
    X, y = problem(5_000, 6)
    result, used = fit_in_a_new_python(tmp_path, env, X, y, lr=0.5, epochs=4)
    assert used == address
    assert agrees(result, X, y, 0.5, 4) <= TOLERANCE


def test_a_tls_cluster_with_dask_tls_settings_in_this_process(tls_cluster):
    """dask.config.set as the other way to give them; and the next fit without them is back on loopback."""
    address, cert, key = tls_cluster
    X, y = problem(3_000, 5)
    with dask.config.set({"scheduler-address": address, **tls_settings(cert, cert, key)}):
        result = RUNG.fit(X, y, lr=0.5, epochs=3)
        assert dask_rung.client().scheduler.address == address
    assert agrees(result, X, y, 0.5, 3) <= TOLERANCE
    assert dask_rung.client().cluster is not None  # the configuration names no address: a LocalCluster


def test_a_tls_scheduler_addressed_as_tcp_is_a_connection_error_in_time(tls_cluster):
    address, cert, key = tls_cluster
    plain = address.replace("tls://", "tcp://")
    start = time.monotonic()
    with dask.config.set({"scheduler-address": plain, **tls_settings(cert, cert, key)}):
        with pytest.raises(
            ConnectionError, match=f"no scheduler answered at {plain} .*is its address tls://"
        ):
            RUNG.fit(*problem(100, 3), lr=0.1, epochs=1)
    assert time.monotonic() - start < dask_rung.CONNECT_TIMEOUT_S + MARGIN_S


def test_a_tls_scheduler_whose_certificate_is_not_trusted_is_a_connection_error_in_time(
    tls_cluster, tmp_path
):
    """The client trusts another authority than the one that signed the scheduler's certificate."""
    address, _, _ = tls_cluster
    other, other_key = self_signed_certificate(tmp_path, "another-authority")
    start = time.monotonic()
    with dask.config.set({"scheduler-address": address, **tls_settings(other, other, other_key)}):
        with pytest.raises(
            ConnectionError, match=f"no scheduler answered at {address} .*TLS certificate does not match"
        ):
            RUNG.fit(*problem(100, 3), lr=0.1, epochs=1)
    assert time.monotonic() - start < dask_rung.CONNECT_TIMEOUT_S + MARGIN_S


@pytest.mark.parametrize("case", ["no-settings", "missing-file", "not-a-certificate", "plain-address"])
def test_tls_settings_the_client_cannot_use_are_a_value_error_naming_them(case, tmp_path):
    """Before any connection: the settings, and the file, that are wrong."""
    cert, key = self_signed_certificate(tmp_path)
    settings = tls_settings(cert, cert, key)
    address = "tls://127.0.0.1:1"
    if case == "plain-address":
        settings["distributed.comm.require-encryption"] = True
        address = "tcp://127.0.0.1:1"
        match = r"tcp://127.0.0.1:1 \(DASK_SCHEDULER_ADDRESS\) is not a tls:// one.*require-encryption"
    elif case == "no-settings":
        settings = tls_settings(None, None, None)
        match = r"tls://127.0.0.1:1 \(DASK_SCHEDULER_ADDRESS\) asks for TLS.*no certificate"
    elif case == "missing-file":
        settings["distributed.comm.tls.ca-file"] = str(tmp_path / "missing.pem")
        match = rf"distributed.comm.tls.ca-file names '{tmp_path / 'missing.pem'}', which is not a file"
    else:
        (tmp_path / "garbage.pem").write_text("not a certificate\n")
        settings["distributed.comm.tls.client.cert"] = str(tmp_path / "garbage.pem")
        match = rf"TLS settings cannot be used \(.*client.cert='{tmp_path / 'garbage.pem'}'"
    with dask.config.set({"scheduler-address": address, **settings}):
        with pytest.raises(ValueError, match=match):
            RUNG.fit(*problem(100, 3), lr=0.1, epochs=1)


# --- Zarr stores ------------------------------------------------------------------------------------


def write_store(path: Path, X: np.ndarray, chunk_rows: int, **options) -> Path:
    zarr.create_array(str(path), shape=X.shape, chunks=(chunk_rows, X.shape[1]), dtype=X.dtype, **options)[
        :
    ] = X
    return path


def raised_before_the_epochs(caught) -> bool:
    """Whether the error came before the descent's first epoch (from the checks, not from ``descend``)."""
    return not any(entry.name in ("descend", "epoch_sums") for entry in caught.traceback)


def from_inside_a_library(caught) -> list[str]:
    """The frames of Zarr or its codecs in the error's traceback, or chained to it."""
    frames, error = [], caught.value
    while error is not None:
        frames += [f.filename for f in traceback.extract_tb(error.__traceback__)]
        error = error.__cause__ or (None if error.__suppress_context__ else error.__context__)
    return [f for f in frames if "site-packages/zarr" in f or "numcodecs" in f]


def damage(store: Path, chunk: str, how: str) -> None:
    chunk_file = store / chunk
    data = chunk_file.read_bytes()
    if how == "truncated":
        chunk_file.write_bytes(data[: len(data) // 2])
    elif how == "garbage":
        chunk_file.write_bytes(np.random.default_rng(1).bytes(len(data)))
    else:
        chunk_file.unlink()


@pytest.mark.parametrize(
    ("case", "match"),
    [
        ("does-not-exist", r"X must be a Zarr array: {path} does not exist"),
        ("a-plain-file", r"X must be a Zarr array: {path} is a file, not a Zarr store"),
        ("a-folder-not-zarr", r"X must be a Zarr array: the folder {path} is not a Zarr store"),
        ("a-group", r"X must be a Zarr array: {path} is a Zarr group, not an array \(its arrays: x, z"),
        ("damaged-metadata", r"X must be a Zarr array: the metadata of the store at {path} cannot be read"),
    ],
    ids=["does-not-exist", "a-plain-file", "a-folder-not-zarr", "a-group", "damaged-metadata"],
)
def test_a_store_path_that_is_not_a_zarr_array_is_refused_before_any_work(case, match, tmp_path, monkeypatch):
    path = tmp_path / "X.zarr"
    if case == "a-plain-file":
        path.write_bytes(b"\x93NUMPY not a store")
    elif case == "a-folder-not-zarr":
        path.mkdir()
        (path / "notes.txt").write_text("X is elsewhere")
    elif case == "a-group":
        group = zarr.create_group(str(path))
        group.create_array("x", shape=(10, 2), dtype="float64")
        group.create_array("z", shape=(10, 2), dtype="float64")
    elif case == "damaged-metadata":
        write_store(path, np.ones((10, 2)), 5)
        (path / "zarr.json").write_text('{"zarr_format": 3, "node_type": "arr')
    y = np.zeros(10)
    y_before = y.copy()

    def no_cluster():
        raise AssertionError("the cluster was asked for before the store was checked")

    monkeypatch.setattr(dask_rung.store, "client", no_cluster)  # where prepare_store looks it up
    with pytest.raises(ValueError, match=match.format(path=path)) as caught:
        dask_rung.fit_zarr(path, y, lr=0.1, epochs=1)
    assert not from_inside_a_library(caught)
    assert np.array_equal(y, y_before)


@pytest.mark.parametrize("how", ["truncated", "garbage", "missing"])
def test_a_damaged_or_missing_chunk_file_is_refused_before_the_first_epoch(how, tmp_path):
    X, y = problem(400, 3)
    store = write_store(tmp_path / "X.zarr", X, 100)
    damage(store, "c/2/0", how)
    X_before, y_before = X.copy(), y.copy()
    wanted = (
        "is missing; Zarr would read those rows as the fill value" if how == "missing" else "does not decode"
    )
    with pytest.raises(
        ValueError, match=rf"X \(the Zarr array at {store}\): its chunk file c/2/0 .*{wanted}"
    ) as caught:
        dask_rung.fit_zarr(store, y, lr=0.1, epochs=3)
    assert "rows 200 to 299" in str(caught.value)
    assert raised_before_the_epochs(caught)
    assert not from_inside_a_library(caught)
    assert np.array_equal(y, y_before) and np.array_equal(X, X_before)


def test_chunks_zarr_left_out_as_all_fill_value_are_read_so_when_asked(tmp_path):
    """Zarr writes no chunk that is all fill value (0): an error by default, X itself when asked."""
    X, y = problem(400, 3)
    X[100:200] = 0.0  # a chunk of zeros: not written
    store = write_store(tmp_path / "X.zarr", X, 100)
    assert not (store / "c/1/0").exists()
    with pytest.raises(ValueError, match=r"chunk file c/1/0 .*is missing.*fill_missing_chunks=True"):
        dask_rung.fit_zarr(store, y, lr=0.5, epochs=3)
    result = dask_rung.fit_zarr(store, y, lr=0.5, epochs=3, fill_missing_chunks=True)
    assert agrees(result, X, y, 0.5, 3) <= TOLERANCE


def test_other_store_layouts_are_read_whole(tmp_path):
    """Sharded (chunk files hold several chunks) and Zarr format 2 (other file names): the same answer."""
    X, y = problem(1_000, 4)
    sharded = write_store(tmp_path / "sharded.zarr", X, 100, shards=(400, 4))
    assert sorted(p.name for p in (sharded / "c").iterdir()) == ["0", "1", "2"]
    assert agrees(dask_rung.fit_zarr(sharded, y, lr=0.5, epochs=3), X, y, 0.5, 3) <= TOLERANCE
    v2 = write_store(tmp_path / "v2.zarr", X, 300, zarr_format=2)
    assert (v2 / ".zarray").exists()
    assert agrees(dask_rung.fit_zarr(v2, y, lr=0.5, epochs=3), X, y, 0.5, 3) <= TOLERANCE


def test_a_store_rewritten_between_two_fits_is_read_as_it_is_now(tmp_path):
    """Same path, another X (another shape): the second fit reads the new array, not the old metadata."""
    X, y = problem(600, 3)
    store = write_store(tmp_path / "X.zarr", X, 200)
    assert agrees(dask_rung.fit_zarr(store, y, lr=0.5, epochs=2), X, y, 0.5, 2) <= TOLERANCE
    shutil.rmtree(store)
    X2, y2 = problem(600, 5, seed=1)
    write_store(store, X2, 150)
    assert agrees(dask_rung.fit_zarr(store, y2, lr=0.5, epochs=2), X2, y2, 0.5, 2) <= TOLERANCE


WRITERS = {  # what another process does to the store after it was checked (argv[1]: the store)
    "rewrites-a-chunk": "import sys, zarr; a = zarr.open_array(sys.argv[1], mode='r+'); a[100:200] = 7.0",
    "resizes-it": "import sys, zarr; a = zarr.open_array(sys.argv[1], mode='r+'); a.resize((300, 3))",
    "deletes-a-chunk": "import os, sys; os.remove(os.path.join(sys.argv[1], 'c', '1', '0'))",
    "deletes-it": "import shutil, sys; shutil.rmtree(sys.argv[1])",
}
CHANGES = {
    "rewrites-a-chunk": r"c/1/0 was rewritten",
    "resizes-it": r"zarr.json was rewritten",
    "deletes-a-chunk": r"c/1/0 was deleted",
    "deletes-it": r"the store's folder is not there",
}


@pytest.mark.parametrize("writer", list(WRITERS))
def test_a_store_another_process_changes_during_the_fit_stops_it_with_a_clear_error(writer, tmp_path):
    """Checked before the first epoch, then changed by another process: the epochs must not read another X."""
    X, y = problem(400, 3)
    store = write_store(tmp_path / "X.zarr", X, 100)
    p = RUNG.validate(X, y, lr=0.5, epochs=3)
    state = dask_rung.prepare_store(str(store), p.y, p.w0, p.b0, p.dtype)  # checked: a good store
    done = subprocess.run([sys.executable, "-c", WRITERS[writer], str(store)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    with pytest.raises(
        ValueError,
        match=rf"X \(the Zarr array at {store}\) changed since it was checked before the first epoch",
    ) as caught:
        RUNG.run(state, p)
    assert re.search(CHANGES[writer], str(caught.value)), caught.value
    assert not from_inside_a_library(caught)


def test_a_relative_store_path_is_the_store_it_names_here(tmp_path, monkeypatch):
    """fit_zarr('X.zarr') reads ./X.zarr, and the error for a missing one names its absolute path."""
    X, y = problem(300, 3)
    write_store(tmp_path / "X.zarr", X, 100)
    monkeypatch.chdir(tmp_path)
    assert agrees(dask_rung.fit_zarr("X.zarr", y, lr=0.5, epochs=2), X, y, 0.5, 2) <= TOLERANCE
    with pytest.raises(ValueError, match=f"{tmp_path / 'Y.zarr'} does not exist"):
        dask_rung.fit_zarr("Y.zarr", y, lr=0.5, epochs=2)
