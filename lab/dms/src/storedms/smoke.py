"""The smoke transaction: the rollout's proof that a release really works on this store.

It creates a customer, a vehicle and a work order, reads them back through the same
query the API uses, deletes them and checks they are gone: the paths a service advisor
uses every day, on the real schema. All of it is ONE database transaction committed at
the end (net effect: nothing), and any failure rolls it back, so a failing smoke test
never leaves synthetic rows in a store's data (a rollback compares table checksums).
"""

from __future__ import annotations

import random
from typing import Any

import pymysql

from storedms import __version__, store
from storedms.config import DbConfig
from storedms.db import connect, safe_message
from storedms.identifiers import id_check_char, vin_check_char

SMOKE_DESCRIPTION = "storedms smoke transaction (deleted in the same transaction)"


def smoke_customer(rng: random.Random) -> store.Customer:
    """An obviously synthetic customer (ID region 999999 does not exist)."""
    first17 = f"99999919700101{rng.randrange(1000):03d}"
    return store.Customer(
        "测", "试客户", f"1990000{rng.randrange(10**4):04d}", first17 + id_check_char(first17)
    )


def smoke_vin(rng: random.Random) -> str:
    body = f"LBVSMK7E0S{rng.choice('ABCDEFGH')}{rng.randrange(10**6):06d}"
    return body[:8] + vin_check_char(body) + body[9:]


class SmokeCheckFailed(Exception):
    """A step ran without a database error but did not do what it should."""


def require(condition: bool, message: str) -> None:
    if not condition:
        raise SmokeCheckFailed(message)


def run(db: DbConfig) -> tuple[bool, dict[str, Any]]:
    """Run the smoke transaction; (ok, report). A failure report names the failing step."""
    rng = random.Random()
    customer, vin = smoke_customer(rng), smoke_vin(rng)
    step = "connect"
    try:
        conn = connect(db, timeout=3)
    except pymysql.MySQLError as error:
        return False, failure(step, safe_message(error))
    try:
        with conn.cursor() as cursor:
            step = "create customer"
            customer_id = store.create_customer(cursor, customer)
            step = "create vehicle"
            vehicle_id = store.create_vehicle(cursor, customer_id, vin, "i5 eDrive35L")
            step = "create work order"
            work_order_id = store.create_work_order(cursor, vehicle_id, SMOKE_DESCRIPTION)
            step = "read back"
            row = store.read_work_order(cursor, work_order_id)
            if row is None or row["vin"] != vin:
                raise SmokeCheckFailed("work order not read back as written")
            step = "delete"
            require(store.delete_work_order(cursor, work_order_id), "work order not deleted")
            require(store.delete_vehicle(cursor, vehicle_id), "vehicle not deleted")
            require(store.delete_customer(cursor, customer_id), "customer not deleted")
            step = "verify deleted"
            require(store.read_work_order(cursor, work_order_id) is None, "work order still there")
        step = "commit"
        conn.commit()
    except pymysql.MySQLError as error:
        conn.rollback()
        return False, failure(step, safe_message(error))
    except SmokeCheckFailed as error:
        conn.rollback()
        return False, failure(step, str(error))
    finally:
        conn.close()
    return True, {"ok": True, "version": __version__, "steps": STEPS}


STEPS = (
    "create customer",
    "create vehicle",
    "create work order",
    "read back",
    "delete",
    "verify deleted",
)


def failure(step: str, error: str) -> dict[str, Any]:
    return {"ok": False, "version": __version__, "step": step, "error": error}
