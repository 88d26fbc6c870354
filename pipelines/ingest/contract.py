"""The event contract: quarantine reasons and the declarative per-event property rules.

The rules are compiled into one DuckDB query (`validation_sql`) that parses each line with
DuckDB's JSON functions and names the first rule it breaks: vectorised, no Python loop per line.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

# Every quarantine reason the loader writes. Reasons are stable short strings: dashboards count
# them, so rename one only on purpose. A reason never contains the data itself (no PII).
REASONS: dict[str, str] = {
    # one line of an events file
    "invalid json": "the line does not parse as JSON",
    "not an object": "the line is JSON but not an object",
    "missing messageId": "messageId is absent, null or empty",
    "unknown type": "type is absent or not one of track, identify, page",
    "missing event": "a track call without an event name",
    "missing identity": "neither anonymousId nor userId",
    "missing timestamp": "timestamp is absent, null or empty",
    "invalid timestamp": "timestamp is not an ISO 8601 date-time",
    "timestamp without time zone": "timestamp has neither Z nor a UTC offset",
    "invalid properties": "properties is present but not an object",
    "invalid traits": "traits is present but not an object",
    "invalid context": "context is present but not an object",
    "missing properties.<name>": "a property the event requires is absent, null or empty",
    "invalid properties.<name>": "a property has the wrong type or a value outside its set",
    # one row of a catalogue feed
    "missing product_id": "a catalogue row without product_id",
    "invalid price": "a catalogue price that is not a non-negative number",
    "invalid in_stock": "a catalogue in_stock that is not a boolean",
    # a whole file (line_number is null)
    "unsupported file type": "an extension that is neither events nor a catalogue feed",
    "corrupt gzip": "a .gz file that does not decompress",
    "not json lines": "an events file in which no line is a JSON object",
    "unreadable parquet: <detail>": "a Parquet file that cannot be read",
    "unreadable catalogue: <detail>": "a catalogue feed that cannot be read",
}

SEGMENT_TYPES = ("track", "identify", "page")


class Kind(StrEnum):
    """How a property value is checked when present."""

    TEXT = "text"
    NUMBER = "number"


@dataclass(frozen=True)
class Prop:
    """One property rule: required or not, and what a present value must look like."""

    name: str
    required: bool = True
    kind: Kind = Kind.TEXT
    choices: tuple[str, ...] = ()
    between: tuple[float, float] | None = None


def number(
    name: str, *, required: bool = False, between: tuple[float, float] | None = None
) -> Prop:
    """A numeric property (a JSON number or a numeric string)."""
    return Prop(name, required=required, kind=Kind.NUMBER, between=between)


def one_of(name: str, *choices: str) -> Prop:
    """A required property whose value is one of `choices`."""
    return Prop(name, choices=choices)


_PRODUCT = (Prop("product_id"), number("price"), number("quantity"))
_ENGAGEMENT = (Prop("message_id"),)
# Suppression signals (unsubscribe, bounce, spam report) must never be lost for want of the
# message they refer to, so they require nothing; the other engagement events need message_id.
_SUPPRESSION: tuple[Prop, ...] = ()

# Track events the pipeline understands and what they must carry. Unknown event names are
# accepted unchecked, as Segment allows custom events. Extend here, not in the SQL.
EVENT_RULES: dict[str, tuple[Prop, ...]] = {
    "Signed Up": (),
    "Subscription Updated": (
        one_of("channel", "email", "sms", "push", "messenger"),
        one_of("status", "subscribed", "unsubscribed"),
    ),
    "Product Viewed": _PRODUCT,
    "Product Added": (Prop("cart_id"), *_PRODUCT),
    "Product Removed": (Prop("cart_id"), *_PRODUCT),
    "Checkout Started": (Prop("cart_id"), number("revenue")),
    "Order Completed": (Prop("order_id"), number("revenue", required=True), number("discount")),
    "Order Shipped": (Prop("order_id"),),
    "Order Delivered": (Prop("order_id"),),
    "Order Cancelled": (Prop("order_id"),),
    "Order Refunded": (Prop("order_id"),),
    "Product Reviewed": (Prop("product_id"), number("rating", required=True, between=(1, 5))),
    "Email Delivered": _ENGAGEMENT,
    "Email Opened": _ENGAGEMENT,
    "Email Link Clicked": _ENGAGEMENT,
    "Email Bounced": _SUPPRESSION,
    "Email Marked as Spam": _SUPPRESSION,
    "Unsubscribed": _SUPPRESSION,
    "SMS Delivered": _ENGAGEMENT,
    "SMS Failed": _ENGAGEMENT,
    "Push Opened": _ENGAGEMENT,
}

# Fields read from every message; the JSON ones are kept verbatim (re-serialised compactly).
ENVELOPE = {
    "type": "VARCHAR",
    "event": "VARCHAR",
    "messageId": "VARCHAR",
    "anonymousId": "VARCHAR",
    "userId": "VARCHAR",
    "timestamp": "VARCHAR",
    "properties": "JSON",
    "traits": "JSON",
    "context": "JSON",
}

# A time of day followed by Z or a numeric offset; DuckDB's cast does the actual parsing.
_TZ_PATTERN = r"\d{2}:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|[+-]\d{2}(:?\d{2})?)$"


def _lit(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def _blank(expr: str) -> str:
    # Trimming every value is costly; only values that start with a space can be all spaces.
    return f"({expr} is null or {expr} = '' or (starts_with({expr}, ' ') and trim({expr}) = ''))"


def _json_struct(fields: dict[str, str]) -> str:
    """The structure argument of DuckDB's json_transform, as a SQL literal."""
    return _lit("{" + ",".join(f'"{k}":"{v}"' for k, v in fields.items()) + "}")


def _property_checks(prop: Prop) -> list[tuple[str, str]]:
    """(reason, SQL condition) pairs of one property rule, over the column `p.<name>`."""
    value = f"p.{prop.name}"
    checks = []
    if prop.required:
        checks.append((f"missing properties.{prop.name}", _blank(value)))
    bad = []
    if prop.kind is Kind.NUMBER:
        bad.append(f"not coalesce(isfinite(try_cast({value} as double)), false)")
        if prop.between:
            low, high = prop.between
            bad.append(f"try_cast({value} as double) not between {low} and {high}")
    if prop.choices:
        bad.append(f"{value} not in ({', '.join(map(_lit, prop.choices))})")
    if bad:
        checks.append(
            (f"invalid properties.{prop.name}", f"{value} is not null and ({' or '.join(bad)})")
        )
    return checks


def _event_rules_sql() -> str:
    """A CASE on the event name giving the first property rule the line breaks, if any."""
    branches = []
    for event, props in EVENT_RULES.items():
        checks = [check for prop in props for check in _property_checks(prop)]
        if checks:
            inner = " ".join(f"when {cond} then {_lit(reason)}" for reason, cond in checks)
            branches.append(f"when {_lit(event)} then case {inner} end")
    return f"case event {' '.join(branches)} end"


def _envelope_checks() -> list[tuple[str, str]]:
    """(reason, SQL condition) of the rules every message obeys, in the order they are tried."""
    types = ", ".join(map(_lit, SEGMENT_TYPES))
    checks = [
        ("invalid json", "not is_json"),
        # Only lines with neither field are parsed again, to tell `{}` from `[1]`.
        (
            "not an object",
            "case when coalesce(message_id, type) is null"
            " then json_type(line) <> 'OBJECT' else false end",
        ),
        ("missing messageId", _blank("message_id")),
        ("unknown type", f"type is null or type not in ({types})"),
        ("missing event", f"type = 'track' and {_blank('event')}"),
        ("missing identity", f"{_blank('anonymous_id')} and {_blank('user_id')}"),
        ("missing timestamp", _blank("timestamp_text")),
        ("invalid timestamp", "ts is null"),
        ("timestamp without time zone", f"not regexp_matches(timestamp_text, {_lit(_TZ_PATTERN)})"),
    ]
    # Compactly re-serialised JSON starts with '{' exactly when it is an object.
    return checks + [
        (f"invalid {f}", f"not starts_with({f}, '{{')") for f in ("properties", "traits", "context")
    ]


def line_reasons() -> list[str]:
    """Every reason a line of an events file can be quarantined for."""
    checks = _envelope_checks()
    checks += [c for props in EVENT_RULES.values() for p in props for c in _property_checks(p)]
    return list(dict.fromkeys(reason for reason, _ in checks))


def property_names() -> list[str]:
    """Every property some rule looks at, in first-seen order."""
    return list(dict.fromkeys(p.name for props in EVENT_RULES.values() for p in props))


def validation_sql(lines: str) -> str:
    """Query over `lines` (file_idx, line_number, line) giving typed columns and a reason.

    `reason` is null for a line that honours the contract, else the first rule it breaks.
    """
    props = _json_struct(dict.fromkeys(property_names(), "VARCHAR"))
    envelope = "\n".join(f"        when {c} then {_lit(r)}" for r, c in _envelope_checks())
    return f"""
with parsed as (
    select file_idx, line_number, line, json_valid(line) as is_json
    from {lines}
), typed as (
    select *,
        case when is_json then json_transform(line, {_json_struct(ENVELOPE)}) end as d
    from parsed
), fields as (
    select file_idx, line_number, line, is_json,
        d.messageId as message_id, d.type as type, d.event as event,
        d.anonymousId as anonymous_id, d.userId as user_id, d.timestamp as timestamp_text,
        d.properties as properties, d.traits as traits, d.context as context,
        json_transform(d.properties, {props}) as p,
        try_cast(d.timestamp as timestamptz) as ts
    from typed
)
select
    file_idx, line_number, line,
    case
{envelope}
        when type = 'track' then {_event_rules_sql()}
    end as reason,
    message_id, type, event, anonymous_id, user_id, make_timestamp(epoch_us(ts)) as timestamp,
    properties, traits, context
from fields
"""
