"""The webhook publisher against a receiver that verifies signatures and deduplicates keys."""

from __future__ import annotations

import hashlib
import hmac
import json
import ssl
import threading
import time
from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import ip_address

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from bot.publishers.base import PermanentFailure, Publication, TemporaryFailure
from bot.publishers.webhook import WebhookPublisher
from tests.publishers.fakes import GARBAGE, Reply, WebhookReceiver

SECRET = "whsec-0123456789"


@pytest.fixture
def receiver():
    receiver = WebhookReceiver(SECRET)
    with receiver.server:
        yield receiver


def publisher(receiver: WebhookReceiver, timeout: float = 5.0) -> WebhookPublisher:
    return WebhookPublisher("zapier", receiver.server.url + "/hooks/in", SECRET, timeout)


def test_the_receiver_gets_the_approved_post_signed(receiver, approved: Publication):
    published = publisher(receiver).publish(approved)

    assert published.remote_id == "evt_1"
    (request,) = receiver.server.requests
    assert request.headers["content-type"] == "application/json; charset=utf-8"
    assert json.loads(request.body) == {
        "post_id": "P0001",
        "revision": 2,
        "text": approved.text,
        "targets": ["out", "other"],
        "campaign": "autunno",
        "approvals": list(approved.approvals),
        "idempotency_key": "gl-T0ACME-P0001-r2-out",
    }
    assert set(json.loads(request.body)) == {f.name for f in fields(Publication)}  # all of it
    expected = hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    assert request.headers["x-greenlight-signature"] == f"sha256={expected}"
    assert request.headers["x-greenlight-timestamp"].isdigit()
    assert request.headers["idempotency-key"] == "gl-T0ACME-P0001-r2-out"


def test_a_retry_carries_the_same_key_and_the_receiver_stores_the_post_once(
    receiver, approved: Publication
):
    target = publisher(receiver)
    receiver.script.append(Reply(503, b"upstream busy", {"Content-Type": "text/plain"}))

    with pytest.raises(TemporaryFailure) as failure:
        target.publish(approved)
    assert "503" in failure.value.message
    first = target.publish(approved)
    again = target.publish(approved)

    assert first == again
    assert len(receiver.stored) == 1
    keys = {r.headers["idempotency-key"] for r in receiver.server.requests}
    assert keys == {"gl-T0ACME-P0001-r2-out"}


def test_a_wrong_secret_is_refused_for_good_with_the_receivers_words(receiver, approved):
    target = WebhookPublisher("zapier", receiver.server.url + "/in", "another-secret")

    with pytest.raises(PermanentFailure) as failure:
        target.publish(approved)

    assert failure.value.message == (
        f"{receiver.server.url}/in answered 401: " + '{"error": "bad signature"}'
    )
    assert receiver.stored == {}


def test_a_long_refusal_is_shortened_for_humans(receiver, approved):
    receiver.script.append(Reply(422, b"x" * 2000, {"Content-Type": "text/plain"}))

    with pytest.raises(PermanentFailure) as failure:
        publisher(receiver).publish(approved)

    assert failure.value.message.endswith("x" * 500 + "…")
    assert len(failure.value.message) < 600


def test_429_is_temporary_with_the_receivers_retry_after(receiver, approved):
    receiver.script.append(Reply(429, {"error": "slow down"}, {"Retry-After": "7"}))

    with pytest.raises(TemporaryFailure) as failure:
        publisher(receiver).publish(approved)

    assert failure.value.retry_after == 7.0


def test_a_receiver_that_does_not_answer_in_time_is_temporary(receiver, approved):
    receiver.script.append(Reply(200, {"id": "late"}, delay=1.5))

    with pytest.raises(TemporaryFailure) as failure:
        publisher(receiver, timeout=0.3).publish(approved)

    assert "did not answer in 0.3 s" in failure.value.message


def test_a_receiver_that_is_down_is_temporary(approved):
    receiver = WebhookReceiver(SECRET)
    with receiver.server:
        url = receiver.server.url
    target = WebhookPublisher("zapier", url, SECRET, timeout=2)

    with pytest.raises(TemporaryFailure) as failure:
        target.publish(approved)

    assert failure.value.message.startswith(f"cannot reach {url}")


def test_a_redirect_is_not_followed(receiver, approved):
    receiver.script.append(Reply(301, b"", {"Location": "https://elsewhere.example/in"}))

    with pytest.raises(PermanentFailure) as failure:
        publisher(receiver).publish(approved)

    assert "redirects to https://elsewhere.example/in" in failure.value.message
    assert len(receiver.server.requests) == 1


def test_a_receiver_without_an_id_gets_the_idempotency_key_as_remote_id(receiver, approved):
    receiver.script.append(Reply(204))

    assert publisher(receiver).publish(approved).remote_id == approved.idempotency_key


def test_retry_after_as_an_http_date_becomes_seconds(receiver, approved):
    later = formatdate(time.time() + 60, usegmt=True)
    receiver.script.append(Reply(503, b"", {"Retry-After": later}))

    with pytest.raises(TemporaryFailure) as failure:
        publisher(receiver).publish(approved)

    assert 55 <= failure.value.retry_after <= 60


def test_an_answer_that_is_not_http_is_temporary(receiver, approved):
    receiver.script.append(Reply(GARBAGE))

    with pytest.raises(TemporaryFailure) as failure:
        publisher(receiver).publish(approved)

    assert failure.value.message.startswith(f"cannot reach {receiver.server.url}")


def test_the_connection_is_kept_alive_and_one_the_receiver_closed_is_replaced(
    receiver, approved: Publication
):
    receiver.server.idle_timeout = 0.3  # the receiver drops connections idle for 0.3 s
    target = publisher(receiver)
    target.publish(approved)
    target.publish(replace(approved, idempotency_key="gl-T0ACME-P0002-r1-out"))
    time.sleep(0.8)  # the kept-alive connection is closed by the receiver meanwhile
    target.publish(replace(approved, idempotency_key="gl-T0ACME-P0003-r1-out"))
    first, second, third = receiver.server.peers
    assert first == second != third  # two posts on one connection; then a new one
    assert len(receiver.stored) == 3 and len(receiver.arrivals) == 3


@pytest.fixture
def tls_receiver(tmp_path):
    """An HTTPS receiver with a self-signed certificate for 127.0.0.1 (its file: `.cert`)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            answer = b'{"id": "evt_tls"}'
            self.send_response(200)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.cert = cert_file  # type: ignore[attr-defined]
    yield server
    server.shutdown()
    server.server_close()


def test_https_receivers_must_show_a_trusted_certificate(tls_receiver, approved, monkeypatch):
    url = f"https://127.0.0.1:{tls_receiver.server_address[1]}/hooks/in"

    with pytest.raises(TemporaryFailure) as failure:
        WebhookPublisher("zapier", url, SECRET).publish(approved)
    assert failure.value.message.startswith(f"cannot reach {url}")
    assert "certificate" in failure.value.message

    monkeypatch.setenv("SSL_CERT_FILE", str(tls_receiver.cert))  # the system's trust store
    assert WebhookPublisher("zapier", url, SECRET).publish(approved).remote_id == "evt_tls"


def test_proxy_variables_do_not_divert_the_post(receiver, approved, monkeypatch):
    for variable in ("http_proxy", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.setenv(variable, "http://127.0.0.1:9")  # nothing listens there
    assert publisher(receiver).publish(approved).remote_id == "evt_1"
