"""Fill the database with realistic fake rows: ``python3 -m storedms.seed --rows N``.

N customers, one vehicle each, one to three work orders per vehicle (most closed).
The benchmark seeds 1x/10x/100x; rows go in batches of multi-row INSERTs with explicit
ids (the seed is the only writer while it runs), one transaction per batch, so 100k
customers take seconds, not minutes. Deterministic for a given ``--seed``.
Writes whichever customer columns this release's schema has (see ``release``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import time
from collections.abc import Sequence

import pymysql
from pymysql.cursors import Cursor

from storedms import fakedata, release
from storedms.config import ConfigError, load
from storedms.db import connect, error_code

EPOCH = dt.datetime(2026, 11, 1, 9, 0, 0)  # "now" of the fake history: reproducible rows


def next_id(cursor: Cursor, table: str) -> int:
    cursor.execute(f"SELECT COALESCE(MAX(id), 0) + 1 AS next FROM {table}")
    row = cursor.fetchone()
    return int(row["next"])


def customer_rows(rng: random.Random, first_id: int, count: int) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = []
    for offset in range(count):
        family, given = fakedata.person_name(rng)
        phone, number = fakedata.mobile_number(rng), fakedata.id_number(rng)
        if release.SPLIT_CUSTOMER_NAME:
            rows.append((first_id + offset, family, given, phone, number))
        else:
            rows.append((first_id + offset, family + given, phone, number))
    return rows


def work_order_rows(
    rng: random.Random, vehicle_ids: Sequence[int], first_id: int
) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = []
    for vehicle_id in vehicle_ids:
        for _ in range(rng.choice((1, 1, 2, 3))):
            opened = EPOCH - dt.timedelta(minutes=rng.randrange(60 * 24 * 730))
            closed = (
                opened + dt.timedelta(hours=rng.randrange(2, 96)) if rng.random() < 0.85 else None
            )
            rows.append(
                (first_id + len(rows), vehicle_id, fakedata.work_description(rng), opened, closed)
            )
    return rows


def insert_batch(cursor: Cursor, rng: random.Random, count: int) -> tuple[int, int]:
    """One batch of customers + vehicles + work orders; returns (customers, work orders)."""
    first_customer = next_id(cursor, "customers")
    customers = customer_rows(rng, first_customer, count)
    if release.SPLIT_CUSTOMER_NAME:
        sql = (
            "INSERT INTO customers (id, family_name, given_name, phone, id_number)"
            " VALUES (%s, %s, %s, %s, %s)"
        )
    else:
        sql = "INSERT INTO customers (id, name, phone, id_number) VALUES (%s, %s, %s, %s)"
    cursor.executemany(sql, customers)
    first_vehicle = next_id(cursor, "vehicles")
    vehicles = [
        (
            first_vehicle + offset,
            fakedata.vin(rng, first_vehicle + offset),
            row[0],
            fakedata.model(rng),
        )
        for offset, row in enumerate(customers)
    ]
    cursor.executemany(
        "INSERT INTO vehicles (id, vin, customer_id, model) VALUES (%s, %s, %s, %s)", vehicles
    )
    orders = work_order_rows(rng, [row[0] for row in vehicles], next_id(cursor, "work_orders"))
    cursor.executemany(
        "INSERT INTO work_orders (id, vehicle_id, description, opened_at, closed_at)"
        " VALUES (%s, %s, %s, %s, %s)",
        orders,
    )
    if release.WORK_ORDER_STATUS:
        cursor.executemany(
            "INSERT INTO work_order_status (work_order_id, status, changed_at) VALUES (%s, %s, %s)",
            [(row[0], "closed" if row[4] else "open", row[4] or row[3]) for row in orders],
        )
    return len(customers), len(orders)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python3 -m storedms.seed", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--config")
    parser.add_argument(
        "--rows", type=int, required=True, help="customers to add (one vehicle each)"
    )
    parser.add_argument("--seed", type=int, default=4, help="random seed (same seed, same rows)")
    parser.add_argument("--batch", type=int, default=2000)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    started, customers, orders = time.monotonic(), 0, 0
    try:
        conn = connect(load(args.config).db)
    except (ConfigError, pymysql.MySQLError) as error:
        message = error if isinstance(error, ConfigError) else error_code(error)
        print(f"storedms.seed: {message}", file=sys.stderr)
        return 3
    try:
        while customers < args.rows:
            with conn.cursor() as cursor:
                added, added_orders = insert_batch(
                    cursor, rng, min(args.batch, args.rows - customers)
                )
            conn.commit()
            customers, orders = customers + added, orders + added_orders
    except pymysql.MySQLError as error:
        conn.rollback()
        print(
            f"storedms.seed: failed after {customers} customers: {error_code(error)}",
            file=sys.stderr,
        )
        return 1
    finally:
        conn.close()
    print(
        f"seeded {customers} customers, {customers} vehicles, {orders} work orders"
        f" in {time.monotonic() - started:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
