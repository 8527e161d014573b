"""A local Stripe on loopback: the few endpoints billing calls (customers, Checkout
Sessions, billing portal sessions), plus what Stripe would then send to the webhook.

Tests point the real ``stripe`` client at it (``UAB_STRIPE_API_BASE``). It checks the
secret key as Stripe does (401 otherwise), honours ``Idempotency-Key`` on customer
creation, keeps every request, and plays Stripe's side of a subscription's life
(``complete_checkout``, ``fail_payment``, ``pay``, ``cancel``) by returning the events
Stripe would deliver, which ``signed`` signs with Stripe's scheme: ``Stripe-Signature:
t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>" keyed with the endpoint's secret>``.

Events are created one second apart on the fake's own clock, which starts well in the
past: an event's ``created`` orders it, and a grace period of 0 days is over at once.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

SECRET_KEY = "sk_test_fake_billing_key"
WEBHOOK_SECRET = "whsec_fake_billing_secret"
PRICES = {
    "STARTER": {"month": "price_starter_m", "year": "price_starter_y"},
    "PRO": {"month": "price_pro_m", "year": "price_pro_y"},
}
PRICES_JSON = json.dumps(PRICES)  # UAB_STRIPE_PRICES
MONTH = 30 * 24 * 3600


@dataclass
class Request:
    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]


@dataclass
class FakeStripe:
    url: str = ""
    requests: list[Request] = field(default_factory=list)
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    subscriptions: dict[str, dict[str, Any]] = field(default_factory=dict)
    idempotent: dict[str, dict[str, Any]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    #: the fake's clock: each event is a second after the one before
    clock: Iterator[int] = field(default_factory=lambda: itertools.count(int(time.time()) - 86_400))

    def calls(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == path]

    # --- the API -----------------------------------------------------------------------

    def handle(self, request: Request) -> tuple[int, dict[str, Any]]:
        if request.headers.get("authorization") != f"Bearer {SECRET_KEY}":
            return 401, _error("invalid_request_error", "Invalid API Key provided: sk_***")
        with self.lock:
            self.requests.append(request)
            key = request.headers.get("idempotency-key")
            if key and key in self.idempotent:
                return 200, self.idempotent[key]
            route = {
                "/v1/customers": self._customer,
                "/v1/checkout/sessions": self._checkout,
                "/v1/billing_portal/sessions": self._portal,
            }.get(request.path)
            if request.method != "POST" or route is None:
                return 404, _error("invalid_request_error", f"Unrecognized URL {request.path}")
            status, body = route(request.params)
            if key and status == 200:
                self.idempotent[key] = body
            return status, body

    def _customer(self, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        customer = {"id": f"cus_{next(self.ids)}", "object": "customer", "email": params["email"]}
        self.customers[customer["id"]] = customer
        return 200, customer

    def _checkout(self, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if params.get("customer") not in self.customers:
            return 400, _error("invalid_request_error", "No such customer")
        session_id = f"cs_test_{next(self.ids)}"
        checkout = {
            "id": session_id,
            "object": "checkout.session",
            "mode": params["mode"],
            "customer": params["customer"],
            "client_reference_id": params.get("client_reference_id"),
            "metadata": {
                k[len("metadata[") : -1]: v for k, v in params.items() if k.startswith("metadata[")
            },
            "price": params["line_items[0][price]"],
            "success_url": params["success_url"],
            "url": f"{self.url}/pay/{session_id}",
        }
        self.sessions[session_id] = checkout
        return 200, checkout

    def _portal(self, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if params.get("customer") not in self.customers:
            return 400, _error("invalid_request_error", "No such customer")
        portal_id = f"bps_{next(self.ids)}"
        url = f"{self.url}/portal/{portal_id}"
        return 200, {"id": portal_id, "object": "billing_portal.session", "url": url}

    # --- Stripe's side of a subscription: the events it would deliver ------------------

    def event(self, kind: str, obj: dict[str, Any]) -> dict[str, Any]:
        created = next(self.clock)
        return {
            "id": f"evt_{next(self.ids)}",
            "object": "event",
            "type": kind,
            "created": created,
            "livemode": False,
            "data": {"object": json.loads(json.dumps(obj))},
        }

    def complete_checkout(self, session_id: str) -> list[dict[str, Any]]:
        """The customer paid: the session completes, a subscription starts, invoice paid."""
        checkout = self.sessions[session_id]
        sub_id = f"sub_{next(self.ids)}"
        subscription = {
            "id": sub_id,
            "object": "subscription",
            "customer": checkout["customer"],
            "status": "active",
            "metadata": checkout["metadata"],
            "items": {"data": [{"price": {"id": checkout["price"]}}]},
        }
        self.subscriptions[sub_id] = subscription
        completed = {**checkout, "status": "complete", "subscription": sub_id}
        return [
            self.event("checkout.session.completed", completed),
            self._subscription_event("customer.subscription.created", sub_id),
            self.event("invoice.paid", self._invoice(sub_id, "paid")),
        ]

    def fail_payment(self, sub_id: str) -> list[dict[str, Any]]:
        self.subscriptions[sub_id]["status"] = "past_due"
        return [
            self.event("invoice.payment_failed", self._invoice(sub_id, "open")),
            self._subscription_event("customer.subscription.updated", sub_id),
        ]

    def pay(self, sub_id: str) -> list[dict[str, Any]]:
        self.subscriptions[sub_id]["status"] = "active"
        return [
            self.event("invoice.paid", self._invoice(sub_id, "paid")),
            self._subscription_event("customer.subscription.updated", sub_id),
        ]

    def change_price(self, sub_id: str, price: str) -> list[dict[str, Any]]:
        self.subscriptions[sub_id]["items"] = {"data": [{"price": {"id": price}}]}
        return [self._subscription_event("customer.subscription.updated", sub_id)]

    def cancel(self, sub_id: str) -> list[dict[str, Any]]:
        self.subscriptions[sub_id]["status"] = "canceled"
        return [self._subscription_event("customer.subscription.deleted", sub_id)]

    def _subscription_event(self, kind: str, sub_id: str) -> dict[str, Any]:
        event = self.event(kind, self.subscriptions[sub_id])
        # the period's end sits on the items since Stripe's API of 2025-03-31
        for item in event["data"]["object"]["items"]["data"]:
            item["current_period_end"] = event["created"] + MONTH
        return event

    def _invoice(self, sub_id: str, status: str) -> dict[str, Any]:
        return {
            "id": f"in_{next(self.ids)}",
            "object": "invoice",
            "customer": self.subscriptions[sub_id]["customer"],
            "status": status,
            "parent": {"subscription_details": {"subscription": sub_id}},
        }


def signed(
    event: dict[str, Any], secret: str = WEBHOOK_SECRET, at: int | None = None
) -> tuple[bytes, dict[str, str]]:
    """The body and headers Stripe would send: ``t=…,v1=HMAC-SHA256("t.body")``."""
    body = json.dumps(event).encode()
    timestamp = int(time.time()) if at is None else at
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    header = f"t={timestamp},v1={mac.hexdigest()}"
    return body, {"Stripe-Signature": header, "Content-Type": "application/json"}


def _error(kind: str, message: str) -> dict[str, Any]:
    return {"error": {"type": kind, "message": message}}


def _handler(fake: FakeStripe) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def do_POST(self) -> None:
            self._answer("POST")

        def do_GET(self) -> None:
            self._answer("GET")

        def _answer(self, method: str) -> None:
            if method == "GET" and self.path.startswith(("/pay/", "/portal/")):
                self._hosted_page()
                return
            length = int(self.headers.get("Content-Length") or 0)
            form = self.rfile.read(length).decode()
            path, _, query = self.path.partition("?")
            params = dict(parse_qsl(form or query, keep_blank_values=True))
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, body = fake.handle(Request(method, path, params, headers))
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _hosted_page(self) -> None:
            """Stripe's hosted Checkout or portal page, where a browser sent to it lands."""
            kind = "Checkout" if self.path.startswith("/pay/") else "Billing portal"
            title = f"Fake Stripe {kind} {self.path.rsplit('/', 1)[1]}"
            page = f"<!doctype html><title>{title}</title><h1>{title}</h1>".encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *_args: object) -> None:
            pass

    return Handler


@contextmanager
def fake_stripe() -> Iterator[FakeStripe]:
    fake = FakeStripe()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
