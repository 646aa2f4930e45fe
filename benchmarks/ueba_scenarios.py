"""Labelled behaviour scenarios for UEBA: weeks of a small company's data access, with insider attacks.

    events, labels = generate(seed=1, days=14, users=50)

``events`` are *raw* contract events (CONTRACT.md inputs: DB audit and API access, nested keys,
RFC 3339 ``@timestamp``), in delivery order: sorted by time with up to 2 s of jitter, and about
0.1% delivered 5–30 min late (a tailer catching up). ``labels`` are
``{"scenario", "entity" (user name), "start", "end"}`` of each injected behaviour. The same seed
gives the same output. ~150k events for 14 days × 50 users at ``scale=1`` (``scale`` multiplies
the activity rates, not the population).

The company (UTC clock)
    Employees with Faker zh_CN / en_US names and one role each — analyst, support, developer,
    finance, hr, dba — work weekdays roughly 08:30–18:00 in sessions (login, statements seconds
    to minutes apart), rarely at weekends, from their own workstation address (on ~6% of days
    through a VPN address of their own), with their role's tools and SQL (rows, tables, columns
    as the role would touch them); support also works through the CRM API. Some benign oddities
    on purpose: on-call DBAs at night, developers' occasional DDL and failing queries, failed
    logins, analysts' occasional large (but not sensitive-heavy) reports, three new joiners
    appearing between days 4 and 9, and one account that goes dormant after day 2.
    Service accounts: ``svc_crm_app`` (the CRM back end, all day), ``etl_nightly`` and
    ``etl_finance`` (night-time bulk reads, including card numbers), ``app_reporting`` (hourly
    aggregates), ``svc_hr_sync`` (a 06:00 job) and ``app_mobile`` (an API client); anonymous
    shop traffic on ``shop-api``.
    Databases: ``pg-crm-01``/crm (customers: name, phone, id_card, email, address; orders;
    products; tickets), ``pg-fin-01``/finance (accounts: card_no, balance; transactions),
    ``mysql-hr-01``/hr (employees: name, id_card, phone, salary; payroll; attendance).

Injected behaviours (:data:`SCENARIOS`, each once per seed, after day 7, distinct victims)
    ``bulk_exfiltration`` 6–12 × ``LIMIT 10000`` of customers' identity columns in minutes;
    ``slow_drip`` 50-row slices of identity data every 3–8 minutes for hours;
    ``new_address_night`` the account used at night from an address and tool it never used;
    ``dormant_reactivation`` the dormant account returns and reads sensitive data;
    ``service_account_interactive`` ``svc_crm_app`` from a workstation with DBeaver, ad-hoc SQL;
    ``api_enumeration`` sequential ``/customers/{id}`` with a script's user agent, some 404s;
    ``privilege_abuse`` GRANT / ALTER USER / CREATE USER / DDL by a non-DBA.

>>> ev, lab = generate(3, days=9, users=20, scale=0.1)
>>> sorted({l["scenario"] for l in lab}) == sorted(SCENARIOS), ev[:3] == generate(3, days=9, users=20, scale=0.1)[0][:3]
(True, True)
"""

from __future__ import annotations

import argparse
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from time import gmtime, strftime

from faker import Faker

__all__ = ["DEFAULT_START", "SCENARIOS", "Person", "generate"]

DEFAULT_START = "2026-11-02T00:00:00.000Z"      # a Monday
SCENARIOS = ("bulk_exfiltration", "slow_drip", "new_address_night", "dormant_reactivation",
             "service_account_interactive", "api_enumeration", "privilege_abuse")

DBS = {
    "crm": ("postgresql", "pg-crm-01", "crm"),
    "fin": ("postgresql", "pg-fin-01", "finance"),
    "hr": ("mysql", "mysql-hr-01", "hr"),
}
ROLE_SHARE = (("analyst", 0.25), ("support", 0.22), ("developer", 0.18), ("finance", 0.13),
              ("hr", 0.09), ("dba", 0.07))
ROLE_APPS = {
    "analyst": ("metabase", "dbeaver"), "support": ("crm-console",),
    "developer": ("psql", "dbeaver", "datagrip"), "finance": ("finance-portal",),
    "hr": ("hr-portal",), "dba": ("psql", "pgadmin"),
}
ROLE_SUBNET = {"analyst": 11, "support": 12, "developer": 13, "finance": 14, "hr": 15, "dba": 16}
#: (sessions per workday, statements per session) ranges, before ``scale``.
ROLE_ACTIVITY = {
    "analyst": ((4, 8), (15, 50)), "support": ((5, 9), (15, 40)), "developer": ((3, 6), (15, 45)),
    "finance": ((3, 6), (15, 40)), "hr": ((2, 5), (10, 30)), "dba": ((3, 5), (15, 35)),
}
REGIONS = ("north", "south", "east", "west", "central")
CATEGORIES = ("books", "electronics", "garden", "toys", "food")
DEPTS = ("sales", "it", "finance", "hr", "ops", "support")
BROWSERS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36",
)


def _iso(t: float) -> str:
    ms = round(t * 1000)
    return f"{strftime('%Y-%m-%dT%H:%M:%S', gmtime(ms // 1000))}.{ms % 1000:03d}Z"


def _day(t: float) -> str:
    return strftime("%Y-%m-%d", gmtime(t))


@dataclass
class Person:
    name: str
    role: str
    ip: str
    alt_ip: str
    apps: tuple[str, ...]
    ua: str
    start_day: int = 0
    last_day: int = 10_000
    activity: float = 1.0
    begin_h: float = 8.5
    end_h: float = 18.0
    oncall_days: set[int] = field(default_factory=set)

    @property
    def roles(self) -> list[str]:
        return [self.role]


class _Gen:
    def __init__(self, seed: int, days: int, users: int, start: str, scale: float):
        self.rng = random.Random(seed)
        self.seed = seed
        self.days = days
        self.scale = scale
        self.t0 = datetime.fromisoformat(start).timestamp()
        self.events: list[tuple[float, dict]] = []
        self.labels: list[dict] = []
        self._session = 0
        self.people = self._population(max(users - 6, 8))
        self.humans = list(self.people)

    # -- population ----------------------------------------------------------------------------
    def _population(self, n: int) -> list[Person]:
        rng = self.rng
        zh, en = Faker("zh_CN"), Faker("en_US")
        zh.seed_instance(self.seed)
        en.seed_instance(self.seed + 1)
        roles: list[str] = []
        for role, share in ROLE_SHARE:
            roles += [role] * max(2, round(share * n))
        while len(roles) > n:
            roles.remove(max(sorted(set(roles)), key=roles.count))   # sorted: no hash order
        rng.shuffle(roles)
        people, names = [], set()
        for i, role in enumerate(roles):
            while True:
                if rng.random() < 0.6:
                    name = f"{zh.last_romanized_name()}.{zh.first_romanized_name()}".lower()
                else:
                    name = f"{en.first_name()}.{en.last_name()}".lower()
                if name not in names:
                    names.add(name)
                    break
            p = Person(
                name=name, role=role,
                ip=f"10.{ROLE_SUBNET[role]}.{i // 200}.{10 + i % 200}",
                alt_ip=f"10.8.{rng.randrange(256)}.{rng.randrange(2, 250)}",
                apps=tuple(rng.sample(ROLE_APPS[role], k=min(2, len(ROLE_APPS[role])))),
                ua=rng.choice(BROWSERS),
                activity=rng.lognormvariate(0, 0.3),
                begin_h=rng.gauss(8.5, 0.5), end_h=rng.gauss(17.8, 0.6),
            )
            if role == "dba":
                p.oncall_days = set(rng.sample(range(self.days), k=min(self.days, rng.randint(1, 2))))
            people.append(p)
        # three new joiners (not DBAs), one dormant account (analyst or hr)
        candidates = [p for p in people if p.role != "dba"]
        for p in rng.sample(candidates, k=3):
            p.start_day = rng.randint(4, min(9, self.days - 1))
        dormant = [p for p in candidates if p.start_day == 0 and p.role in ("analyst", "hr")]
        self.dormant = rng.choice(dormant)
        self.dormant.last_day = 2
        return people

    # -- event builders ------------------------------------------------------------------------
    def db(self, t: float, user: str, roles: list[str], ip: str, app: str, session: str,
           dbkey: str, sql: str | None, rows: int | None, outcome: str = "success",
           error: str | None = None, action: str = "query") -> None:
        system, instance, dbname = DBS[dbkey]
        ev = {
            "@timestamp": _iso(t), "user": {"name": user, "roles": roles}, "source": {"ip": ip},
            "service": {"name": app}, "session": {"id": session},
            "db": {"system": system, "instance": instance, "name": dbname},
            "event": {"outcome": outcome, "action": action},
        }
        if sql is not None:
            ev["db"]["statement"] = sql
        if rows is not None and outcome == "success" and action == "query":
            ev["db"]["rows"] = rows
        if error:
            ev["db"]["error"] = error
        self.events.append((t, ev))

    def api(self, t: float, user: str, ip: str, ua: str, service: str, method: str, path: str,
            route: str, status: int, nbytes: int) -> None:
        self.events.append((t, {
            "@timestamp": _iso(t), "user": {"name": user}, "source": {"ip": ip},
            "user_agent": {"original": ua}, "service": {"name": service},
            "http": {"request": {"method": method}, "route": route,
                     "response": {"status_code": status, "bytes": nbytes}},
            "url": {"path": path},
            "event": {"outcome": "success" if status < 400 else "failure", "action": "request"},
        }))

    def session_id(self) -> str:
        self._session += 1
        return f"s{self.seed}-{self._session}"

    # -- role behaviour ------------------------------------------------------------------------
    def statement(self, role: str, t: float) -> tuple[str, str, int | None, str | None]:
        """(db, sql, rows, error) of one statement a person of ``role`` runs."""
        r = self.rng
        cid, oid = r.randint(1, 200_000), r.randint(1, 1_000_000)
        date = _day(t - 86400 * r.randint(1, 30))
        if role == "analyst":
            k = r.random()
            if k < 0.2:
                return "crm", "SELECT region, count(*) AS n FROM customers GROUP BY region", 5, None
            if k < 0.4:
                return ("crm", (f"SELECT date_trunc('day', created_at) AS d, sum(amount) FROM orders "
                        f"WHERE created_at >= '{date}' GROUP BY d ORDER BY d"), r.randint(7, 60), None)
            if k < 0.55:
                return ("crm", ("SELECT p.category, sum(o.amount) FROM orders o JOIN products p ON "
                        "p.id = o.product_id GROUP BY p.category"), 5, None)
            if k < 0.65:
                return ("crm", (f"SELECT id, name, email FROM customers WHERE region = "
                        f"'{r.choice(REGIONS)}' LIMIT 100"), r.randint(20, 100), None)
            if k < 0.8:
                return ("crm", f"SELECT id, status, amount FROM orders WHERE customer_id = {cid}",
                        r.randint(0, 15), None)
            if k < 0.9:
                return ("crm", (f"SELECT count(*) FROM tickets WHERE status = 'open' AND created_at >= "
                        f"'{date}'"), 1, None)
            if k < 0.98:
                return ("fin", ("SELECT date_trunc('month', ts) AS m, sum(amount) FROM transactions "
                        "GROUP BY m ORDER BY m"), 12, None)
            # an occasional big report: many rows, little sensitive data
            return ("crm", (f"SELECT o.id, o.amount, o.status, p.category FROM orders o JOIN products p "
                    f"ON p.id = o.product_id WHERE o.created_at >= '{date}'"), r.randint(500, 4000), None)
        if role == "support":
            k = r.random()
            if k < 0.35:
                return "crm", f"SELECT id, name, phone FROM customers WHERE id = {cid}", 1, None
            if k < 0.6:
                return "crm", f"SELECT id, status, note FROM tickets WHERE customer_id = {cid}", r.randint(0, 5), None
            if k < 0.75:
                return "crm", f"UPDATE tickets SET status = 'closed' WHERE id = {oid}", 1, None
            if k < 0.95:
                return ("crm", (f"SELECT id, status, amount FROM orders WHERE customer_id = {cid} "
                        "ORDER BY created_at DESC LIMIT 20"), r.randint(0, 20), None)
            return ("crm", (f"INSERT INTO tickets (customer_id, status, note) VALUES ({cid}, 'open', "
                    "'callback requested')"), 1, None)
        if role == "developer":
            k = r.random()
            if k < 0.3:
                return "crm", f"SELECT * FROM orders WHERE id = {oid}", 1, None
            if k < 0.45:
                return "crm", f"EXPLAIN ANALYZE SELECT * FROM orders WHERE customer_id = {cid}", 6, None
            if k < 0.6:
                return "crm", f"SELECT count(*) FROM products WHERE category = '{r.choice(CATEGORIES)}'", 1, None
            if k < 0.7:
                return ("crm", ("SELECT column_name, data_type FROM information_schema.columns WHERE "
                        "table_name = 'orders'"), 8, None)
            if k < 0.85:
                return "crm", f"SELECT id, name, price FROM products WHERE id = {r.randint(1, 5000)}", 1, None
            if k < 0.97:
                return ("crm", (f"UPDATE products SET price = {r.randint(5, 500)}.99 WHERE id = "
                        f"{r.randint(1, 5000)}"), 1, None)
            if k < 0.985:
                return ("crm", (f"CREATE INDEX IF NOT EXISTS idx_orders_status_{r.randint(1, 99)} ON "
                        "orders (status)"), 0, None)
            return "crm", f"SELECT * FROM order WHERE id = {oid}", None, 'relation "order" does not exist'
        if role == "finance":
            aid = r.randint(1, 300_000)
            k = r.random()
            if k < 0.3:
                return "fin", f"SELECT id, balance FROM accounts WHERE customer_id = {cid}", r.randint(1, 3), None
            if k < 0.55:
                return "fin", f"SELECT sum(amount) FROM transactions WHERE ts >= '{date}'", 1, None
            if k < 0.8:
                return ("fin", (f"SELECT account_id, amount, merchant FROM transactions WHERE account_id = "
                        f"{aid} ORDER BY ts DESC LIMIT 50"), r.randint(10, 50), None)
            if k < 0.92:
                return "fin", f"SELECT id, card_no, balance FROM accounts WHERE id = {aid}", 1, None
            return ("crm", (f"SELECT id, amount, status FROM orders WHERE created_at >= '{date}' AND "
                    "status = 'refunded'"), r.randint(5, 40), None)
        if role == "hr":
            eid = r.randint(1, 400)
            k = r.random()
            if k < 0.35:
                return "hr", f"SELECT id, name, dept FROM employees WHERE dept = '{r.choice(DEPTS)}'", r.randint(5, 40), None
            if k < 0.6:
                return ("hr", (f"SELECT emp_id, gross, net FROM payroll WHERE month = '{date[:7]}' AND "
                        f"emp_id = {eid}"), 1, None)
            if k < 0.75:
                return "hr", f"SELECT name, salary FROM employees WHERE id = {eid}", 1, None
            if k < 0.92:
                return ("hr", (f"UPDATE attendance SET hours = {r.randint(6, 10)} WHERE emp_id = {eid} AND "
                        f"day = '{date}'"), 1, None)
            return "hr", f"SELECT id, name, phone, id_card FROM employees WHERE id = {eid}", 1, None
        # dba
        k = r.random()
        if k < 0.3:
            return "crm", "SELECT pid, state, query FROM pg_stat_activity WHERE state <> 'idle'", r.randint(3, 30), None
        if k < 0.5:
            return ("crm", "SELECT relname, n_live_tup FROM pg_stat_user_tables ORDER BY n_live_tup DESC",
                    40, None)
        if k < 0.6:
            return "fin", "SELECT pid, state, query FROM pg_stat_activity WHERE state <> 'idle'", r.randint(3, 30), None
        if k < 0.7:
            return "hr", "SHOW PROCESSLIST", r.randint(5, 20), None
        if k < 0.76:
            return "crm", f"VACUUM ANALYZE {r.choice(('orders', 'tickets', 'customers'))}", 0, None
        if k < 0.84:
            who = r.choice(self.humans).name
            return "crm", f"GRANT SELECT ON {r.choice(('orders', 'products', 'tickets'))} TO \"{who}\"", 0, None
        if k < 0.9:
            return ("crm", (f"CREATE INDEX CONCURRENTLY idx_tickets_{r.randint(1, 99)} ON tickets "
                    "(created_at)"), 0, None)
        if k < 0.95:
            return "hr", "SELECT table_name, table_rows FROM information_schema.tables WHERE table_schema = 'hr'", 3, None
        return "fin", "ALTER TABLE transactions SET (autovacuum_vacuum_scale_factor = 0.05)", 0, None

    def session(self, p: Person, t: float, n: int, ip: str | None = None, app: str | None = None,
                gap: float = 25.0) -> float:
        """A login then ``n`` statements (support: half through the CRM API). Returns the end."""
        r = self.rng
        sid = self.session_id()
        ip = ip or p.ip
        app = app or r.choice(p.apps)
        dbkey = {"finance": "fin", "hr": "hr"}.get(p.role, "crm")
        if r.random() < 0.03:
            self.db(t, p.name, p.roles, ip, app, sid, dbkey, None, None, "failure",
                    "password authentication failed", action="login")
            t += r.uniform(5, 20)
        self.db(t, p.name, p.roles, ip, app, sid, dbkey, None, None, action="login")
        for _ in range(n):
            t += r.expovariate(1 / gap) + 1
            if p.role == "support" and r.random() < 0.5:
                self.support_api(p, t, ip)
                continue
            db, sql, rows, err = self.statement(p.role, t)
            self.db(t, p.name, p.roles, ip, app, sid, db, sql, rows,
                    "failure" if err else "success", err)
        self.db(t + 1, p.name, p.roles, ip, app, sid, dbkey, None, None, action="logout")
        return t

    def support_api(self, p: Person, t: float, ip: str) -> None:
        r = self.rng
        cid = r.randint(1, 200_000)
        k = r.random()
        if k < 0.5:
            self.api(t, p.name, ip, p.ua, "crm-api", "GET", f"/customers/{cid}", "/customers/{id}",
                     200 if r.random() > 0.02 else 404, r.randint(800, 1500))
        elif k < 0.75:
            self.api(t, p.name, ip, p.ua, "crm-api", "GET", f"/customers/{cid}/orders",
                     "/customers/{id}/orders", 200, r.randint(300, 6000))
        elif k < 0.9:
            tid = r.randint(1, 900_000)
            self.api(t, p.name, ip, p.ua, "crm-api", "GET", f"/tickets/{tid}", "/tickets/{id}", 200,
                     r.randint(400, 2000))
        else:
            self.api(t, p.name, ip, p.ua, "crm-api", "POST", "/tickets", "/tickets", 201, 120)

    def workday(self, p: Person, day: int) -> None:
        r = self.rng
        base = self.t0 + day * 86400
        weekday = (gmtime(base).tm_wday) < 5
        if not weekday and r.random() > (0.15 if p.role == "dba" else 0.06):
            return
        if weekday and r.random() < 0.04:          # day off
            return
        ip = p.alt_ip if r.random() < 0.06 else p.ip
        (s_lo, s_hi), (n_lo, n_hi) = ROLE_ACTIVITY[p.role]
        sessions = max(1, round(r.randint(s_lo, s_hi) * (1 if weekday else 0.4)))
        begin, end = p.begin_h + r.gauss(0, 0.3), p.end_h + r.gauss(0, 0.4)
        if not weekday:
            begin, end = begin + 1.5, begin + 1.5 + r.uniform(2, 4)
        starts = sorted(r.uniform(begin, end - 0.3) for _ in range(sessions))
        for h in starts:
            n = max(2, round(r.randint(n_lo, n_hi) * p.activity * self.scale))
            self.session(p, base + h * 3600, n, ip=ip)

    def oncall(self, p: Person, day: int) -> None:
        r = self.rng
        t = self.t0 + day * 86400 + r.uniform(22.5, 27.5) * 3600
        for _ in range(r.randint(1, 3)):
            t = self.session(p, t, max(3, round(r.randint(6, 20) * self.scale)), gap=60) + r.uniform(300, 1800)

    # -- service accounts ----------------------------------------------------------------------
    def services(self, day: int) -> None:
        r = self.rng
        base = self.t0 + day * 86400
        weekday = gmtime(base).tm_wday < 5
        svc = ["service"]
        # svc_crm_app: the CRM back end, all day long
        t = base + (7 if weekday else 9) * 3600
        stop = base + (22 if weekday else 18) * 3600
        mean_gap = (12 if weekday else 50) / self.scale
        sid = self.session_id()
        while True:
            t += r.expovariate(1 / mean_gap)
            if t >= stop:
                break
            cid = r.randint(1, 200_000)
            k = r.random()
            ip = "10.0.5.10" if r.random() < 0.5 else "10.0.5.11"
            if k < 0.55:
                self.db(t, "svc_crm_app", svc, ip, "crm-web", sid, "crm",
                        f"SELECT id, name, phone, email FROM customers WHERE id = {cid}", 1)
            elif k < 0.8:
                self.db(t, "svc_crm_app", svc, ip, "crm-web", sid, "crm",
                        f"SELECT id, status, amount FROM orders WHERE customer_id = {cid}", r.randint(0, 12))
            elif k < 0.9:
                self.db(t, "svc_crm_app", svc, ip, "crm-web", sid, "crm",
                        f"INSERT INTO tickets (customer_id, status, note) VALUES ({cid}, 'open', 'web form')", 1)
            else:
                self.db(t, "svc_crm_app", svc, ip, "crm-web", sid, "crm",
                        f"UPDATE customers SET email = 'user{cid}@example.com' WHERE id = {cid}", 1)
        # etl_nightly: 01:00, orders and new customers into the warehouse
        t = base + 3600 + r.gauss(0, 300)
        sid = self.session_id()
        self.db(t, "etl_nightly", svc, "10.0.6.20", "airflow", sid, "crm", None, None, action="login")
        for _ in range(r.randint(8, 14)):
            t += r.uniform(30, 120)
            date = _day(base - 86400)
            if r.random() < 0.6:
                self.db(t, "etl_nightly", svc, "10.0.6.20", "airflow", sid, "crm",
                        f"SELECT * FROM orders WHERE updated_at >= '{date}'", r.randint(3000, 15000))
            else:
                self.db(t, "etl_nightly", svc, "10.0.6.20", "airflow", sid, "crm",
                        f"SELECT id, name, region, created_at FROM customers WHERE created_at >= '{date}'",
                        r.randint(200, 800))
        # etl_finance: 02:00, transactions and accounts (card numbers) every night
        t = base + 2 * 3600 + r.gauss(0, 300)
        sid = self.session_id()
        self.db(t, "etl_finance", svc, "10.0.6.21", "airflow", sid, "fin", None, None, action="login")
        for _ in range(r.randint(4, 8)):
            t += r.uniform(60, 300)
            if r.random() < 0.6:
                self.db(t, "etl_finance", svc, "10.0.6.21", "airflow", sid, "fin",
                        f"SELECT id, account_id, amount, ts, merchant FROM transactions WHERE ts >= "
                        f"'{_day(base - 86400)}'", r.randint(20_000, 50_000))
            else:
                self.db(t, "etl_finance", svc, "10.0.6.21", "airflow", sid, "fin",
                        "SELECT id, customer_id, card_no, balance FROM accounts", r.randint(8000, 12000))
        # app_reporting: hourly aggregates on weekdays
        if weekday:
            for h in range(7, 21):
                t = base + h * 3600 + 300 + r.uniform(0, 60)
                for _ in range(r.randint(3, 6)):
                    t += r.uniform(2, 20)
                    db, sql, rows, _ = self.statement("analyst", t)
                    if rows and rows > 100:
                        rows = 100
                    self.db(t, "app_reporting", svc, "10.0.7.5", "metabase", "rep", db, sql, rows)
        # svc_hr_sync at 06:00
        t = base + 6 * 3600 + r.uniform(0, 120)
        self.db(t, "svc_hr_sync", svc, "10.0.7.9", "hr-sync", "hrs", "hr",
                "SELECT id, name, dept, phone FROM employees", r.randint(380, 400))
        # app_mobile: an API client, 07:00-23:00
        t, stop = base + 7 * 3600, base + 23 * 3600
        while True:
            t += r.expovariate(self.scale / (45 if weekday else 90))
            if t >= stop:
                break
            cid = r.randint(1, 200_000)
            ip = f"10.0.9.{r.randint(1, 4)}"
            if r.random() < 0.6:
                self.api(t, "app_mobile", ip, "crm-mobile/4.2 okhttp/4.9.3", "crm-api", "GET",
                         f"/customers/{cid}", "/customers/{id}", 200 if r.random() > 0.01 else 404,
                         r.randint(700, 1400))
            else:
                self.api(t, "app_mobile", ip, "crm-mobile/4.2 okhttp/4.9.3", "crm-api", "GET",
                         f"/customers/{cid}/orders", "/customers/{id}/orders", 200, r.randint(300, 5000))
        # anonymous shop traffic
        t, stop = base + 6 * 3600, base + 24 * 3600
        while True:
            t += r.expovariate(self.scale / 100)
            if t >= stop:
                break
            ip = f"198.51.100.{r.randint(1, 40)}"
            if r.random() < 0.5:
                self.api(t, "-", ip, r.choice(BROWSERS), "shop-api", "GET", "/products", "/products",
                         200, r.randint(2000, 9000))
            else:
                pid = r.randint(1, 5000)
                self.api(t, "-", ip, r.choice(BROWSERS), "shop-api", "GET", f"/products/{pid}",
                         "/products/{id}", 200 if r.random() > 0.03 else 404, r.randint(500, 1500))

    # -- scenarios -----------------------------------------------------------------------------
    def _label(self, scenario: str, who: str, t1: float, t2: float) -> None:
        self.labels.append({"scenario": scenario, "entity": who, "start": _iso(t1), "end": _iso(t2)})

    def _pick(self, roles: tuple[str, ...], used: set[str]) -> Person:
        eligible = [p for p in self.people if p.name not in used and p.start_day == 0
                    and p is not self.dormant and p.role != "dba"]
        pool = [p for p in eligible if p.role in roles] or eligible     # tiny populations
        p = self.rng.choice(pool)
        used.add(p.name)
        return p

    def _when(self, lo_h: float, hi_h: float, weekday: bool = True) -> float:
        """A time after day 7 (hours may pass 24: the night after), inside the period."""
        r = self.rng
        last = self.days - (1 if hi_h > 24 else 0)
        days = [d for d in range(7, last)
                if not weekday or gmtime(self.t0 + d * 86400).tm_wday < 5] or [self.days - 1]
        return self.t0 + r.choice(days) * 86400 + r.uniform(lo_h, hi_h) * 3600

    def scenarios(self) -> None:
        r = self.rng
        used: set[str] = set()

        p = self._pick(("analyst", "support"), used)
        t = t1 = self._when(19, 22) if r.random() < 0.5 else self._when(10, 16)
        sid, app = self.session_id(), p.apps[0]
        for k in range(r.randint(6, 12)):
            t += r.uniform(40, 150)
            self.db(t, p.name, p.roles, p.ip, app, sid, "crm",
                    f"SELECT id, name, phone, id_card, email, address FROM customers ORDER BY id "
                    f"LIMIT 10000 OFFSET {k * 10000}", 10000)
        self._label("bulk_exfiltration", p.name, t1, t)

        p = self._pick(("analyst", "support", "finance"), used)
        t = t1 = self._when(9.5, 10.5)
        sid, app, k = self.session_id(), p.apps[0], r.randint(1, 150_000)
        while t < t1 + r.uniform(5, 7) * 3600:
            t += r.uniform(180, 480)
            self.db(t, p.name, p.roles, p.ip, app, sid, "crm",
                    f"SELECT id, name, phone, id_card FROM customers WHERE id BETWEEN {k} AND {k + 49}", 50)
            k += 50
        self._label("slow_drip", p.name, t1, t)

        p = self._pick(("finance", "support"), used)
        t = t1 = self._when(24.5, 28.5, weekday=False)
        ip = f"100.{r.randint(64, 127)}.{r.randint(0, 255)}.{r.randint(2, 254)}"
        sid = self.session_id()
        self.db(t, p.name, p.roles, ip, "psql", sid, "fin" if p.role == "finance" else "crm", None,
                None, action="login")
        for _ in range(r.randint(10, 25)):
            t += r.uniform(30, 120)
            if r.random() < 0.3:
                if p.role == "finance":
                    self.db(t, p.name, p.roles, ip, "psql", sid, "fin",
                            f"SELECT id, customer_id, card_no, balance FROM accounts LIMIT 500 OFFSET "
                            f"{r.randint(0, 9) * 500}", 500)
                else:
                    self.db(t, p.name, p.roles, ip, "psql", sid, "crm",
                            f"SELECT id, name, phone, email FROM customers LIMIT 500 OFFSET "
                            f"{r.randint(0, 9) * 500}", 500)
            else:
                db, sql, rows, err = self.statement(p.role, t)
                self.db(t, p.name, p.roles, ip, "psql", sid, db, sql, rows,
                        "failure" if err else "success", err)
        self._label("new_address_night", p.name, t1, t)

        p = self.dormant
        t = t1 = self._when(10, 15)
        if t < self.t0 + 8 * 86400:
            t = t1 = t + 86400
        sid = self.session_id()
        db = "hr" if p.role == "hr" else "crm"
        self.db(t, p.name, p.roles, p.ip, p.apps[0], sid, db, None, None, action="login")
        for _ in range(r.randint(20, 40)):
            t += r.uniform(60, 200)
            if r.random() < 0.4:
                sql = ("SELECT id, name, id_card, phone, salary FROM employees" if db == "hr" else
                       f"SELECT id, name, phone, id_card FROM customers WHERE region = '{r.choice(REGIONS)}' LIMIT 1000")
                self.db(t, p.name, p.roles, p.ip, p.apps[0], sid, db, sql, 400 if db == "hr" else 1000)
            else:
                d, sql, rows, err = self.statement(p.role, t)
                self.db(t, p.name, p.roles, p.ip, p.apps[0], sid, d, sql, rows,
                        "failure" if err else "success", err)
        self._label("dormant_reactivation", p.name, t1, t)

        t = t1 = self._when(9, 20)
        ip = f"10.20.{r.randint(0, 255)}.{r.randint(2, 254)}"
        sid, app = self.session_id(), "DBeaver 23.2.0 - Main"
        adhoc = ["SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'",
                 "SELECT * FROM customers LIMIT 200", "SELECT * FROM tickets LIMIT 200",
                 "SELECT id, name, phone, id_card FROM customers WHERE name LIKE '王%'",
                 "SELECT column_name FROM information_schema.columns WHERE table_name = 'customers'",
                 "SELECT count(*) FROM customers", "SELECT * FROM orders ORDER BY amount DESC LIMIT 100"]
        rows = [12, 200, 200, 300, 8, 1, 100]
        for _ in range(r.randint(12, 25)):
            t += r.uniform(30, 150)
            i = r.randrange(len(adhoc))
            self.db(t, "svc_crm_app", ["service"], ip, app, sid, "crm", adhoc[i], rows[i])
        self._label("service_account_interactive", "svc_crm_app", t1, t)

        p = self._pick(("support",), used)
        t = t1 = self._when(10, 17)
        k = r.randint(1000, 150_000)
        for _ in range(r.randint(400, 1200)):
            t += r.uniform(0.3, 1.5)
            k += 1
            self.api(t, p.name, p.ip, "python-requests/2.31.0", "crm-api", "GET", f"/customers/{k}",
                     "/customers/{id}", 404 if r.random() < 0.15 else 200, r.randint(800, 1500))
        self._label("api_enumeration", p.name, t1, t)

        p = self._pick(("developer", "analyst", "support"), used)
        t = t1 = self._when(10, 17)
        sid, backdoor = self.session_id(), f"maint_{r.randint(10, 99)}"
        abuse = [f'GRANT ALL PRIVILEGES ON ALL TABLES IN SCHEMA public TO "{p.name}"',
                 f'ALTER USER "{p.name}" WITH SUPERUSER',
                 f"CREATE USER {backdoor} WITH PASSWORD 'Winter2026!'",
                 f"GRANT SELECT ON customers TO {backdoor}",
                 "ALTER TABLE customers DISABLE ROW LEVEL SECURITY"]
        for sql in r.sample(abuse, k=r.randint(3, 5)):
            t += r.uniform(20, 200)
            denied = r.random() < 0.3
            self.db(t, p.name, p.roles, p.ip, p.apps[0], sid, "crm", sql, 0,
                    "failure" if denied else "success", "permission denied" if denied else None)
        self._label("privilege_abuse", p.name, t1, t)

    # -- all -----------------------------------------------------------------------------------
    def run(self) -> tuple[list[dict], list[dict]]:
        for day in range(self.days):
            self.services(day)
            for p in self.people:
                if p.start_day <= day <= p.last_day:
                    self.workday(p, day)
                    if day in p.oncall_days:
                        self.oncall(p, day)
        self.scenarios()
        r = self.rng
        keyed = []
        for t, ev in self.events:
            delay = r.uniform(0, 2.0)
            if r.random() < 0.001:
                delay += r.uniform(300, 1800)
            keyed.append((t + delay, ev))
        keyed.sort(key=lambda p: p[0])
        self.labels.sort(key=lambda lab: lab["start"])
        return [ev for _, ev in keyed], self.labels


def generate(seed: int, days: int = 14, users: int = 50, start: str = DEFAULT_START,
             scale: float = 1.0) -> tuple[list[dict], list[dict]]:
    """Raw contract events in delivery order, and the labels of the injected behaviours."""
    if days < 9:
        raise ValueError("days must be >= 9: behaviours are injected after day 7")
    return _Gen(seed, days, users, start, scale).run()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--days", type=int, default=14)
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--scale", type=float, default=1.0)
    a = ap.parse_args()
    events, labels = generate(a.seed, a.days, a.users, scale=a.scale)
    users = Counter(e["user"]["name"] for e in events)
    print(f"{len(events):,} events, {len(users)} principals, "
          f"{sum(1 for e in events if 'http' in e):,} API")
    for lab in labels:
        print(lab)


if __name__ == "__main__":
    main()
