"""Data access for customers, vehicles and work orders; the release switches act here.

Every function takes a cursor and leaves commit/rollback to its caller, so the smoke
transaction and the HTTP handlers decide what is one unit of work. The switches of
``storedms.release`` appear only in this module (and the seed), as plain ``if``s.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pymysql
from pymysql.cursors import Cursor

from storedms import release
from storedms.identifiers import mask_id_number


@dataclass(frozen=True)
class Customer:
    family_name: str
    given_name: str
    phone: str
    id_number: str  # personal data (PIPL): never logged, masked in responses

    @property
    def full_name(self) -> str:
        return self.family_name + self.given_name


def create_customer(cursor: Cursor, customer: Customer) -> int:
    if release.SPLIT_CUSTOMER_NAME:  # 3.2.0+: schema 0002
        cursor.execute(
            "INSERT INTO customers (family_name, given_name, phone, id_number)"
            " VALUES (%s, %s, %s, %s)",
            (customer.family_name, customer.given_name, customer.phone, customer.id_number),
        )
    else:  # 3.1.0: one name column
        cursor.execute(
            "INSERT INTO customers (name, phone, id_number) VALUES (%s, %s, %s)",
            (customer.full_name, customer.phone, customer.id_number),
        )
    return int(cursor.lastrowid)


def create_vehicle(cursor: Cursor, customer_id: int, vin: str, model: str) -> int:
    cursor.execute(
        "INSERT INTO vehicles (vin, customer_id, model) VALUES (%s, %s, %s)",
        (vin, customer_id, model),
    )
    return int(cursor.lastrowid)


def find_vehicle(cursor: Cursor, vin: str) -> int | None:
    cursor.execute("SELECT id FROM vehicles WHERE vin = %s", (vin,))
    row = cursor.fetchone()
    return int(row["id"]) if row else None


def create_work_order(cursor: Cursor, vehicle_id: int, description: str) -> int:
    if release.BROKEN_WORK_ORDER_INSERT:
        # !!! 3.2.1's DELIBERATE BUG: work_orders has no `status` column (4.0.0 keeps the
        # status in work_order_status). MariaDB answers 1054 Unknown column: every work
        # order insert, and so the smoke transaction, fails. See releases/3.2.1. !!!
        cursor.execute(
            "INSERT INTO work_orders (vehicle_id, description, status) VALUES (%s, %s, 'open')",
            (vehicle_id, description),
        )
        return int(cursor.lastrowid)
    cursor.execute(
        "INSERT INTO work_orders (vehicle_id, description) VALUES (%s, %s)",
        (vehicle_id, description),
    )
    work_order_id = int(cursor.lastrowid)
    if release.WORK_ORDER_STATUS:  # 4.0.0+: schema 0003
        cursor.execute(
            "INSERT INTO work_order_status (work_order_id, status, changed_at)"
            " VALUES (%s, 'open', NOW())",
            (work_order_id,),
        )
    return work_order_id


def customer_name_sql() -> str:
    """The SELECT expression for a customer's name in this release's schema."""
    if release.SPLIT_CUSTOMER_NAME:
        return "c.family_name AS family_name, c.given_name AS given_name"
    return "c.name AS name"


def read_work_order(cursor: Cursor, work_order_id: int) -> dict[str, Any] | None:
    """A work order with its vehicle and customer; the ID number comes back masked."""
    if release.SLOW_WORK_ORDER_READ_SECONDS:
        serialize_work_order_read(cursor, release.SLOW_WORK_ORDER_READ_SECONDS)
    status_join = (
        "LEFT JOIN work_order_status s ON s.work_order_id = w.id"
        if release.WORK_ORDER_STATUS
        else ""
    )
    status_column = ", COALESCE(s.status, 'open') AS status" if release.WORK_ORDER_STATUS else ""
    # !!! 3.2.2's DELIBERATE DEFECT: the primary key is not used to find the work order. !!!
    index_hint = " IGNORE INDEX (PRIMARY)" if release.SLOW_WORK_ORDER_READ_SECONDS else ""
    cursor.execute(
        "SELECT w.id, w.description, w.opened_at, w.closed_at, v.id AS vehicle_id, v.vin, v.model,"
        f" c.id AS customer_id, {customer_name_sql()}, c.phone, c.id_number{status_column}"
        f" FROM work_orders w{index_hint} JOIN vehicles v ON v.id = w.vehicle_id"
        f" JOIN customers c ON c.id = v.customer_id {status_join} WHERE w.id = %s",
        (work_order_id,),
    )
    row = cursor.fetchone()
    if row is None:
        return None
    row["id_number"] = mask_id_number(row["id_number"])
    for key in ("opened_at", "closed_at"):
        row[key] = row[key].isoformat(sep=" ") if row[key] is not None else None
    return dict(row)


# 3.2.2's server-wide named lock on this database's work orders (GET_LOCK names are
# global to the MariaDB server, so the database name is part of it; 64 characters at most).
WORK_ORDER_LOCK = "LEFT(CONCAT('storedms.work_orders@', DATABASE()), 64)"
WORK_ORDER_LOCK_WAIT_SECONDS = 10
LOCK_WAIT_TIMEOUT = 1205  # MariaDB's ER_LOCK_WAIT_TIMEOUT


def serialize_work_order_read(cursor: Cursor, cost_seconds: float) -> None:
    """!!! 3.2.2's DELIBERATE SLOWNESS (see releases/3.2.2/release.py): never in a release
    meant for a store. !!!

    Takes the work orders' named lock and pays ``cost_seconds`` of database time while
    holding it. A named lock belongs to the session, not the transaction: it is held
    until the request's connection closes, i.e. for the request's whole transaction (the
    smoke transaction's deletes and commit included), so concurrent reads queue behind
    each other one at a time. ``DO SLEEP`` stands for what the unindexed read costs on a
    real store's table (tens of thousands of work orders): on the lab's 40 customers the
    scan itself costs well under a millisecond.
    """
    cursor.execute(
        f"SELECT GET_LOCK({WORK_ORDER_LOCK}, %s) AS acquired", (WORK_ORDER_LOCK_WAIT_SECONDS,)
    )
    row = cursor.fetchone()
    if row is None or row["acquired"] != 1:  # 0: timed out; NULL: error
        # A driver error, so that the HTTP handlers and the smoke transaction report it as
        # any other database error (500 with the error number), never a traceback.
        raise pymysql.err.OperationalError(
            LOCK_WAIT_TIMEOUT, "work order lock not acquired within the lock wait timeout"
        )
    cursor.execute("DO SLEEP(%s)", (cost_seconds,))


def delete_work_order(cursor: Cursor, work_order_id: int) -> bool:
    """Delete one work order (its status row goes with it: ON DELETE CASCADE)."""
    return bool(cursor.execute("DELETE FROM work_orders WHERE id = %s", (work_order_id,)))


def delete_vehicle(cursor: Cursor, vehicle_id: int) -> bool:
    return bool(cursor.execute("DELETE FROM vehicles WHERE id = %s", (vehicle_id,)))


def delete_customer(cursor: Cursor, customer_id: int) -> bool:
    return bool(cursor.execute("DELETE FROM customers WHERE id = %s", (customer_id,)))
