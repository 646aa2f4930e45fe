"""A realistic, deterministic traffic simulator: DB audit and API access events of a small company.

Used by ``parasol demo``, by tests and by benchmarks. Pure Python + Faker; no Kafka or
Elasticsearch imports. The same ``seed`` (and ``start``) always gives the same events.

The model
    40 employees with roles (``analyst``, ``hr``, ``finance``, ``support``, ``developer``, ``dba``,
    ``sales``), five applications, three service accounts, three database instances
    (``pg-crm-01``/``crm``, ``mysql-hr-01``/``hr``, ``pg-fin-01``/``finance``) and three API
    services. Each role has its own mix of SQL (in the instance's dialect, literals rendered) and of
    API routes; result samples hold Faker zh_CN / en_US personal data drawn from pools built once
    at construction (calling Faker per event would be far too slow).

Time
    ``@timestamp`` starts at ``start`` (default :data:`DEFAULT_START`, a Monday 08:00 UTC) and
    advances by exponential gaps whose rate follows the hour of day (the company's clock is UTC:
    office hours 08-19, batch jobs at night, little at weekends). Time is simulated: nothing
    sleeps. About 10% of events carry epoch-millisecond timestamps and about 10% use dotted keys
    (``{"user.name": ...}``); both are contract-valid.

Attacks (:data:`ATTACK_KINDS`, the ``label`` of :class:`SimEvent`)
    ``bulk_export`` (an analyst dumps customers at night), ``sqli`` (injection probes through the
    CRM app and its API), ``destructive_ddl`` (DROP/TRUNCATE by a non-DBA), ``brute_force``
    (failed logins), ``api_enumeration`` (sequential ids) and ``audit_tampering``
    (``SET pgaudit.log = 'none'``). About two episodes per thousand events, and every kind at
    least once when ``n >= 2000``. Every event of an episode carries its label.

Malformed messages (:data:`MALFORMED_REASONS`)
    Bytes for the dead-letter path, each with the reason code the pipeline must produce.

>>> sim = Simulator(seed=1)
>>> evs = list(sim.events(50))
>>> len(evs), evs[0].kind in ("db", "api"), evs == list(Simulator(seed=1).events(50))
(50, True, True)
>>> sorted({m.reason for m in sim.malformed(6)}) == sorted(MALFORMED_REASONS)
True
"""

from __future__ import annotations

import heapq
import json
import random
import re
import time
import uuid
from bisect import bisect
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import accumulate
from typing import Any
from urllib.parse import quote

from faker import Faker

__all__ = [
    "ATTACK_KINDS",
    "DEFAULT_START",
    "MALFORMED_REASONS",
    "TOPICS",
    "ApiService",
    "App",
    "Company",
    "DbInstance",
    "Employee",
    "Malformed",
    "ServiceAccount",
    "SimEvent",
    "Simulator",
]

# ================================================================================================
# Public constants
# ================================================================================================

#: Attack labels.
ATTACK_KINDS = (
    "bulk_export",
    "sqli",
    "destructive_ddl",
    "brute_force",
    "api_enumeration",
    "audit_tampering",
)

#: Dead-letter reason codes that :meth:`Simulator.malformed` cycles through.
MALFORMED_REASONS = (
    "invalid_json",
    "invalid_utf8",
    "not_an_object",
    "missing_field",
    "invalid_field",
    "too_large",
)

#: ``SimEvent.kind`` -> contract topic without the prefix (``Settings.topic(TOPICS[kind])``).
TOPICS = {"db": "db.audit", "api": "api.access"}

#: Default first event time: Monday 2026-11-02 08:00 UTC.
DEFAULT_START = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)

#: Size above which a message is ``too_large``.
MAX_MESSAGE_BYTES = 1 << 20

# ================================================================================================
# Tunables
# ================================================================================================

EVENTS_PER_WEIGHT_S = 0.1  # events/s per unit of actor weight: ~5 events/s at the weekday peak
EPOCH_MS_SHARE = 0.10  # events whose @timestamp is epoch milliseconds
DOTTED_SHARE = 0.10  # events sent with dotted keys
EVENT_ID_SHARE = 0.30  # events that carry their own event.id
DEFAULTS_OMITTED_SHARE = 0.20  # queries sent without event.action=query / event.outcome=success
SAMPLE_SHARE = 0.5  # successful SELECTs that carry db.result_sample
API_SAMPLE_SHARE = 0.4  # successful API reads that carry http.response.sample
BENIGN_DB_ERROR_SHARE = 0.01
BENIGN_LOGIN_TYPO_SHARE = 0.03  # new human sessions preceded by one mistyped password
SAMPLE_ROWS = 3  # at most, per event
EPISODES_PER_EVENT = 2 / 1000  # attack episodes (at least one of each kind from 2000 events)
POOL_SIZE = 300  # Faker people per locale

CUSTOMER_IDS = (100001, 1_348_214)  # crm.customers (ids are dense: every id in range exists)
OVERSEAS_IDS = (5_000_001, 5_061_380)  # crm.overseas_customers
EMPLOYEE_IDS = (1, 1240)  # hr.employees
ACCOUNT_IDS = (300001, 352000)  # finance.accounts
ORDER_IDS = (2_000_001, 2_900_000)
PAYMENT_IDS = (7_000_001, 7_800_000)
TICKET_IDS = (90001, 120000)
CUSTOMERS_TOTAL = CUSTOMER_IDS[1] - CUSTOMER_IDS[0] + 1
OVERSEAS_TOTAL = OVERSEAS_IDS[1] - OVERSEAS_IDS[0] + 1

_EVENT_NS = uuid.UUID("5b0f6f2e-4b8e-4d1c-9a51-0c7c6a1f2d10")
_MS_HOUR = 3_600_000
_MS_DAY = 86_400_000

# ================================================================================================
# The company
# ================================================================================================

ROLE_HEADCOUNT = {
    "analyst": 6,
    "hr": 4,
    "finance": 5,
    "support": 8,
    "developer": 8,
    "dba": 2,
    "sales": 7,
}

#: Database roles granted per business role (``user.roles`` = [role, *grants]).
ROLE_GRANTS = {
    "analyst": ("readonly",),
    "hr": ("hr_rw",),
    "finance": ("finance_rw",),
    "support": ("crm_rw",),
    "developer": ("readonly",),
    "dba": ("superuser",),
    "sales": ("crm_ro",),
}

#: Office subnet per role: workstations are 10.20.<subnet>.x, VPN clients 192.168.100-103.x.
ROLE_SUBNET = {
    "analyst": 21,
    "hr": 22,
    "finance": 23,
    "support": 24,
    "developer": 25,
    "dba": 26,
    "sales": 27,
}

#: name -> (server IPs, description)
APPS = {
    "crm-web": (("172.16.1.11", "172.16.1.12"), "customer relationship management web app"),
    "hr-portal": (("172.16.2.21",), "HR self-service and administration portal"),
    "finance-batch": (("172.16.3.31",), "nightly settlement and payroll jobs"),
    "support-desk": (("172.16.1.41",), "customer support ticketing"),
    "bi-reports": (("172.16.4.51",), "dashboards and scheduled reports"),
}

#: name -> (system, database, host IP, tables)
DB_INSTANCES = {
    "pg-crm-01": (
        "postgresql",
        "crm",
        "172.16.10.5",
        ("customers", "overseas_customers", "orders", "order_items", "products", "tickets",
         "customer_notes"),
    ),
    "mysql-hr-01": (
        "mysql",
        "hr",
        "172.16.10.6",
        ("employees", "payroll", "attendance", "departments", "employee_history"),
    ),
    "pg-fin-01": (
        "postgresql",
        "finance",
        "172.16.10.7",
        ("accounts", "payments", "invoices", "ledger_entries", "payments_staging"),
    ),
}

API_SERVICES = {
    "customer-api": "10.30.0.10",
    "payment-api": "10.30.0.20",
    "hr-api": "10.30.0.30",
}

#: username -> (app, roles, hour profile, activity weight)
SERVICE_ACCOUNTS = {
    "svc_crm": ("crm-web", ("service", "crm_rw"), "office", 8.0),
    "svc_etl": ("finance-batch", ("service", "etl"), "batch", 6.0),
    "svc_report": ("bi-reports", ("service", "readonly"), "report", 3.0),
}

#: Direct database clients (``service.name`` when a person connects without an application).
TOOLS = {"psql": "psql", "dbeaver": "DBeaver 24.2.5", "mysql": "mysql"}

#: What each actor does: (weight, channel, client, instance, set). Channel "db": client is an app
#: (the app's server connects) or a tool (the person's machine connects), set a QUERY_SETS key;
#: channel "api": set a ROUTE_SETS key.
ACTIVITIES = {
    "analyst": (
        (0.40, "db", "bi-reports", "pg-fin-01", "fin_report"),
        (0.25, "db", "dbeaver", "pg-crm-01", "crm_analyst"),
        (0.20, "db", "bi-reports", "pg-crm-01", "crm_report"),
        (0.15, "api", None, None, "customer_read"),
    ),
    "hr": (
        (0.55, "db", "hr-portal", "mysql-hr-01", "hr_portal"),
        (0.45, "api", None, None, "hr_rw"),
    ),
    "finance": (
        (0.35, "db", "bi-reports", "pg-fin-01", "fin_report"),
        (0.30, "db", "dbeaver", "pg-fin-01", "fin_adhoc"),
        (0.35, "api", None, None, "payment_rw"),
    ),
    "support": (
        (0.60, "db", "support-desk", "pg-crm-01", "crm_support"),
        (0.40, "api", None, None, "customer_rw"),
    ),
    "developer": (
        (0.35, "db", "psql", "pg-crm-01", "crm_dev"),
        (0.15, "db", "mysql", "mysql-hr-01", "hr_dev"),
        (0.20, "db", "psql", "pg-fin-01", "fin_dev"),
        (0.30, "api", None, None, "customer_read"),
    ),
    "dba": (
        (0.45, "db", "psql", "pg-crm-01", "pg_admin"),
        (0.25, "db", "psql", "pg-fin-01", "pg_admin"),
        (0.30, "db", "mysql", "mysql-hr-01", "mysql_admin"),
    ),
    "sales": (
        (0.65, "api", None, None, "customer_rw"),
        (0.35, "db", "bi-reports", "pg-crm-01", "crm_report"),
    ),
    "svc_crm": (
        (0.80, "db", "crm-web", "pg-crm-01", "crm_app"),
        (0.20, "api", None, None, "payment_svc"),
    ),
    "svc_etl": (
        (0.65, "db", "finance-batch", "pg-fin-01", "fin_etl"),
        (0.35, "db", "finance-batch", "mysql-hr-01", "hr_etl"),
    ),
    "svc_report": (
        (0.65, "db", "bi-reports", "pg-fin-01", "fin_report"),
        (0.35, "db", "bi-reports", "pg-crm-01", "crm_report"),
    ),
    "-": ((1.0, "api", None, None, "anonymous"),),
}

# fmt: off
#: Relative activity per UTC hour 0..23 on weekdays, and the weekend factor.
HOUR_PROFILES = {
    "office": ((0.02, 0.01, 0.01, 0.01, 0.01, 0.02, 0.05, 0.20, 0.60, 1.00, 1.00, 1.00,
                0.60, 0.90, 1.00, 1.00, 1.00, 0.90, 0.50, 0.25, 0.15, 0.10, 0.06, 0.03), 0.08),
    "batch": ((0.20, 1.00, 1.00, 1.00, 0.80, 0.30, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05,
               0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.10, 0.15), 1.0),
    "report": ((0.05, 0.05, 0.05, 0.05, 0.05, 0.20, 0.60, 1.00, 0.50, 0.15, 0.10, 0.10,
                0.10, 0.10, 0.10, 0.10, 0.10, 0.10, 0.10, 0.05, 0.05, 0.05, 0.05, 0.05), 0.3),
    "always": ((1.0,) * 24, 1.0),
}
# fmt: on
ANONYMOUS_WEIGHT = 1.5  # health probes, token requests, calls without a token
NIGHT_HOURS = range(4)  # UTC hours in which a bulk export starts (it is over by 05:00)

BROWSER_UAS = (
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/130.0.0.0 Safari/537.36"
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/130.0.0.0 Safari/537.36 Edg/130.0.2849.68"
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/18.1 Safari/605.1.15"
    ),
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0",
    (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/129.0.0.0 Safari/537.36"
    ),
)
SERVICE_UAS = {
    "svc_crm": "Apache-HttpClient/4.5.14 (Java/17.0.12)",
    "svc_etl": "python-requests/2.32.3",
    "svc_report": "Go-http-client/1.1",
}
PROBE_UA = "kube-probe/1.30"
ANONYMOUS_IPS = ("10.0.0.1", "10.0.0.2", "10.0.1.17", "192.168.200.14")

DEPARTMENTS = ("sales", "rnd", "finance", "hr", "support", "operations", "marketing")
TITLES = (
    "engineer", "senior engineer", "manager", "specialist", "assistant", "director", "analyst",
)
ORDER_STATUSES = ("pending", "paid", "shipped", "delivered", "cancelled", "refunded")
PAYMENT_STATUSES = ("pending", "settled", "failed", "refunded")
LEVELS = ("bronze", "silver", "gold", "platinum")
PRODUCTS = ("无线耳机", "智能手表", "蓝牙音箱", "移动电源", "机械键盘", "显示器支架", "扫地机器人", "空气净化器")
TICKET_SUBJECTS = (
    "订单未发货", "申请退款", "修改收货地址", "发票开具", "账户无法登录", "商品质量问题", "会员积分查询",
)
NOTES = ("客户来电确认地址", "已发送退款链接", "客户要求回电", "VIP 客户，优先处理", "已核实身份")
UNIONPAY_IINS = ("622202", "622848", "621700", "622588", "621661", "622700", "623062", "621226")
_MOBILE_RE = re.compile(r"1(?:3\d|4[57]|5[0-35-9]|6[25-7]|7[0-35-8]|8\d|9[0-35-9])\d{8}")
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

# ================================================================================================
# SQL: query sets per (role, application), in the instance's dialect
# ================================================================================================


@dataclass(frozen=True, slots=True)
class Query:
    """One SQL template. ``{name}`` placeholders are filled from :data:`PARAMS`; ``rows`` is a
    range whose upper bound may name a parameter (``"limit"``); ``src``/``cols`` say which result
    rows to sample (``cols=("*",)``: every column of the source); ``ms`` is the duration range."""

    sql: str
    src: str | None = None
    cols: tuple[str, ...] = ()
    rows: tuple[int, int | str] = (1, 1)
    ms: tuple[float, float] = (0.2, 4.0)
    w: float = 1.0

    @property
    def op(self) -> str:
        word = self.sql.lstrip().split(None, 1)[0].upper()
        if word in ("SELECT", "WITH", "EXPLAIN", "SHOW"):
            return "select"
        if word in ("INSERT", "COPY"):
            return "insert"
        if word in ("UPDATE", "DELETE"):
            return "update"
        return "ddl"


@dataclass(frozen=True, slots=True)
class Txn:
    """Statements run in one transaction (BEGIN / START TRANSACTION ... COMMIT)."""

    queries: tuple[Query, ...]
    w: float = 1.0


Q = Query
_ORDER_OUT = ("name", "mobile", "order_id", "amount", "status")

QUERY_SETS: dict[str, tuple[Query | Txn, ...]] = {
    "crm_app": (
        Q("SELECT id, name, mobile, email, level FROM customers WHERE id = {cid}",
          "customer", ("id", "name", "mobile", "email", "level"), w=5),
        Q("SELECT id, name, mobile FROM customers WHERE mobile = '{cust_mobile}' LIMIT 1",
          "customer", ("id", "name", "mobile"), (0, 1), w=3),
        Q("SELECT o.id, o.amount, o.status, o.created_at FROM orders o "
          "WHERE o.customer_id = {cid} ORDER BY o.created_at DESC LIMIT {limit}",
          "order", ("id", "amount", "status", "created_at"), (0, "limit"), (0.5, 8), w=3),
        Q("SELECT id, sku, name, price, stock FROM products WHERE id IN ({prod}, {prod2}, {prod3})",
          None, (), (1, 3), w=2),
        Q("INSERT INTO orders (customer_id, amount, status, created_at) "
          "VALUES ({cid}, {amount}, 'pending', now()) RETURNING id", w=2),
        Q("UPDATE orders SET status = '{status}', updated_at = now() WHERE id = {oid}", w=2),
        Q("UPDATE customers SET mobile = '{new_mobile}', updated_at = now() WHERE id = {cid}",
          w=0.5),
        Q("DELETE FROM order_items WHERE order_id = {oid} AND product_id = {prod}",
          None, (), (0, 1), w=0.5),
        Q("INSERT INTO customers (name, id_card, mobile, email, address, city, level, created_at) "
          "VALUES ('{new_name}', '{new_id_card}', '{new_mobile}', '{new_email}', "
          "'{new_address}', '{new_city}', 'bronze', now()) RETURNING id", w=0.7),
        Q("SELECT c.name, c.mobile, o.id AS order_id, o.amount, o.status FROM customers c "
          "JOIN orders o ON o.customer_id = c.id WHERE o.id = {oid}", "customer_order", _ORDER_OUT),
        Q("SELECT count(*) FROM orders "
          "WHERE status = 'pending' AND created_at > now() - interval '1 hour'",
          "count", ("count",), (1, 1), (5, 40), w=0.5),
        Txn((
            Q("INSERT INTO orders (customer_id, amount, status, created_at) "
              "VALUES ({cid}, {amount}, 'pending', now()) RETURNING id"),
            Q("INSERT INTO order_items (order_id, product_id, qty, price) "
              "VALUES ({new_oid}, {prod}, {qty}, {price})"),
            Q("UPDATE products SET stock = stock - {qty} WHERE id = {prod}"),
        )),
    ),
    "crm_support": (
        Q("SELECT id, name, mobile, email, address FROM customers WHERE mobile = '{cust_mobile}'",
          "customer", ("id", "name", "mobile", "email", "address"), (0, 1), w=4),
        Q("SELECT id, name, id_card, mobile FROM customers WHERE id = {cid}",
          "customer", ("id", "name", "id_card", "mobile"), w=3),
        Q("SELECT id, subject, status, created_at FROM tickets WHERE customer_id = {cid} "
          "ORDER BY created_at DESC LIMIT 20",
          "ticket", ("id", "subject", "status", "created_at"), (0, 6), w=3),
        Q("INSERT INTO tickets (customer_id, subject, status, assignee, created_at) "
          "VALUES ({cid}, '{subject}', 'open', '{me}', now()) RETURNING id", w=2),
        Q("UPDATE tickets SET status = 'closed', closed_at = now() WHERE id = {tid}", w=2),
        Q("INSERT INTO customer_notes (customer_id, author, body, created_at) "
          "VALUES ({cid}, '{me}', '{note}', now())"),
        Q("SELECT c.name, c.mobile, o.id AS order_id, o.amount, o.status FROM customers c "
          "JOIN orders o ON o.customer_id = c.id WHERE c.id = {cid} "
          "ORDER BY o.created_at DESC LIMIT 5",
          "customer_order", _ORDER_OUT, (0, 5), (0.5, 6), w=2),
        Q("UPDATE customers SET address = '{new_address}', updated_at = now() WHERE id = {cid}",
          w=0.5),
        Q("DELETE FROM customer_notes WHERE customer_id = {cid} AND author = '{me}' "
          "AND created_at > now() - interval '10 minutes'", None, (), (0, 1), w=0.3),
        Q("SELECT id, full_name, phone, email FROM overseas_customers "
          "WHERE email = '{ocust_email}'",
          "overseas", ("id", "full_name", "phone", "email"), (0, 1)),
    ),
    "crm_report": (
        Q("SELECT city, count(*) AS customers FROM customers GROUP BY city "
          "ORDER BY customers DESC LIMIT 20",
          "agg_city", ("city", "customers"), (20, 20), (150, 900)),
        Q("SELECT date_trunc('day', created_at) AS day, count(*) AS orders, sum(amount) AS revenue "
          "FROM orders WHERE created_at >= now() - interval '{days} days' GROUP BY 1 ORDER BY 1",
          "agg_day", ("day", "orders", "revenue"), (7, "days"), (80, 1200)),
        Q("SELECT c.level, count(DISTINCT c.id) AS customers, sum(o.amount) AS revenue "
          "FROM customers c JOIN orders o ON o.customer_id = c.id "
          "WHERE o.created_at >= '{date}' GROUP BY c.level",
          "agg_level", ("level", "customers", "revenue"), (4, 4), (200, 2500)),
        Q("SELECT p.name, sum(oi.qty) AS units FROM order_items oi "
          "JOIN products p ON p.id = oi.product_id GROUP BY p.name ORDER BY units DESC LIMIT 10",
          "agg_product", ("name", "units"), (8, 8), (60, 600)),
        Q("SELECT id, name, mobile, city FROM customers "
          "WHERE level = 'gold' AND city = '{city}' LIMIT {limit}",
          "customer", ("id", "name", "mobile", "city"), (0, "limit"), (3, 60), w=0.7),
    ),
    "crm_analyst": (
        Q("SELECT id, name, city, level, created_at FROM customers WHERE created_at >= '{date}' "
          "ORDER BY created_at LIMIT {limit} OFFSET {offset}",
          "customer", ("id", "name", "city", "level", "created_at"), (1, "limit"), (4, 80), w=2),
        Q("SELECT count(*) FROM customers WHERE city = '{city}'",
          "count", ("count",), (1, 1), (8, 90)),
        Q("SELECT customer_id, count(*) AS n, sum(amount) AS total FROM orders "
          "GROUP BY customer_id HAVING count(*) > {k} ORDER BY total DESC LIMIT 50",
          "agg_top", ("customer_id", "n", "total"), (10, 50), (300, 2500)),
        Q("WITH recent AS (SELECT customer_id, max(created_at) AS last_order FROM orders "
          "GROUP BY customer_id) SELECT c.id, c.name, r.last_order FROM customers c "
          "JOIN recent r ON r.customer_id = c.id "
          "WHERE r.last_order < now() - interval '90 days' LIMIT 100",
          "churn", ("id", "name", "last_order"), (40, 100), (400, 3000)),
        Q("SELECT city, count(*) AS customers FROM customers GROUP BY city "
          "ORDER BY customers DESC LIMIT 20",
          "agg_city", ("city", "customers"), (20, 20), (150, 900)),
    ),
    "crm_dev": (
        Q("EXPLAIN ANALYZE SELECT * FROM orders WHERE customer_id = {cid}",
          None, (), (8, 14), (1, 15)),
        Q("SELECT * FROM orders WHERE id = {oid}", "order", ("*",), w=2),
        Q("SELECT id, name, mobile FROM customers WHERE id = {cid}",
          "customer", ("id", "name", "mobile"), w=2),
        Q("SELECT column_name, data_type FROM information_schema.columns "
          "WHERE table_name = 'orders'", None, (), (9, 9), (1, 6), w=0.3),
        Q("UPDATE orders SET status = 'cancelled', updated_at = now() WHERE id = {oid}", w=0.5),
        Q("SELECT count(*) FROM orders WHERE status = '{status}'",
          "count", ("count",), (1, 1), (20, 300)),
        Q("SELECT o.id, o.status, i.product_id, i.qty FROM orders o LEFT JOIN order_items i "
          "ON i.order_id = o.id WHERE o.customer_id = {cid} LIMIT 20", None, (), (0, 20), (1, 10)),
    ),
    "fin_report": (
        Q("SELECT date_trunc('month', paid_at) AS month, currency, sum(amount) AS total "
          "FROM payments WHERE status = 'settled' AND paid_at >= '{date}' "
          "GROUP BY 1, 2 ORDER BY 1",
          "agg_month", ("month", "currency", "total"), (2, 12), (300, 4000)),
        Q("SELECT status, count(*) AS n FROM payments "
          "WHERE paid_at >= now() - interval '{days} days' GROUP BY status",
          "agg_status", ("status", "n"), (4, 4), (100, 1500)),
        Q("SELECT a.id, a.holder_name, a.balance FROM accounts a WHERE a.balance > {amount} "
          "ORDER BY a.balance DESC LIMIT {limit}",
          "account", ("id", "holder_name", "balance"), (1, "limit"), (20, 400)),
        Q("SELECT sum(debit) AS debit, sum(credit) AS credit FROM ledger_entries "
          "WHERE posted_at::date = '{date}'",
          "agg_ledger", ("debit", "credit"), (1, 1), (40, 600)),
    ),
    "fin_adhoc": (
        Q("SELECT id, payer_name, card_no, amount, status, paid_at FROM payments WHERE id = {pid}",
          "payment", ("id", "payer_name", "card_no", "amount", "status", "paid_at"), w=3),
        Q("SELECT id, holder_name, holder_id_card, bank_card, balance FROM accounts "
          "WHERE customer_id = {cid}",
          "account", ("id", "holder_name", "holder_id_card", "bank_card", "balance"), (0, 2), w=2),
        Q("SELECT p.id, p.amount, p.status, a.holder_name FROM payments p "
          "JOIN accounts a ON a.id = p.account_id "
          "WHERE p.status = 'failed' AND p.paid_at >= '{date}' LIMIT {limit}",
          "payment_holder", ("id", "amount", "status", "holder_name"), (0, "limit"), (20, 300)),
        Q("UPDATE payments SET status = 'refunded', updated_at = now() WHERE id = {pid}", w=0.5),
        Q("INSERT INTO invoices (customer_id, amount, tax_no, issued_at) "
          "VALUES ({cid}, {amount}, '{tax_no}', now()) RETURNING id"),
    ),
    "fin_etl": (
        Q("INSERT INTO ledger_entries (account_id, debit, credit, posted_at) "
          "SELECT account_id, sum(amount), 0, '{date}' FROM payments "
          "WHERE paid_at::date = '{date}' AND status = 'settled' GROUP BY account_id",
          None, (), (500, 5000), (200, 3000)),
        Q("UPDATE payments SET status = 'settled', settled_at = now() "
          "WHERE status = 'pending' AND paid_at < now() - interval '2 hours'",
          None, (), (10, 800), (30, 900), w=2),
        Q("COPY payments_staging FROM STDIN WITH (FORMAT csv)",
          None, (), (1000, 20000), (300, 6000)),
        Q("DELETE FROM payments_staging WHERE loaded_at < now() - interval '7 days'",
          None, (), (0, 20000), (50, 2000)),
        Q("SELECT id, account_id, payer_name, card_no, amount, currency FROM payments "
          "WHERE status = 'pending' ORDER BY paid_at LIMIT 1000",
          "payment", ("id", "account_id", "payer_name", "card_no", "amount", "currency"),
          (0, 1000), (20, 400), w=2),
        Txn((
            Q("INSERT INTO payments "
              "(account_id, payer_name, card_no, amount, currency, status, paid_at) "
              "VALUES ({aid}, '{acct_holder}', '{acct_card}', {amount}, 'CNY', 'pending', now())"),
            Q("UPDATE accounts SET balance = balance - {amount} WHERE id = {aid}"),
        ), w=2),
    ),
    "hr_etl": (
        Q("SELECT id, name, bank_card, salary FROM employees WHERE status = 'active'",
          "employee", ("id", "name", "bank_card", "salary"), (1100, 1200), (40, 400)),
        Q("INSERT INTO payroll (employee_id, month, gross, net, paid_at) "
          "SELECT id, '{month}', salary, ROUND(salary * 0.78, 2), NOW() FROM employees "
          "WHERE status = 'active'", None, (), (1100, 1200), (80, 900)),
        Q("UPDATE attendance SET processed = 1 WHERE work_date = '{date}'",
          None, (), (800, 1200), (20, 300)),
    ),
    "hr_portal": (
        Q("SELECT id, name, department, title, mobile, email FROM employees WHERE id = {eid}",
          "employee", ("id", "name", "department", "title", "mobile", "email"), w=3),
        Q("SELECT id, name, id_card, mobile, bank_card, salary FROM employees WHERE id = {eid}",
          "employee", ("id", "name", "id_card", "mobile", "bank_card", "salary"), w=2),
        Q("SELECT e.name, p.month, p.gross, p.net FROM payroll p "
          "JOIN employees e ON e.id = p.employee_id WHERE p.employee_id = {eid} "
          "ORDER BY p.month DESC LIMIT 12",
          "payroll", ("name", "month", "gross", "net"), (1, 12), (1, 12), w=2),
        Q("SELECT id, name, title FROM employees WHERE department = '{dept}' "
          "AND status = 'active' ORDER BY name LIMIT {offset}, {limit}",
          "employee", ("id", "name", "title"), (1, "limit"), (1, 20), w=2),
        Q("UPDATE employees SET salary = {salary}, updated_at = NOW() WHERE id = {eid}", w=0.5),
        Q("UPDATE employees SET mobile = '{new_mobile}' WHERE id = {eid}", w=0.5),
        Q("DELETE FROM attendance WHERE employee_id = {eid} AND work_date = '{date}'",
          None, (), (0, 1), w=0.2),
        Q("INSERT INTO employees (name, id_card, mobile, email, department, title, salary, "
          "bank_card, hire_date, status) VALUES ('{new_name}', '{new_id_card}', '{new_mobile}', "
          "'{new_email}', '{dept}', '{title}', {salary}, '{new_card}', CURDATE(), 'active')",
          w=0.3),
        Q("SELECT department, COUNT(*) AS headcount, AVG(salary) AS avg_salary FROM employees "
          "WHERE status = 'active' GROUP BY department",
          "agg_dept", ("department", "headcount", "avg_salary"), (7, 7), (5, 60)),
        Q("SELECT `employee_id`, `work_date`, `check_in`, `check_out` FROM `attendance` "
          "WHERE `employee_id` = {eid} AND `work_date` >= DATE_SUB(CURDATE(), INTERVAL 30 DAY)",
          "attendance", ("employee_id", "work_date", "check_in", "check_out"), (15, 22), (1, 10)),
        Txn((
            Q("UPDATE employees SET department = '{dept}', title = '{title}' WHERE id = {eid}"),
            Q("INSERT INTO employee_history (employee_id, change_type, changed_by, changed_at) "
              "VALUES ({eid}, 'transfer', '{me}', NOW())"),
        ), w=0.5),
    ),
    "hr_dev": (
        Q("SELECT * FROM employees WHERE id = {eid} LIMIT 1", "employee", ("*",)),
        Q("SHOW CREATE TABLE employees", None, (), (1, 1), (0.2, 1)),
        Q("SELECT COUNT(*) FROM attendance WHERE work_date = '{date}'",
          "count", ("count",), (1, 1), (2, 40)),
        Q("EXPLAIN SELECT id, name FROM employees WHERE department = '{dept}'",
          None, (), (1, 1), (0.2, 2)),
    ),
    "fin_dev": (
        Q("SELECT * FROM payments WHERE id = {pid}", "payment", ("*",), w=2),
        Q("EXPLAIN ANALYZE SELECT * FROM payments WHERE account_id = {aid} AND status = 'pending'",
          None, (), (6, 10), (1, 20)),
        Q("SELECT count(*) FROM payments_staging", "count", ("count",), (1, 1), (10, 200)),
    ),
    "pg_admin": (
        Q("SELECT pid, usename, application_name, state, query_start FROM pg_stat_activity "
          "WHERE datname = current_database()",
          "pg_activity", ("pid", "usename", "application_name", "state"), (5, 60), (0.5, 5), w=3),
        Q("SELECT relname, n_live_tup, n_dead_tup, last_autovacuum FROM pg_stat_user_tables "
          "ORDER BY n_dead_tup DESC LIMIT 10", None, (), (5, 10), (1, 8), w=2),
        Q("VACUUM (ANALYZE) {table}", None, (), (0, 0), (500, 30000)),
        Q("ANALYZE {table}", None, (), (0, 0), (100, 4000)),
        Q("SELECT pg_size_pretty(pg_total_relation_size('{table}'))",
          None, (), (1, 1), (0.3, 3)),
        Q("REINDEX INDEX CONCURRENTLY {table}_pkey", None, (), (0, 0), (2000, 60000), w=0.3),
        Q("CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_{table}_created_at ON {table} (created_at)",
          None, (), (0, 0), (3000, 90000), w=0.2),
        Q("ALTER TABLE {table} ADD COLUMN IF NOT EXISTS updated_by text",
          None, (), (0, 0), (5, 200), w=0.1),
        Q("GRANT SELECT ON {table} TO readonly", None, (), (0, 0), (0.5, 5), w=0.1),
    ),
    "mysql_admin": (
        Q("SHOW PROCESSLIST", None, (), (5, 40), (0.2, 2), w=3),
        Q("SHOW ENGINE INNODB STATUS", None, (), (1, 1), (0.5, 5)),
        Q("SELECT table_name, table_rows, data_length FROM information_schema.tables "
          "WHERE table_schema = 'hr'", None, (), (5, 5), (1, 10), w=2),
        Q("OPTIMIZE TABLE attendance", None, (), (1, 1), (2000, 40000), w=0.3),
        Q("ANALYZE TABLE {table}", None, (), (1, 1), (50, 2000)),
        Q("ALTER TABLE attendance ADD INDEX idx_attendance_work_date (work_date)",
          None, (), (0, 0), (1000, 30000), w=0.1),
        Q("GRANT SELECT ON hr.{table} TO 'report'@'172.16.4.%'",
          None, (), (0, 0), (0.3, 3), w=0.1),
    ),
}

#: (begin, commit, rollback) per system
TXN_STATEMENTS = {
    "postgresql": ("BEGIN", "COMMIT", "ROLLBACK"),
    "mysql": ("START TRANSACTION", "COMMIT", "ROLLBACK"),
}

#: Occasional benign failures, per system and statement kind.
DB_ERRORS = {
    "postgresql": {
        "select": "canceling statement due to statement timeout",
        "insert": "duplicate key value violates unique constraint",
        "update": "deadlock detected",
        "ddl": "canceling statement due to lock timeout",
    },
    "mysql": {
        "select": "Query execution was interrupted, maximum statement execution time exceeded",
        "insert": "Duplicate entry for key 'PRIMARY'",
        "update": "Lock wait timeout exceeded; try restarting transaction",
        "ddl": "Lock wait timeout exceeded; try restarting transaction",
    },
}
LOGIN_ERRORS = {
    "postgresql": 'password authentication failed for user "{user}"',
    "mysql": "Access denied for user '{user}'@'{ip}' (using password: YES)",
}

# ================================================================================================
# API: routes per service
# ================================================================================================


@dataclass(frozen=True, slots=True)
class Route:
    """One API route; ``path``, ``query`` and ``service`` are templates over :data:`PARAMS`."""

    service: str
    method: str
    route: str
    path: str
    query: str | None = None
    src: str | None = None  # row source of the response sample (GET only)
    cols: tuple[str, ...] = ()
    many: bool = False  # a list response
    size: tuple[int, int] = (300, 1500)  # response bytes when successful
    ms: float = 25.0  # median latency
    w: float = 1.0
    statuses: tuple[tuple[int, float], ...] | None = None  # a fixed status mix


R = Route
_CUST_API = ("id", "name", "mobile", "email", "city", "level")

ROUTES = {
    "customer_get": R(
        "customer-api", "GET", "/customers/{id}", "/customers/{cid}",
        src="customer", cols=_CUST_API, w=5),
    "customer_list": R(
        "customer-api", "GET", "/customers", "/customers", "page={page}&size={limit}",
        src="customer", cols=("id", "name", "city", "level"), many=True, size=(2000, 40000), ms=60,
        w=2),
    "customer_orders": R(
        "customer-api", "GET", "/customers/{id}/orders", "/customers/{cid}/orders",
        src="order", cols=("id", "amount", "status", "created_at"), many=True, size=(500, 8000),
        ms=35, w=2),
    "customer_search": R(
        "customer-api", "GET", "/customers/search", "/customers/search", "mobile={cust_mobile}",
        src="customer", cols=("id", "name", "mobile", "id_card"), ms=40, w=2),
    "overseas_get": R(
        "customer-api", "GET", "/overseas-customers/{id}", "/overseas-customers/{ocid}",
        src="overseas", cols=("id", "full_name", "ssn", "phone", "email"), w=0.5),
    "customer_update": R(
        "customer-api", "PUT", "/customers/{id}", "/customers/{cid}", size=(80, 300), ms=30),
    "customer_create": R(
        "customer-api", "POST", "/customers", "/customers", size=(80, 300), ms=45, w=0.5),
    "customer_note": R(
        "customer-api", "POST", "/customers/{id}/notes", "/customers/{cid}/notes",
        size=(60, 200), ms=20),
    "payment_get": R(
        "payment-api", "GET", "/payments/{id}", "/payments/{pid}",
        src="payment", cols=("id", "payer_name", "card_no", "amount", "status"), w=3),
    "account_get": R(
        "payment-api", "GET", "/accounts/{id}", "/accounts/{aid}",
        src="account", cols=("id", "holder_name", "bank_card", "balance"), w=2),
    "account_tx": R(
        "payment-api", "GET", "/accounts/{id}/transactions", "/accounts/{aid}/transactions",
        "from={date}", src="payment", cols=("id", "amount", "status", "paid_at"), many=True,
        size=(800, 20000), ms=80),
    "payment_create": R(
        "payment-api", "POST", "/payments", "/payments", size=(120, 400), ms=120, w=2),
    "refund_create": R(
        "payment-api", "POST", "/refunds", "/refunds", size=(100, 300), ms=90, w=0.5),
    "employee_get": R(
        "hr-api", "GET", "/employees/{id}", "/employees/{eid}",
        src="employee", cols=("id", "name", "department", "title", "mobile", "email"), w=4),
    "employee_list": R(
        "hr-api", "GET", "/employees", "/employees", "dept={dept}&page={page}",
        src="employee", cols=("id", "name", "department", "title"), many=True,
        size=(2000, 20000), ms=45, w=2),
    "payslip_get": R(
        "hr-api", "GET", "/employees/{id}/payslips/{month}", "/employees/{eid}/payslips/{month}",
        src="payroll", cols=("name", "month", "gross", "net", "bank_card"), ms=30, w=1.5),
    "employee_update": R(
        "hr-api", "PUT", "/employees/{id}", "/employees/{eid}", size=(80, 300), ms=35),
    "health": R(
        "{any_service}", "GET", "/health", "/health", size=(15, 15), ms=1.5, w=6,
        statuses=((200, 1.0),)),
    "token": R(
        "{any_service}", "POST", "/auth/token", "/auth/token", size=(60, 900), ms=90, w=2,
        statuses=((200, 0.9), (401, 0.1))),
    "unauthenticated": R(
        "customer-api", "GET", "/customers/{id}", "/customers/{cid}", size=(60, 90), ms=3, w=0.5,
        statuses=((401, 1.0),)),
}

ROUTE_SETS = {
    "customer_read": (
        "customer_get", "customer_list", "customer_orders", "customer_search", "overseas_get",
    ),
    "customer_rw": (
        "customer_get", "customer_list", "customer_orders", "customer_search", "overseas_get",
        "customer_update", "customer_create", "customer_note",
    ),
    "payment_rw": ("payment_get", "account_get", "account_tx", "payment_create", "refund_create"),
    "payment_svc": ("payment_create", "payment_get"),
    "hr_rw": ("employee_get", "employee_list", "payslip_get", "employee_update"),
    "anonymous": ("health", "token", "unauthenticated"),
}

OK_STATUS = {"GET": 200, "POST": 201, "PUT": 200, "DELETE": 204}
API_ERROR_SHARE = 0.06
API_ERRORS = {
    "read": ((404, 0.5), (401, 0.25), (403, 0.17), (500, 0.08)),
    "write": ((400, 0.45), (409, 0.2), (401, 0.2), (500, 0.15)),
}

# ================================================================================================
# Attacks
# ================================================================================================

_PROBE = "SELECT id, name, mobile, email FROM customers WHERE "

#: (statement, rows, duration ms, error or None, the API query string that carried it)
SQLI_PROBES = (
    (_PROBE + "id = {n} OR 1=1", CUSTOMERS_TOTAL, (900, 2500), None, "id={n}%20OR%201=1"),
    (_PROBE + "name = '' OR '1'='1'", CUSTOMERS_TOTAL, (900, 2500), None,
     "name=%27%20OR%20%271%27=%271"),
    (_PROBE + "id = {n} ORDER BY 5--", 0, (0.3, 2), "ORDER BY position 5 is not in select list",
     "id={n}%20ORDER%20BY%205--"),
    (_PROBE + "id = {n} AND 1=2 UNION SELECT NULL, usename, passwd, NULL FROM pg_shadow--",
     6, (1, 5), None,
     "id={n}%20AND%201=2%20UNION%20SELECT%20NULL,usename,passwd,NULL%20FROM%20pg_shadow--"),
    (_PROBE + "id = {n} UNION SELECT 1, table_name, column_name, NULL FROM "
     "information_schema.columns--", 480, (5, 40), None,
     ("id={n}%20UNION%20SELECT%201,table_name,column_name,NULL%20FROM%20"
      "information_schema.columns--")),
    (_PROBE + "id = {n}; SELECT pg_sleep(5)--", 1, (5001, 5030), None,
     "id={n};SELECT%20pg_sleep(5)--"),
    (_PROBE + "id = {n} AND (SELECT 1 FROM pg_sleep(5)) IS NOT NULL", 1, (5001, 5030), None,
     "id={n}%20AND%20(SELECT%201%20FROM%20pg_sleep(5))%20IS%20NOT%20NULL"),
    (_PROBE + "id = {n} AND 1=CAST((SELECT current_user) AS int)", 0, (0.3, 2),
     'invalid input syntax for type integer: "svc_crm"',
     "id={n}%20AND%201=CAST((SELECT%20current_user)%20AS%20int)"),
)
SQLMAP_UA = "sqlmap/1.8.11#stable (https://sqlmap.org)"

#: (statement, row source, sampled columns, rows: the whole table)
BULK_EXPORT_STATEMENTS = (
    ("SELECT * FROM customers", "customer", ("*",), CUSTOMERS_TOTAL),
    ("SELECT * FROM overseas_customers", "overseas", ("*",), OVERSEAS_TOTAL),
    (("COPY (SELECT name, id_card, mobile, email, address FROM customers) "
      "TO STDOUT WITH (FORMAT csv, HEADER)"),
     "customer", ("name", "id_card", "mobile", "email", "address"), CUSTOMERS_TOTAL),
)

DESTRUCTIVE = {
    "postgresql": (
        "TRUNCATE TABLE {table}", "DROP TABLE {table} CASCADE", "DROP TABLE IF EXISTS {table}",
    ),
    "mysql": ("TRUNCATE TABLE {table}", "DROP TABLE {table}"),
}
DESTRUCTIVE_TABLES = {
    "pg-crm-01": ("orders", "customers", "tickets"),
    "pg-fin-01": ("payments", "ledger_entries"),
    "mysql-hr-01": ("payroll", "attendance", "employees"),
}

#: per instance: (statement, rows)
TAMPERING = {
    "pg-crm-01": (
        ("SHOW pgaudit.log", 1),
        ("SET pgaudit.log = 'none'", 0),
        ("SELECT name, id_card, mobile FROM customers WHERE level = 'platinum'", 2400),
        ("ALTER SYSTEM SET pgaudit.log = 'none'", 0),
        ("SELECT pg_reload_conf()", 1),
    ),
    "pg-fin-01": (
        ("SHOW pgaudit.log", 1),
        ("SET pgaudit.log = 'none'", 0),
        (("SELECT holder_name, holder_id_card, bank_card, balance FROM accounts "
          "WHERE balance > 1000000"), 3100),
        ("ALTER SYSTEM SET pgaudit.log = 'none'", 0),
        ("SELECT pg_reload_conf()", 1),
    ),
    "mysql-hr-01": (
        ("SHOW VARIABLES LIKE 'server_audit%'", 12),
        ("SET GLOBAL server_audit_logging = OFF", 0),
        ("SELECT name, id_card, bank_card, salary FROM employees", 1180),
        ("UNINSTALL PLUGIN server_audit", 0),
    ),
}

# ================================================================================================
# Public data types
# ================================================================================================


@dataclass(frozen=True, slots=True)
class SimEvent:
    """One generated event: ``kind`` (``db``/``api``) picks the topic, ``key`` is the Kafka key."""

    kind: str  # "db" or "api"  (topic: parasol.db.audit / parasol.api.access)
    key: str  # the Kafka key: user.name ("-" for anonymous API calls)
    value: dict  # the contract event (nested or dotted keys)
    label: str | None  # None for benign, else one of ATTACK_KINDS

    @property
    def topic(self) -> str:
        """Topic without the prefix, e.g. ``db.audit``."""
        return TOPICS[self.kind]

    def to_json(self) -> bytes:
        return _dumps(self.value)


@dataclass(frozen=True, slots=True)
class Malformed:
    """Bytes the pipeline must dead-letter with ``reason``."""

    kind: str
    key: str
    raw: bytes
    reason: str  # expected dead-letter reason code (one of MALFORMED_REASONS)

    @property
    def topic(self) -> str:
        return TOPICS[self.kind]


@dataclass(frozen=True, slots=True)
class Employee:
    username: str
    full_name: str
    role: str
    roles: tuple[str, ...]
    ip: str  # office workstation
    vpn_ip: str  # remote access
    user_agent: str


@dataclass(frozen=True, slots=True)
class ServiceAccount:
    username: str
    app: str
    roles: tuple[str, ...]
    ips: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class App:
    name: str
    ips: tuple[str, ...]
    description: str


@dataclass(frozen=True, slots=True)
class DbInstance:
    name: str
    system: str
    db: str
    host: str
    tables: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ApiService:
    name: str
    host: str
    routes: tuple[str, ...]


@dataclass(frozen=True)
class Company:
    """The simulated organisation (for summaries, and for tests that need ground truth)."""

    employees: tuple[Employee, ...]
    service_accounts: tuple[ServiceAccount, ...]
    apps: tuple[App, ...]
    db_instances: tuple[DbInstance, ...]
    api_services: tuple[ApiService, ...]

    @property
    def users(self) -> list[str]:
        return [e.username for e in self.employees] + [s.username for s in self.service_accounts]

    @property
    def roles(self) -> dict[str, str]:
        """username -> business role (``service`` for service accounts)."""
        out = {e.username: e.role for e in self.employees}
        out.update({s.username: "service" for s in self.service_accounts})
        return out

    def by_role(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for e in self.employees:
            out.setdefault(e.role, []).append(e.username)
        return out


# ================================================================================================
# Faker pools and the company (built once per Simulator)
# ================================================================================================


def _luhn_complete(digits: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:  # doubled once the check digit is appended
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return digits + str((10 - total % 10) % 10)


def _unionpay_card(rng: random.Random) -> str:
    """A Luhn-valid UnionPay (IIN 62) debit card number of 16 or 19 digits."""
    length = 16 if rng.random() < 0.7 else 19
    body = rng.choice(UNIONPAY_IINS) + "".join(rng.choices("0123456789", k=length - 7))
    return _luhn_complete(body)


def _uscc(rng: random.Random) -> str:
    """A unified social credit code (GB 32100-2015) with valid organisation and overall checks."""
    org = "".join(rng.choices("0123456789", k=8))
    s = sum(int(c) * w for c, w in zip(org, (3, 7, 9, 10, 5, 8, 4, 2), strict=True))
    c = 11 - s % 11
    org += "X" if c == 10 else "0" if c == 11 else str(c)
    body = "91" + rng.choice(("110105", "310115", "440300", "330106", "510107")) + org
    s = sum(_USCC_ALPHABET.index(ch) * w for ch, w in zip(body, _USCC_WEIGHTS, strict=True))
    return body + _USCC_ALPHABET[(31 - s % 31) % 31]


def _zh_people(fake: Faker, rng: random.Random, n: int) -> list[dict]:
    people = []
    for _ in range(n):
        mobile = fake.phone_number()
        while not _MOBILE_RE.fullmatch(mobile):  # Faker emits e.g. the invalid 149 prefix
            mobile = fake.phone_number()
        people.append({
            "name": fake.name(),
            "id_card": fake.ssn(),  # GB 11643-valid
            "mobile": mobile,
            "email": fake.email(),
            "address": fake.address().rsplit(" ", 1)[0],  # without the trailing postcode
            "city": fake.city(),
            "bank_card": _unionpay_card(rng),
        })
    return people


def _en_people(fake: Faker, n: int) -> list[dict]:
    people = []
    for _ in range(n):
        phone = fake.phone_number()
        while "x" in phone:  # no extensions
            phone = fake.phone_number()
        people.append({
            "name": fake.name(),
            "ssn": fake.ssn(),
            "phone": phone,
            "email": fake.email(),
            "address": fake.address().replace("\n", ", "),
            "state": fake.state_abbr(),
            "card": fake.credit_card_number(),
        })
    return people


def _build_company(zh: Faker, en: Faker, rng: random.Random) -> Company:
    employees, seen = [], set()
    for role, count in ROLE_HEADCOUNT.items():
        for _ in range(count):
            if rng.random() < 0.75:
                first, last = zh.first_romanized_name(), zh.last_romanized_name()
                full = f"{last} {first}"
            else:
                first, last = en.first_name(), en.last_name()
                full = f"{first} {last}"
            base = f"{first}.{last}".lower().replace(" ", "").replace("'", "")
            username, i = base, 1
            while username in seen:
                i += 1
                username = f"{base}{i}"
            seen.add(username)
            employees.append(Employee(
                username=username,
                full_name=full,
                role=role,
                roles=(role, *ROLE_GRANTS[role]),
                ip=f"10.20.{ROLE_SUBNET[role]}.{rng.randint(10, 250)}",
                vpn_ip=f"192.168.{rng.randint(100, 103)}.{rng.randint(2, 254)}",
                user_agent=rng.choice(BROWSER_UAS),
            ))
    routes = {name: sorted({r.route for r in ROUTES.values() if r.service == name})
              for name in API_SERVICES}
    return Company(
        employees=tuple(employees),
        service_accounts=tuple(
            ServiceAccount(name, app, roles, APPS[app][0])
            for name, (app, roles, _, _) in SERVICE_ACCOUNTS.items()
        ),
        apps=tuple(App(name, ips, desc) for name, (ips, desc) in APPS.items()),
        db_instances=tuple(DbInstance(name, *spec) for name, spec in DB_INSTANCES.items()),
        api_services=tuple(
            ApiService(name, host, tuple(routes[name])) for name, host in API_SERVICES.items()
        ),
    )


# ================================================================================================
# Small helpers
# ================================================================================================


class _Picker:
    """Weighted choice over a fixed list, by bisection on cumulative weights."""

    __slots__ = ("cum", "items", "total")

    def __init__(self, items: list, weights: list[float]):
        self.items = items
        self.cum = list(accumulate(weights))
        self.total = self.cum[-1]

    def __call__(self, rng: random.Random) -> Any:
        return self.items[bisect(self.cum, rng.random() * self.total)]


def _pick_status(rng: random.Random, mix: tuple[tuple[int, float], ...]) -> int:
    r, acc = rng.random(), 0.0
    for code, w in mix:
        acc += w
        if r < acc:
            return code
    return mix[-1][0]


def _sq(s: str) -> str:
    """Escape a SQL string literal's body."""
    return s.replace("'", "''")


def _mix(x: int) -> int:
    """A cheap deterministic integer hash (row attributes derived from the row id)."""
    return (x * 2654435761 + 0x9E3779B9) & 0xFFFFFFFF


def _day(ms: int, days_back: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(ms // 1000 - days_back * 86400))


def _flatten(d: dict, prefix: str, out: dict) -> dict:
    """Nested -> dotted keys (a response sample is one opaque value)."""
    for k, v in d.items():
        key = prefix + k
        if type(v) is dict and key != "http.response.sample":
            _flatten(v, key + ".", out)
        else:
            out[key] = v
    return out


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def _hour(ms: int) -> int:
    return (ms // _MS_HOUR) % 24


def _weekend(ms: int) -> bool:
    return (ms // _MS_DAY + 3) % 7 >= 5  # 1970-01-01 was a Thursday


# ================================================================================================
# Rows (result samples) and template parameters
# ================================================================================================


class _Params(dict):
    """Template parameters made on first use (``str.format_map`` asks for what a template needs),
    so that the customer in ``WHERE id = {cid}`` is also the first row of the sample."""

    __slots__ = ("actor", "inst", "run")

    def __init__(self, run: _Run, actor: _Actor, inst: DbInstance | None):
        super().__init__()
        self.run, self.actor, self.inst = run, actor, inst

    def __missing__(self, key: str) -> Any:
        value = PARAMS[key](self)
        self[key] = value
        return value


def _customer(sim: Simulator, cid: int, now_ms: int) -> dict:
    p = sim._zh[cid % len(sim._zh)]
    h = _mix(cid)
    return {
        "id": cid,
        "name": p["name"],
        "id_card": p["id_card"],
        "mobile": p["mobile"],
        "email": p["email"],
        "address": p["address"],
        "city": p["city"],
        "level": LEVELS[h % 4],
        "created_at": f"{_day(now_ms, 30 + h % 2000)} 10:{h % 60:02d}:{h // 60 % 60:02d}",
    }


def _overseas(sim: Simulator, ocid: int) -> dict:
    p = sim._en[ocid % len(sim._en)]
    return {
        "id": ocid,
        "full_name": p["name"],
        "ssn": p["ssn"],
        "phone": p["phone"],
        "email": p["email"],
        "address": p["address"],
        "state": p["state"],
    }


def _employee(sim: Simulator, eid: int, now_ms: int) -> dict:
    p = sim._zh[(eid * 7 + 3) % len(sim._zh)]
    h = _mix(eid)
    return {
        "id": eid,
        "name": p["name"],
        "id_card": p["id_card"],
        "mobile": p["mobile"],
        "email": f"emp{eid:05d}@corp.example.com",
        "department": DEPARTMENTS[h % 7],
        "title": TITLES[h // 7 % 7],
        "salary": 8000 + (h % 400) * 100,
        "bank_card": p["bank_card"],
        "hire_date": _day(now_ms, 60 + h % 3000),
        "status": "active",
    }


def _account(sim: Simulator, aid: int, now_ms: int) -> dict:
    p = sim._zh[(aid * 13 + 5) % len(sim._zh)]
    h = _mix(aid)
    return {
        "id": aid,
        "customer_id": CUSTOMER_IDS[0] + h % CUSTOMERS_TOTAL,
        "holder_name": p["name"],
        "holder_id_card": p["id_card"],
        "bank_card": p["bank_card"],
        "balance": round(h % 5_000_000 / 7, 2),
        "opened_at": _day(now_ms, 100 + h % 2500),
    }


def _order(oid: int, now_ms: int) -> dict:
    h = _mix(oid)
    return {
        "id": oid,
        "customer_id": CUSTOMER_IDS[0] + h % CUSTOMERS_TOTAL,
        "amount": round(h % 500_000 / 100 + 9.9, 2),
        "status": ORDER_STATUSES[h % 6],
        "created_at": f"{_day(now_ms, h % 90)} {8 + h % 12:02d}:{h % 60:02d}:00",
    }


def _payment(sim: Simulator, pid: int, now_ms: int) -> dict:
    h = _mix(pid)
    overseas = h % 10 == 0
    p = sim._en[h % len(sim._en)] if overseas else sim._zh[h % len(sim._zh)]
    return {
        "id": pid,
        "account_id": ACCOUNT_IDS[0] + h % 50000,
        "payer_name": p["name"],
        "card_no": p["card"] if overseas else p["bank_card"],
        "amount": round(h % 2_000_000 / 100 + 1, 2),
        "currency": "USD" if overseas else "CNY",
        "status": PAYMENT_STATUSES[h % 4],
        "paid_at": f"{_day(now_ms, h % 60)} {h % 24:02d}:{h // 24 % 60:02d}:{h // 1440 % 60:02d}",
    }


def _any_customer(p: _Params) -> dict:
    return _customer(p.run.sim, p.run.rng.randint(*CUSTOMER_IDS), p.run.now)


def _row_customer(p: _Params, i: int) -> dict:
    return dict(p["_cust"]) if i == 0 else _any_customer(p)


def _row_customer_order(p: _Params, i: int) -> dict:
    c = p["_cust"] if i == 0 else _any_customer(p)
    o = _order(p["oid"] + i * 17, p.run.now)
    return {"name": c["name"], "mobile": c["mobile"], "order_id": o["id"], "amount": o["amount"],
            "status": o["status"]}


def _row_ticket(p: _Params, i: int) -> dict:
    tid = p["tid"] - i * 53
    return {"id": tid, "subject": TICKET_SUBJECTS[tid % 7],
            "status": ("open", "pending", "closed")[tid % 3], "created_at": _day(p.run.now, i * 9)}


def _row_payroll(p: _Params, i: int) -> dict:
    e = _employee(p.run.sim, p["eid"], p.run.now)
    gross = e["salary"]
    return {"name": e["name"], "bank_card": e["bank_card"], "month": p["month"], "gross": gross,
            "net": round(gross * 0.78, 2)}


def _row_attendance(p: _Params, i: int) -> dict:
    eid = p["eid"]
    return {"employee_id": eid, "work_date": _day(p.run.now, i + 1),
            "check_in": f"09:{_mix(eid + i) % 30:02d}:00",
            "check_out": f"18:{_mix(eid - i) % 50:02d}:00"}


def _row_payment_holder(p: _Params, i: int) -> dict:
    pay = _payment(p.run.sim, p["pid"] + i, p.run.now)
    acc = _account(p.run.sim, p["aid"] + i, p.run.now)
    return {"id": pay["id"], "amount": pay["amount"], "status": "failed",
            "holder_name": acc["holder_name"]}


def _row_churn(p: _Params, i: int) -> dict:
    c = _any_customer(p)
    return {"id": c["id"], "name": c["name"], "last_order": _day(p.run.now, 91 + i * 13)}


def _row_pg_activity(p: _Params, i: int) -> dict:
    rng = p.run.rng
    user, app = rng.choice(
        (("svc_crm", "crm-web"), ("svc_report", "bi-reports"), (p.actor.name, "psql"))
    )
    return {"pid": rng.randint(1000, 65000), "usename": user, "application_name": app,
            "state": rng.choice(("active", "idle", "idle in transaction"))}


def _agg(build: Callable[[_Params, int, int], dict]) -> Callable[[_Params, int], dict]:
    """An aggregate row: ``build(p, i, h)`` with ``h`` a hash of the hour and the row number."""
    return lambda p, i: build(p, i, _mix(p.run.now // _MS_HOUR + i))


def _city(p: _Params, h: int) -> str:
    return p.run.sim._zh[h % len(p.run.sim._zh)]["city"]


#: name -> row(p, i): the i-th row of a result
ROW_SOURCES: dict[str, Callable[[_Params, int], dict]] = {
    "customer": _row_customer,
    "overseas": lambda p, i: _overseas(p.run.sim, p["ocid"] + i),
    "order": lambda p, i: _order(p["oid"] + i * 31, p.run.now),
    "customer_order": _row_customer_order,
    "ticket": _row_ticket,
    "employee": lambda p, i: _employee(p.run.sim, p["eid"] + i, p.run.now),
    "payroll": _row_payroll,
    "attendance": _row_attendance,
    "account": lambda p, i: _account(p.run.sim, p["aid"] + i, p.run.now),
    "payment": lambda p, i: _payment(p.run.sim, p["pid"] + i * 7, p.run.now),
    "payment_holder": _row_payment_holder,
    "count": lambda p, i: {"count": p.run.rng.randint(0, 5000)},
    "churn": _row_churn,
    "pg_activity": _row_pg_activity,
    "agg_city": _agg(lambda p, i, h: {"city": _city(p, h), "customers": 4000 - i * 170 - h % 100}),
    "agg_day": _agg(lambda p, i, h: {"day": _day(p.run.now, i + 1), "orders": 900 + h % 400,
                                     "revenue": round(180000 + h % 90000 + 0.5, 2)}),
    "agg_level": _agg(lambda p, i, h: {"level": LEVELS[i % 4],
                                       "customers": 20000 // (i + 1) + h % 500,
                                       "revenue": round(1e6 / (i + 1) + h % 10000, 2)}),
    "agg_product": _agg(lambda p, i, h: {"name": PRODUCTS[(h + i) % 8],
                                         "units": 3000 - i * 250 - h % 50}),
    "agg_top": _agg(lambda p, i, h: {"customer_id": CUSTOMER_IDS[0] + h % CUSTOMERS_TOTAL,
                                     "n": 40 - i - h % 3,
                                     "total": round(90000 - i * 1500 + h % 999, 2)}),
    "agg_month": _agg(lambda p, i, h: {"month": _day(p.run.now, 30 * (i + 1))[:7] + "-01",
                                       "currency": ("CNY", "USD")[i % 2],
                                       "total": round(5e6 + h % 1e6, 2)}),
    "agg_status": _agg(lambda p, i, h: {"status": PAYMENT_STATUSES[i % 4],
                                        "n": 10000 // (i + 1) + h % 300}),
    "agg_ledger": _agg(lambda p, i, h: {"debit": round(2e6 + h % 1e5, 2),
                                        "credit": round(2e6 + h % 9e4, 2)}),
    "agg_dept": _agg(lambda p, i, h: {"department": DEPARTMENTS[i % 7],
                                      "headcount": 60 + h % 140,
                                      "avg_salary": round(15000 + h % 9000 + 0.33, 2)}),
}


def _rand(lo: int, hi: int) -> Callable[[_Params], int]:
    return lambda p: p.run.rng.randint(lo, hi)


def _choice(options: tuple) -> Callable[[_Params], Any]:
    return lambda p: p.run.rng.choice(options)


def _any_person(p: _Params) -> dict:
    return p.run.rng.choice(p.run.sim._zh)


#: name -> value(p). ``_``-prefixed names are entities whose fields other parameters read.
PARAMS: dict[str, Callable[[_Params], Any]] = {
    "_cust": _any_customer,
    "_ocust": lambda p: _overseas(p.run.sim, p["ocid"]),
    "_acct": lambda p: _account(p.run.sim, p["aid"], p.run.now),
    "_new": _any_person,
    "cid": lambda p: p["_cust"]["id"],
    "cust_mobile": lambda p: p["_cust"]["mobile"],
    "ocid": _rand(*OVERSEAS_IDS),
    "ocust_email": lambda p: _sq(p["_ocust"]["email"]),
    "eid": _rand(*EMPLOYEE_IDS),
    "aid": _rand(*ACCOUNT_IDS),
    "acct_holder": lambda p: _sq(p["_acct"]["holder_name"]),
    "acct_card": lambda p: p["_acct"]["bank_card"],
    "oid": _rand(*ORDER_IDS),
    "new_oid": _rand(ORDER_IDS[1], ORDER_IDS[1] + 500_000),
    "pid": _rand(*PAYMENT_IDS),
    "tid": _rand(*TICKET_IDS),
    "prod": _rand(1, 480),
    "prod2": _rand(1, 480),
    "prod3": _rand(1, 480),
    "qty": _rand(1, 5),
    "price": lambda p: f"{p.run.rng.randint(990, 899900) / 100:.2f}",
    "amount": lambda p: f"{p.run.rng.lognormvariate(5.5, 1.2) + 1:.2f}",
    "salary": lambda p: p.run.rng.randint(80, 600) * 100,
    "status": _choice(ORDER_STATUSES),
    "limit": _choice((10, 20, 20, 50, 100)),
    "offset": lambda p: p["limit"] * p.run.rng.randint(0, 20),
    "page": _rand(1, 30),
    "days": _choice((7, 14, 30, 30, 90)),
    "k": _rand(3, 10),
    "date": lambda p: _day(p.run.now, p.run.rng.randint(1, 60)),
    "month": lambda p: _day(p.run.now, 30 * p.run.rng.randint(1, 12))[:7],
    "city": lambda p: _any_person(p)["city"],
    "dept": _choice(DEPARTMENTS),
    "title": _choice(TITLES),
    "subject": _choice(TICKET_SUBJECTS),
    "note": _choice(NOTES),
    "me": lambda p: p.actor.name,
    "tax_no": lambda p: _uscc(p.run.rng),
    "table": lambda p: p.run.rng.choice(p.inst.tables),
    "new_name": lambda p: _sq(p["_new"]["name"]),
    "new_id_card": lambda p: p["_new"]["id_card"],
    "new_mobile": lambda p: _any_person(p)["mobile"],
    "new_email": lambda p: _sq(p["_new"]["email"]),
    "new_address": lambda p: _sq(_any_person(p)["address"]),
    "new_city": lambda p: p["_new"]["city"],
    "new_card": lambda p: p["_new"]["bank_card"],
    "any_service": _choice(tuple(API_SERVICES)),
}


def _sample(p: _Params, src: str, cols: tuple[str, ...], n: int) -> list[dict]:
    """At most :data:`SAMPLE_ROWS` rows of ``src``, projected on ``cols``."""
    make = ROW_SOURCES[src]
    rows = []
    for i in range(min(SAMPLE_ROWS, n)):
        row = make(p, i)
        rows.append(row if cols[0] == "*" else {c: row[c] for c in cols})
    return rows


# ================================================================================================
# Actors and connections
# ================================================================================================


@dataclass(slots=True)
class _Actor:
    name: str
    role: str  # business role, "service" or "anonymous"
    kind: str  # human | service | anonymous
    roles: tuple[str, ...]
    profile: str  # HOUR_PROFILES key
    weight: float
    ips: tuple[str, ...]  # first: usual address; last: remote (VPN) address
    user_agent: str
    activities: _Picker


@dataclass(frozen=True, slots=True)
class _Conn:
    """What every DB event of one connection shares."""

    user: str
    roles: tuple[str, ...] | None
    ip: str
    client: str  # service.name
    inst: DbInstance
    session: str | None


def _activities(key: str) -> _Picker:
    spec = ACTIVITIES[key]
    return _Picker([a[1:] for a in spec], [a[0] for a in spec])


def _actors(company: Company, rng: random.Random) -> list[_Actor]:
    actors = [
        _Actor(e.username, e.role, "human", e.roles, "office", rng.uniform(0.5, 1.5),
               (e.ip, e.vpn_ip), e.user_agent, _activities(e.role))
        for e in company.employees
    ]
    for s in company.service_accounts:
        _, roles, profile, weight = SERVICE_ACCOUNTS[s.username]
        actors.append(_Actor(s.username, "service", "service", roles, profile, weight, s.ips,
                             SERVICE_UAS[s.username], _activities(s.username)))
    actors.append(_Actor("-", "anonymous", "anonymous", (), "always", ANONYMOUS_WEIGHT,
                         ANONYMOUS_IPS, PROBE_UA, _activities("-")))
    return actors


# ================================================================================================
# One generation run: all mutable state of one events() or malformed() call
# ================================================================================================


class _Run:
    def __init__(self, sim: Simulator, stream: str):
        self.sim = sim
        self.rng = random.Random(f"{sim.seed}:{stream}")
        self.now = sim._start_ms  # time of the event being built (relative dates in rows)
        self.heap: list[tuple[int, int, SimEvent]] = []  # scheduled events: (time, seq, event)
        self.seq = 0
        self.counter = 0  # events built (the event.id counter)
        self.sessions: dict[tuple[str, str, str], tuple[str, int]] = {}
        self.mysql_conn = 180_000 + self.rng.randint(0, 9999)
        self._sec = -1
        self._sec_text = ""

    # --- time ---------------------------------------------------------------------------------
    def rate(self, ms: int) -> float:
        return self.sim._rates[_weekend(ms)][_hour(ms)]

    def gap(self, ms: int) -> int:
        return max(1, int(self.rng.expovariate(self.rate(ms)) * 1000))

    def expected_events(self, t0: int, t1: int) -> float:
        total, t = 0.0, t0
        while t < t1:
            nxt = min(t1, (t // _MS_HOUR + 1) * _MS_HOUR)
            total += self.rate(t) * (nxt - t) / 1000
            t = nxt
        return total

    def timestamp(self, ms: int) -> str:
        sec = ms // 1000
        if sec != self._sec:
            self._sec, self._sec_text = sec, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))
        return f"{self._sec_text}.{ms % 1000:03d}Z"

    def push(self, t: int, ev: SimEvent) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (t, self.seq, ev))

    # --- event envelopes ----------------------------------------------------------------------
    def finish(self, kind: str, key: str, t: int, value: dict, label: str | None) -> SimEvent:
        """Timestamp (RFC 3339 or epoch ms), maybe an event.id, maybe dotted keys."""
        rng = self.rng
        self.counter += 1
        value["@timestamp"] = t if rng.random() < EPOCH_MS_SHARE else self.timestamp(t)
        if rng.random() < EVENT_ID_SHARE:
            eid = uuid.uuid5(_EVENT_NS, f"{self.sim.seed}:{self.counter}")
            value.setdefault("event", {})["id"] = str(eid)
        if rng.random() < DOTTED_SHARE:
            value = _flatten(value, "", {})
        return SimEvent(kind, key, value, label)

    def db_event(
        self,
        t: int,
        c: _Conn,
        statement: str | None = None,
        rows: int | None = None,
        ms: float | None = None,
        *,
        action: str = "query",
        outcome: str = "success",
        error: str | None = None,
        sample: list[dict] | None = None,
        label: str | None = None,
    ) -> SimEvent:
        db: dict[str, Any] = {"system": c.inst.system, "instance": c.inst.name, "name": c.inst.db}
        if statement is not None:
            db["statement"] = statement
        if rows is not None:
            db["rows"] = rows
        if ms is not None:
            db["duration_ms"] = ms
        if error is not None:
            db["error"] = error
        if sample:
            db["result_sample"] = sample
        value: dict[str, Any] = {"@timestamp": None}
        if action != "query" or outcome != "success" or self.rng.random() >= DEFAULTS_OMITTED_SHARE:
            value["event"] = {"action": action, "outcome": outcome}
        value["user"] = {"name": c.user, "roles": list(c.roles)} if c.roles else {"name": c.user}
        value["source"] = {"ip": c.ip}
        value["service"] = {"name": c.client}
        if c.session is not None:
            value["session"] = {"id": c.session}
        value["db"] = db
        return self.finish("db", c.user, t, value, label)

    def api_event(
        self,
        t: int,
        *,
        user: str | None,
        ip: str,
        ua: str,
        service: str,
        method: str,
        route: str,
        path: str,
        query: str | None,
        status: int,
        size: int,
        ms: float,
        sample: Any = None,
        label: str | None = None,
    ) -> SimEvent:
        response: dict[str, Any] = {"status_code": status, "bytes": size}
        if sample is not None:
            response["sample"] = sample
        value: dict[str, Any] = {
            "@timestamp": None,
            "event": {"outcome": "success" if status < 400 else "failure", "duration_ms": ms},
        }
        if user is not None:
            value["user"] = {"name": user}
        value["source"] = {"ip": ip}
        value["user_agent"] = {"original": ua}
        value["service"] = {"name": service}
        value["http"] = {"request": {"method": method}, "route": route, "response": response}
        value["url"] = {"path": path, "query": query} if query else {"path": path}
        return self.finish("api", user or "-", t, value, label)

    # --- sessions -----------------------------------------------------------------------------
    def new_session_id(self, inst: DbInstance, t: int) -> str:
        """PostgreSQL: ``<start epoch hex>.<pid hex>`` (as in log_line_prefix %c); MySQL: the
        connection id."""
        if inst.system == "mysql":
            self.mysql_conn += self.rng.randint(1, 40)
            return str(self.mysql_conn)
        return f"{t // 1000 - self.rng.randint(0, 5):x}.{self.rng.randint(1000, 65000):x}"

    def session(self, actor: _Actor, inst: DbInstance, client: str, t: int) -> tuple[str, bool]:
        """The actor's open session (or a new one: True)."""
        key = (actor.name, inst.name, client)
        cur = self.sessions.get(key)
        if cur is not None and cur[1] > t:
            return cur[0], False
        if actor.kind == "human":
            life = self.rng.randint(600_000, 5_400_000)
        else:
            life = self.rng.randint(3_600_000, 28_800_000)
        sid = self.new_session_id(inst, t)
        self.sessions[key] = (sid, t + life)
        return sid, True

    # --- benign traffic -----------------------------------------------------------------------
    def benign(self, t: int) -> list[tuple[int, SimEvent]]:
        """One activity at ``t``: usually one event; a login or a transaction gives several."""
        sim = self.sim
        actor = sim._actor_pickers[_weekend(t)][_hour(t)](self.rng)
        channel, client, inst_name, key = actor.activities(self.rng)
        if channel == "db":
            return self.db_activity(t, actor, client, sim._instances[inst_name], key)
        return [(t, self.api_activity(t, actor, key))]

    def db_activity(
        self, t: int, actor: _Actor, client: str, inst: DbInstance, key: str
    ) -> list[tuple[int, SimEvent]]:
        rng = self.rng
        if client in APPS:  # the application's server connects
            ip, service = rng.choice(APPS[client][0]), client
        else:  # a person with a tool, mostly from the office
            ip = actor.ips[0] if rng.random() < 0.85 else actor.ips[-1]
            service = TOOLS[client]
        sid, new = self.session(actor, inst, service, t)
        c = _Conn(actor.name, actor.roles, ip, service, inst, sid)
        out: list[tuple[int, SimEvent]] = []
        if new:
            if actor.kind == "human" and rng.random() < BENIGN_LOGIN_TYPO_SHARE:
                err = LOGIN_ERRORS[inst.system].format(user=actor.name, ip=ip)
                typo = _Conn(actor.name, None, ip, service, inst, None)
                ev = self.db_event(t, typo, action="login", outcome="failure", error=err)
                out.append((t, ev))
                t += rng.randint(3000, 15000)
            out.append((t, self.db_event(t, c, action="login")))
            t += rng.randint(5, 400)
        entry = self.sim._query_pickers[key](rng)
        p = _Params(self, actor, inst)
        if isinstance(entry, Query):
            out.append((t, self.query_event(t, c, entry, p)[0]))
            return out
        begin, commit, rollback = TXN_STATEMENTS[inst.system]
        out.append((t, self.db_event(t, c, begin, 0, 0.05)))
        failed = False
        for q in entry.queries:
            t += rng.randint(1, 25)
            ev, ok = self.query_event(t, c, q, p)
            failed = failed or not ok
            out.append((t, ev))
        t += rng.randint(1, 10)
        end = rollback if failed else commit
        out.append((t, self.db_event(t, c, end, 0, round(rng.uniform(0.1, 3), 3))))
        return out

    def query_event(self, t: int, c: _Conn, q: Query, p: _Params) -> tuple[SimEvent, bool]:
        """One statement; False when it failed."""
        rng = self.rng
        self.now = t
        sql = q.sql.format_map(p)
        lo, hi = q.rows
        rows = rng.randint(lo, p[hi] if isinstance(hi, str) else hi)
        ms = round(rng.uniform(*q.ms), 3)
        if rng.random() < BENIGN_DB_ERROR_SHARE:
            error = DB_ERRORS[c.inst.system][q.op]
            return self.db_event(t, c, sql, 0, ms, outcome="failure", error=error), False
        sample = None
        if q.src and rows and rng.random() < SAMPLE_SHARE:
            sample = _sample(p, q.src, q.cols, rows)
        return self.db_event(t, c, sql, rows, ms, sample=sample), True

    def api_activity(self, t: int, actor: _Actor, key: str) -> SimEvent:
        rng = self.rng
        self.now = t
        route = self.sim._route_pickers[key](rng)
        p = _Params(self, actor, None)
        path = route.path.format_map(p)
        query = quote(route.query.format_map(p), safe="=&") if route.query else None
        service = route.service.format_map(p) if route.service[0] == "{" else route.service
        status = self.status(route)
        if actor.kind == "anonymous":
            user = None if rng.random() < 0.2 else "-"
            ip = rng.choice(actor.ips)
        else:
            user = "-" if status == 401 else actor.name
            ip = actor.ips[0] if actor.kind == "human" else rng.choice(actor.ips)
        sample = None
        if status >= 400:
            size = rng.randint(40, 260)
        else:
            size = rng.randint(*route.size)
            if route.src and route.method == "GET" and rng.random() < API_SAMPLE_SHARE:
                rows = _sample(p, route.src, route.cols, SAMPLE_ROWS if route.many else 1)
                sample = rows if route.many else rows[0]
        ms = round(route.ms * rng.lognormvariate(0, 0.5) * (8.0 if status >= 500 else 1.0), 3)
        return self.api_event(
            t, user=user, ip=ip, ua=actor.user_agent, service=service, method=route.method,
            route=route.route, path=path, query=query, status=status, size=size, ms=ms,
            sample=sample,
        )

    def status(self, route: Route) -> int:
        rng = self.rng
        if route.statuses:
            return _pick_status(rng, route.statuses)
        if rng.random() >= API_ERROR_SHARE:
            return OK_STATUS[route.method]
        return _pick_status(rng, API_ERRORS["read" if route.method == "GET" else "write"])


# ================================================================================================
# Attack episodes: each returns [(time, event)] from t on, every event labelled
# ================================================================================================

Episode = list[tuple[int, SimEvent]]


def _attacker_ip(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return f"10.66.{rng.randint(0, 255)}.{rng.randint(2, 254)}"  # an unknown internal host
    return f"192.168.{rng.randint(150, 199)}.{rng.randint(2, 254)}"


def _humans(run: _Run, *roles: str) -> list[_Actor]:
    return [a for a in run.sim._actors if a.kind == "human" and a.role in roles]


def _actor(run: _Run, name: str) -> _Actor:
    return next(a for a in run.sim._actors if a.name == name)


def _tool(inst: DbInstance) -> str:
    return TOOLS["mysql" if inst.system == "mysql" else "psql"]


def _ep_bulk_export(run: _Run, t: int) -> Episode:
    """An analyst connects over the VPN at night and dumps the customer tables."""
    label, rng = "bulk_export", run.rng
    actor = rng.choice(_humans(run, "analyst"))
    inst = run.sim._instances["pg-crm-01"]
    client = TOOLS[rng.choice(("psql", "dbeaver"))]
    c = _Conn(actor.name, actor.roles, actor.ips[-1], client, inst, run.new_session_id(inst, t))
    run.sessions[(actor.name, inst.name, client)] = (c.session, t + 3 * _MS_HOUR)
    out = [(t, run.db_event(t, c, action="login", label=label))]
    p = _Params(run, actor, inst)
    for sql, src, cols, total in rng.sample(BULK_EXPORT_STATEMENTS, rng.randint(2, 3)):
        t += rng.randint(20_000, 240_000)
        run.now = t
        rows = total - rng.randint(0, 50)
        ms = round(rows * rng.uniform(0.02, 0.06), 3)
        sample = _sample(p, src, cols, rows)
        out.append((t, run.db_event(t, c, sql, rows, ms, sample=sample, label=label)))
    return out


def _ep_sqli(run: _Run, t: int) -> Episode:
    """sqlmap against customer-api's search; each probe reaches the DB through crm-web."""
    label, rng = "sqli", run.rng
    svc = _actor(run, "svc_crm")
    inst = run.sim._instances["pg-crm-01"]
    sid, _ = run.session(svc, inst, "crm-web", t)
    c = _Conn(svc.name, svc.roles, svc.ips[0], "crm-web", inst, sid)
    attacker = _attacker_ip(rng)
    out = []
    probes = list(SQLI_PROBES)
    rng.shuffle(probes)
    for sql, rows, (lo, hi), error, api_query in probes[: rng.randint(5, len(probes))]:
        n = rng.randint(*CUSTOMER_IDS)
        ms = round(rng.uniform(lo, hi), 3)
        size = rng.randint(60, 200) if error else rng.randint(300, 90000)
        out.append((t, run.api_event(
            t, user="-", ip=attacker, ua=SQLMAP_UA, service="customer-api", method="GET",
            route="/customers/search", path="/customers/search", query=api_query.format(n=n),
            status=500 if error else 200, size=size, ms=round(ms + rng.uniform(2, 20), 3),
            label=label,
        )))
        t += rng.randint(1, 5)
        stmt = sql.format(n=n)
        if error:
            ev = run.db_event(t, c, stmt, 0, ms, outcome="failure", error=error, label=label)
        else:
            run.now = t
            sample = None
            if rows > 50:  # the tautologies return the table
                p = _Params(run, svc, inst)
                sample = _sample(p, "customer", ("id", "name", "mobile", "email"), rows)
            ev = run.db_event(t, c, stmt, rows, ms, sample=sample, label=label)
        out.append((t, ev))
        t += int(ms) + rng.randint(400, 3000)
    return out


def _ep_destructive_ddl(run: _Run, t: int) -> Episode:
    """Someone who is not a DBA counts a production table, then truncates or drops it."""
    label, rng = "destructive_ddl", run.rng
    actor = rng.choice(_humans(run, "developer", "analyst", "support"))
    inst = run.sim._instances[rng.choice(tuple(DESTRUCTIVE_TABLES))]
    c = _Conn(actor.name, actor.roles, actor.ips[0], _tool(inst), inst,
              run.new_session_id(inst, t))
    table = rng.choice(DESTRUCTIVE_TABLES[inst.name])
    out = [(t, run.db_event(t, c, action="login", label=label))]
    t += rng.randint(2000, 30000)
    ms = round(rng.uniform(20, 400), 3)
    out.append((t, run.db_event(t, c, f"SELECT count(*) FROM {table}", 1, ms, label=label)))
    for stmt in rng.sample(DESTRUCTIVE[inst.system], rng.randint(1, 2)):
        t += rng.randint(1000, 20000)
        ms = round(rng.uniform(5, 900), 3)
        out.append((t, run.db_event(t, c, stmt.format(table=table), 0, ms, label=label)))
    return out


def _ep_brute_force(run: _Run, t: int) -> Episode:
    """Failed logins from an unknown host against one account (or sprayed over several);
    sometimes the last guess works."""
    label, rng = "brute_force", run.rng
    inst = run.sim._instances[rng.choice(tuple(DB_INSTANCES))]
    ip, client = _attacker_ip(rng), _tool(inst)
    dba = rng.choice(_humans(run, "dba")).name
    admin = "root" if inst.system == "mysql" else "postgres"
    if rng.random() < 0.3:
        developers = [a.name for a in _humans(run, "developer")]
        targets = [admin, "admin", dba, *rng.sample(developers, 3)]
    else:
        targets = [rng.choice((admin, dba, "admin", "svc_etl"))]
    out = []
    for i in range(rng.randint(12, 30)):
        user = targets[i % len(targets)]
        err = LOGIN_ERRORS[inst.system].format(user=user, ip=ip)
        c = _Conn(user, None, ip, client, inst, None)
        out.append((t, run.db_event(t, c, action="login", outcome="failure", error=err,
                                    label=label)))
        t += rng.randint(200, 2500)
    if rng.random() < 0.4:
        c = _Conn(targets[-1], None, ip, client, inst, run.new_session_id(inst, t))
        out.append((t, run.db_event(t, c, action="login", label=label)))
        t += rng.randint(500, 5000)
        out.append((t, run.db_event(t, c, "SELECT current_user, version()", 1, 0.4, label=label)))
    return out


def _ep_api_enumeration(run: _Run, t: int) -> Episode:
    """A script walks sequential ids (with a stolen token or none) and collects the records."""
    label, rng, sim = "api_enumeration", run.rng, run.sim
    if rng.random() < 0.5:
        actor = rng.choice(_humans(run, "support", "sales"))
        user, ua, ip = actor.name, "python-requests/2.31.0", actor.ips[-1]
    else:
        user, ua, ip = "-", "curl/8.5.0", _attacker_ip(rng)
    if rng.random() < 0.7:
        service, route, first = "customer-api", "/customers/{id}", rng.randint(*CUSTOMER_IDS)
        cols: tuple[str, ...] = (*_CUST_API, "id_card")
    else:
        service, route, first = "hr-api", "/employees/{id}", rng.randint(*EMPLOYEE_IDS)
        cols = ("id", "name", "id_card", "mobile", "bank_card")
    prefix = route.split("{", 1)[0]
    out = []
    for i in range(rng.randint(30, 80)):
        ident = first + i
        status = 200 if rng.random() < 0.85 else 404
        sample = None
        if status == 200 and rng.random() < 0.8:
            if service == "customer-api":
                row = _customer(sim, ident, t)
            else:
                row = _employee(sim, ident, t)
            sample = {k: row[k] for k in cols}
        out.append((t, run.api_event(
            t, user=user, ip=ip, ua=ua, service=service, method="GET", route=route,
            path=f"{prefix}{ident}", query=None, status=status,
            size=rng.randint(400, 1400) if status == 200 else 80,
            ms=round(rng.uniform(8, 60), 3), sample=sample, label=label,
        )))
        t += rng.randint(50, 400)
    return out


def _ep_audit_tampering(run: _Run, t: int) -> Episode:
    """Audit logging switched off, sensitive data read in the dark."""
    label, rng = "audit_tampering", run.rng
    actor = rng.choice(_humans(run, "developer", "dba"))
    inst = run.sim._instances[rng.choice(("pg-crm-01", "pg-crm-01", "pg-fin-01", "mysql-hr-01"))]
    c = _Conn(actor.name, actor.roles, actor.ips[0], _tool(inst), inst,
              run.new_session_id(inst, t))
    out = [(t, run.db_event(t, c, action="login", label=label))]
    for stmt, rows in TAMPERING[inst.name]:
        t += rng.randint(3000, 60000)
        ms = round(rng.uniform(0.2, 40 if rows > 100 else 2), 3)
        out.append((t, run.db_event(t, c, stmt, rows, ms, label=label)))
    return out


EPISODES: dict[str, Callable[[_Run, int], Episode]] = {
    "bulk_export": _ep_bulk_export,
    "sqli": _ep_sqli,
    "destructive_ddl": _ep_destructive_ddl,
    "brute_force": _ep_brute_force,
    "api_enumeration": _ep_api_enumeration,
    "audit_tampering": _ep_audit_tampering,
}

# ================================================================================================
# Malformed messages
# ================================================================================================

#: Required fields removed for ``missing_field`` (user.name is optional on API events).
MISSING = {
    "db": ("user.name", "@timestamp", "db.statement"),
    "api": ("service.name", "url.path", "http.request.method", "http.response.status_code",
            "@timestamp"),
}
#: (field, wrong value) for ``invalid_field``.
INVALID = {
    "db": (("db.rows", "many"), ("@timestamp", "yesterday"), ("db.duration_ms", "slow"),
           ("@timestamp", "2026-13-45T25:61:00Z")),
    "api": (("http.response.status_code", "OK"), ("@timestamp", "yesterday")),
}
_BAD_UTF8_MARK = "@@invalid-utf8@@"


def _drop(value: dict, path: str) -> None:
    """Remove a field given in dotted or nested form."""
    if path in value:
        del value[path]
        return
    node, parts = value, path.split(".")
    for part in parts[:-1]:
        node = node.get(part)
        if not isinstance(node, dict):
            return
    node.pop(parts[-1], None)


def _set(value: dict, path: str, v: Any) -> None:
    """Set a field in the form the event already uses (nested when its parent object exists)."""
    if path in value or "." not in path or path.split(".", 1)[0] not in value:
        value[path] = v
        return
    node = value
    *parents, leaf = path.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = v


def _base_event(run: _Run, kind: str) -> SimEvent:
    """A valid benign event of ``kind`` (for db: a query by a named user)."""
    while True:
        run.now += run.gap(run.now)
        for _, ev in run.benign(run.now):
            if ev.kind != kind:
                continue
            flat = _flatten(ev.value, "", {})
            if kind == "db" and not ("db.statement" in flat and "db.rows" in flat):
                continue
            return ev


def _malformed_one(run: _Run, reason: str, i: int) -> Malformed:
    """The i-th malformed message: one defect (``reason``) in an otherwise valid event."""
    rng = run.rng
    cycle = i // len(MALFORMED_REASONS)
    kind = ("db", "api")[(i + cycle) % 2]  # each reason alternates between the two kinds
    variant = cycle // 2  # the n-th message of this reason and kind
    ev = _base_event(run, kind)
    value, key = ev.value, ev.key
    if reason == "invalid_json":  # truncated, cut at a character boundary (still valid UTF-8)
        raw = _dumps(value)
        raw = raw[: rng.randint(len(raw) // 3, len(raw) - 2)].decode("utf-8", "ignore").encode()
    elif reason == "invalid_utf8":
        _set(value, "user.name", key + _BAD_UTF8_MARK)
        raw = _dumps(value).replace(_BAD_UTF8_MARK.encode(), b"\xc3\x28\xff")
    elif reason == "not_an_object":
        if variant % 3:
            raw = _dumps([value, _base_event(run, kind).value])  # a batch sent as one message
        else:
            raw = _dumps(json.dumps(value))  # double-encoded: a JSON string
    elif reason == "missing_field":
        path = MISSING[kind][variant % len(MISSING[kind])]
        _drop(value, path)
        key = "" if path == "user.name" else key
        raw = _dumps(value)
    elif reason == "invalid_field":
        path, bad = INVALID[kind][variant % len(INVALID[kind])]
        _set(value, path, bad)
        raw = _dumps(value)
    else:  # too_large: a huge IN list, or a response sample with thousands of rows
        if kind == "db":
            ids = ",".join(str(CUSTOMER_IDS[0] + j) for j in range(MAX_MESSAGE_BYTES // 6 + 1000))
            _set(value, "db.statement", f"SELECT id, name FROM customers WHERE id IN ({ids})")
        else:
            count = MAX_MESSAGE_BYTES // 150
            rows = [_customer(run.sim, CUSTOMER_IDS[0] + j, run.now) for j in range(count)]
            _set(value, "http.response.sample", rows)
        raw = _dumps(value)
    return Malformed(kind, key, raw, reason)


# ================================================================================================
# The simulator
# ================================================================================================


class Simulator:
    """Deterministic traffic for one seed. ``events(n)`` and ``malformed(n)`` each start afresh:
    calling them again gives the same sequence.

    >>> sim = Simulator(seed=3, attacks=False)
    >>> [e.label for e in sim.events(5)]
    [None, None, None, None, None]
    >>> len(sim.company.employees)
    40
    """

    def __init__(self, seed: int = 7, start: datetime | None = None, attacks: bool = True):
        self.seed = seed
        self.attacks = attacks
        start = start or DEFAULT_START
        if start.tzinfo is None:
            start = start.replace(tzinfo=UTC)
        self.start = start.astimezone(UTC)
        self._start_ms = int(self.start.timestamp() * 1000)

        rng = random.Random(f"{seed}:model")
        zh, en = Faker("zh_CN"), Faker("en_US")
        zh.seed_instance(seed)
        en.seed_instance(seed)
        self._company = _build_company(zh, en, rng)
        self._zh = _zh_people(zh, rng, POOL_SIZE)
        self._en = _en_people(en, POOL_SIZE)
        self._instances = {i.name: i for i in self._company.db_instances}
        self._actors = _actors(self._company, rng)
        self._query_pickers = {
            k: _Picker(list(v), [e.w for e in v]) for k, v in QUERY_SETS.items()
        }
        self._route_pickers = {
            k: _Picker([ROUTES[r] for r in v], [ROUTES[r].w for r in v])
            for k, v in ROUTE_SETS.items()
        }
        # Per (weekend, hour): who acts, and the total event rate.
        self._actor_pickers: list[list[_Picker]] = []
        self._rates: list[list[float]] = []
        for weekend in (False, True):
            pickers, rates = [], []
            for hour in range(24):
                weights = []
                for a in self._actors:
                    curve, weekend_factor = HOUR_PROFILES[a.profile]
                    weights.append(a.weight * curve[hour] * (weekend_factor if weekend else 1.0))
                pickers.append(_Picker(self._actors, weights))
                rates.append(sum(weights) * EVENTS_PER_WEIGHT_S)
            self._actor_pickers.append(pickers)
            self._rates.append(rates)

    @property
    def company(self) -> Company:
        return self._company

    # --- events -------------------------------------------------------------------------------
    def events(self, n: int) -> Iterator[SimEvent]:
        """``n`` events in event-time order: benign traffic, plus labelled attack episodes
        interleaved when ``attacks``."""
        run = _Run(self, "events")
        plan = self._plan(random.Random(f"{self.seed}:plan:{n}"), n)
        next_t = run.now  # time of the next benign activity
        emitted = 0
        while emitted < n:
            while plan and plan[-1][0] <= emitted:
                next_t = self._start_episode(run, plan.pop()[1], next_t, n - emitted)
            if run.heap and run.heap[0][0] <= next_t:
                yield heapq.heappop(run.heap)[2]
            else:
                batch = run.benign(next_t)
                yield batch[0][1]
                for t, ev in batch[1:]:
                    run.push(t, ev)
                next_t += run.gap(next_t)
            emitted += 1

    def _plan(self, rng: random.Random, n: int) -> list[tuple[int, str]]:
        """Attack episodes as (event index, kind), latest first (popped from the end)."""
        if not self.attacks:
            return []
        count = round(n * EPISODES_PER_EVENT)
        if n >= 2000:
            count = max(count, len(ATTACK_KINDS))
        kinds: list[str] = []
        while len(kinds) < count:  # every kind once before any repeats
            block = list(ATTACK_KINDS)
            rng.shuffle(block)
            kinds.extend(block)
        positions = sorted(rng.randint(n // 20, n * 17 // 20) for _ in range(count))
        return list(reversed(list(zip(positions, kinds[:count], strict=True))))

    def _start_episode(self, run: _Run, kind: str, t: int, remaining: int) -> int:
        """Schedule one episode at ``t`` (a bulk export waits for the night); returns the benign
        clock, moved forward when the stream would otherwise end before the night comes."""
        start = t
        if kind == "bulk_export" and _hour(t) not in NIGHT_HOURS:
            midnight = (t // _MS_DAY + 1) * _MS_DAY
            start = midnight + _MS_HOUR + int(run.rng.uniform(0, 2.5) * _MS_HOUR)
            if run.expected_events(t, start) > remaining * 0.5:
                t = start  # skip the quiet evening
        for ev_t, ev in EPISODES[kind](run, start):
            run.push(ev_t, ev)
        return t

    # --- malformed ----------------------------------------------------------------------------
    def malformed(self, n: int) -> Iterator[Malformed]:
        """``n`` messages for the dead-letter path, cycling through :data:`MALFORMED_REASONS`."""
        run = _Run(self, "malformed")
        for i in range(n):
            yield _malformed_one(run, MALFORMED_REASONS[i % len(MALFORMED_REASONS)], i)


def _main() -> None:  # pragma: no cover - python -m connectors.sources.simulator [n]
    import sys

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    for ev in Simulator().events(n):
        record = {"kind": ev.kind, "key": ev.key, "label": ev.label, "value": ev.value}
        print(json.dumps(record, ensure_ascii=False))


if __name__ == "__main__":  # pragma: no cover
    _main()
