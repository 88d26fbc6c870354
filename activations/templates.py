"""Minimal message templates per flow, step and channel, each linking back with UTM tags."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import BaseLoader, Environment, StrictUndefined

from pipelines.journeys.flows import AUDIENCE_CHANNELS, Settings

# (headline, body) per flow and step; a flow added in flows.yml without copy gets the default.
COPY: dict[tuple[str, str], tuple[str, str]] = {
    ("welcome", "incentive_code"): (
        "Welcome! A little something to start",
        "Thanks for joining us. {{ offer }}",
    ),
    ("welcome", "welcome"): ("Welcome to the store", "Here is who we are and what people love."),
    ("welcome", "bestsellers"): ("Our bestsellers", "The products our customers come back for."),
    ("cadence", "weekly"): ("This week at the store", "New arrivals and this week's picks."),
    ("browse_abandonment", "picks"): (
        "Still thinking it over?",
        "More from {{ categories | join(', ') or 'what you looked at' }}, with what others say.",
    ),
    ("cart_abandonment", "nudge"): (
        "Your cart is saved",
        "Need a hand? Your {{ items }} item(s) are waiting for you.",
    ),
    ("cart_abandonment", "reminder"): (
        "You left something behind",
        "Your cart is still here: {{ items }} item(s).",
    ),
    ("cart_abandonment", "incentive"): ("A little extra for your cart", "{{ offer }}"),
    ("order_updates", "confirmation"): (
        "Order confirmed",
        "Thanks! Order {{ order_id }} is confirmed.",
    ),
    ("order_updates", "receipt"): ("Your order {{ order_id }}", "Here is everything you ordered."),
    ("order_updates", "status_update"): (
        "Order {{ order_id }} update",
        "Your order {{ order_id }} has an update.",
    ),
    ("review_request", "ask"): (
        "How was your order?",
        "Tell others what you think: it takes a minute.",
    ),
    ("review_request", "sms_incentive"): ("Review and earn", "Review your order and {{ offer }}"),
    ("review_request", "messenger_review"): ("Review us", "Would you review us on Facebook?"),
    ("cross_sell", "pairs_with"): (
        "Goes well with your order",
        "Picked to pair with your purchase.",
    ),
    ("cross_sell", "points_update"): ("Your points", "{{ offer }}"),
    ("reactivation", "we_miss_you"): ("We miss you", "A lot has changed since your last visit."),
    ("reactivation", "comeback_offer"): ("Come back for less", "{{ offer }}"),
}
DEFAULT_COPY = ("News from the store", "Something we think you will like.")

OFFERS = {
    "discount": "Use code {{ code }} for 10% off.",
    "free_shipping": "Use code {{ code }} for free shipping.",
    "loyalty_points": "earn 100 loyalty points.",
}

_env = Environment(loader=BaseLoader(), undefined=StrictUndefined, autoescape=False)


def _text(template: str, values: dict[str, Any]) -> str:
    return _env.from_string(template).render(**values).strip()


def link(message: dict[str, Any], context: dict[str, Any], settings: Settings) -> str:
    """The store page a message points to, tagged with UTM parameters and the message id."""
    flow = message["flow"]
    if flow == "cart_abandonment" and context.get("cart_id"):
        path = f"/cart?cart={quote(context['cart_id'])}"
    elif context.get("order_id"):
        suffix = "/review" if flow == "review_request" else ""
        path = f"/account/orders/{quote(context['order_id'])}{suffix}"
    elif context.get("categories"):
        path = f"/collections/{quote(context['categories'][0].lower().replace(' ', '-'))}"
    else:
        path = "/"
    query = {
        "utm_source": settings.utm.get("source", "journeys"),
        "utm_medium": message["channel"],
        "utm_campaign": flow,
        "utm_content": message["step"],
        "jm": message["message_id"],  # read back from Email Link Clicked for attribution
    }
    separator = "&" if "?" in path else "?"
    return f"{settings.store_url.rstrip('/')}{path}{separator}{urlencode(query)}"


def _card(product: dict[str, Any]) -> str:
    rating = f" ({product['rating']:.1f}/5)" if product.get("rating") else ""
    review = f' "{product["review"]}"' if product.get("review") else ""
    return f"- {product.get('name') or product['product_id']}{rating}{review}"


def render(
    message: dict[str, Any], settings: Settings, products: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The channel payload of a planned message (no recipient; the dispatcher adds it)."""
    context = json.loads(message["context"] or "{}")
    url = link(message, context, settings)
    code = (
        f"{(context.get('incentive') or 'offer')[:4].upper()}-{message['message_id'][:8].upper()}"
    )
    values = {
        "order_id": context.get("order_id") or "",
        "categories": context.get("categories") or [],
        "items": len(context.get("product_ids") or []),
        "code": code,
    }
    incentive = context.get("incentive")
    values["offer"] = _text(OFFERS[incentive], values) if incentive in OFFERS else ""
    headline, body = COPY.get((message["flow"], message["step"]), DEFAULT_COPY)
    headline, body = _text(headline, values), _text(body, values)
    channel = message["channel"]
    if channel in AUDIENCE_CHANNELS:
        content: dict[str, Any] = {
            "audience": f"{message['flow']}.{message['step']}",
            "action": "add",
        }
    elif channel == "email":
        cards = "".join(f"{_card(p)}\n" for p in products or [])
        text = f"{body}\n\n{cards}\n{url}" if cards else f"{body}\n\n{url}"
        content = {"subject": headline, "text": text, "products": products or []}
    elif channel == "push":
        content = {"title": headline, "body": body, "url": url}
    else:
        content = {"text": f"{body} {url}"}
    if incentive in ("discount", "free_shipping"):
        content["coupon"] = code
    return {"link": url, "content": content}
