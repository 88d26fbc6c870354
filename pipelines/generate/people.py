"""The visitors: time zone, device, taste and engagement, plus their context and contact traits."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from pipelines.generate.clock import TIME_ZONES

DEVICE_SHARE = 0.35  # visitors whose device exposes an advertising id (mobile app, ad SDK)
_ENGAGEMENT_SHAPE = 0.9
_FIRST_NAMES = (
    "Ann", "Ben", "Chloe", "David", "Emma", "Felix", "Grace", "Hugo", "Iris", "Jack", "Kenji",
    "Lea", "Liam", "Maya", "Noah", "Olivia", "Paul", "Quinn", "Rosa", "Sam", "Tara", "Umar",
    "Vera", "Will", "Yuki", "Zoe", "Amelie", "Lucas", "Camille", "Louis", "Manon", "Jules",
    "Sophie", "Oliver", "Harry", "Isla", "Freya", "Mia", "Lena", "Jonas", "Hana", "Sota",
    "Aiko", "Ethan", "Ava", "Mason", "Sofia", "Logan", "Chen", "Priya", "Ravi", "Ines",
)  # fmt: skip
_EMAIL_DOMAINS = ("example.com", "example.org", "example.net")
# Phone numbers stay in ranges reserved for fiction: +1 NXX 555-01xx (North America),
# +33 6 39 98 xx xx (France, ARCEP) and +44 7700 900xxx (UK, Ofcom).
_US_AREAS = ("212", "310", "415", "312", "617", "206", "305", "512", "303", "702", "646", "213")
_PHONE_STYLE = {"Europe/Paris": "fr", "Europe/London": "uk"}


@dataclass(frozen=True)
class People:
    """Person index i is anonymousId `a-<i+1>`."""

    zone: np.ndarray  # index into TIME_ZONES
    engagement: np.ndarray  # latent interest, mean 1: drives visits, purchases, opens
    favourite: np.ndarray  # favourite product category
    device: np.ndarray  # 0 none, 1 ios, 2 android (advertising id known)
    first_name: np.ndarray  # index into _FIRST_NAMES

    @property
    def size(self) -> int:
        """Number of people."""
        return len(self.zone)


def draw_people(rng: np.random.Generator, n: int, category_share: np.ndarray) -> People:
    """Draw `n` people; favourite categories follow `category_share`."""
    zone_share = np.array([s for _, s in TIME_ZONES])
    has_device = rng.random(n) < DEVICE_SHARE
    return People(
        zone=rng.choice(len(TIME_ZONES), size=n, p=zone_share / zone_share.sum()),
        engagement=rng.gamma(_ENGAGEMENT_SHAPE, 1 / _ENGAGEMENT_SHAPE, n),
        favourite=rng.choice(len(category_share), size=n, p=category_share),
        device=np.where(has_device, rng.integers(1, 3, n), 0),
        first_name=rng.integers(0, len(_FIRST_NAMES), n),
    )


def random_hex(rng: np.random.Generator, n: int, width: int) -> pl.Series:
    """`n` random lowercase hex strings of `width` characters."""
    digits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)[rng.integers(0, 16, (n, width))]
    return pl.Series(digits.view(f"S{width}").ravel().astype(f"U{width}"))


def random_digits(rng: np.random.Generator, n: int, width: int) -> pl.Series:
    """`n` random decimal strings of exactly `width` digits (leading zeros kept)."""
    digits = np.frombuffer(b"0123456789", dtype=np.uint8)[rng.integers(0, 10, (n, width))]
    return pl.Series(digits.view(f"S{width}").ravel().astype(f"U{width}"))


def _uuid4(rng: np.random.Generator, n: int) -> pl.Series:
    """`n` random version-4-style UUID strings (advertising ids)."""
    chars = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)[rng.integers(0, 16, (n, 36))]
    chars[:, [8, 13, 18, 23]] = ord("-")
    chars[:, 14] = ord("4")
    return pl.Series(chars.view("S36").ravel().astype("U36"))


def contexts(rng: np.random.Generator, people: People) -> pl.Series:
    """Context JSON per person twice: index 2i for server-side events, 2i+1 for the browser."""
    zones = pl.Series([z for z, _ in TIME_ZONES]).gather(people.zone)
    server = '{"timezone":"' + zones + '"}'
    uuid = _uuid4(rng, people.size)
    kind = pl.Series(["", "ios", "android"]).gather(people.device)
    device = '{"timezone":"' + zones + '","device":{"advertisingId":"' + uuid
    device = device + '","type":"' + kind + '"}}'
    browser = pl.select(
        pl.when(pl.lit(people.device > 0)).then(device).otherwise(server)
    ).to_series()
    return (
        pl.DataFrame({"s": server, "b": browser})
        .select(pl.concat_list("s", "b").explode())
        .to_series()
    )


def contact_traits(
    rng: np.random.Generator,
    people: People,
    person: np.ndarray,
    user_no: np.ndarray,
    email: np.ndarray,
    phone: np.ndarray,
) -> pl.Series:
    """Identify traits JSON per signing-up person: first name, email and/or phone."""
    n = len(person)
    first = pl.Series(_FIRST_NAMES).gather(people.first_name[person])
    domain = pl.Series(_EMAIL_DOMAINS).gather(rng.integers(0, len(_EMAIL_DOMAINS), n))
    address = first.str.to_lowercase() + "." + pl.Series(user_no).cast(pl.String) + "@" + domain
    style = pl.Series([_PHONE_STYLE.get(z, "us") for z, _ in TIME_ZONES]).gather(
        people.zone[person]
    )
    areas = pl.Series(_US_AREAS).gather(rng.integers(0, len(_US_AREAS), n))
    number = pl.select(
        pl.when(pl.lit(style) == "fr")
        .then("+3363998" + random_digits(rng, n, 4))
        .when(pl.lit(style) == "uk")
        .then("+447700900" + random_digits(rng, n, 3))
        .otherwise("+1" + areas + "55501" + random_digits(rng, n, 2))
    ).to_series()
    return pl.select(
        pl.concat_str(
            pl.lit("{"),
            pl.when(pl.lit(email)).then('"email":"' + address + '",'),
            pl.when(pl.lit(phone)).then('"phone":"' + number + '",'),
            '"first_name":"' + first + '"}',
            ignore_nulls=True,
        )
    ).to_series()
