"""Benign statements of many shapes, generated for the SQL-injection false-positive test.

Each generator draws tables, columns and literals at random, including the shapes that fool naive
detectors: an ORM's ``WHERE 1=1 AND …``, string literals holding quotes and SQL keywords
(``'union select'``, ``'1'='1'``), comments (``/* app=crm */`` first, sqlcommenter tags last),
``LIKE`` patterns, ``IN`` lists, CTEs, window functions, ``INSERT … SELECT``, ``UPDATE`` with
subqueries, transactions and migration tools' catalogue queries, per dialect (PostgreSQL, MySQL,
SQL Server, Oracle).
"""

from __future__ import annotations

import random
import string

__all__ = ["benign_statements"]

_TABLES = ["users", "customers", "orders", "order_items", "products", "invoices", "payments",
           "accounts", "sessions", "audit_log", "tickets", "employees", "departments", "shipments"]
_COLS = ["id", "name", "email", "phone", "status", "created_at", "updated_at", "total", "amount",
         "customer_id", "user_id", "product_id", "qty", "price", "region", "city", "note",
         "title", "kind", "score", "tenant_id", "deleted_at", "id_card", "birthday"]
_TRICKY_TEXT = [
    "O''Brien", "it''s fine", "union select", "1''=''1", "'' or ''a''=''a", "DROP TABLE users",
    "select * from dual", "sleep(5) later", "a -- b", "/* not a comment */", "x; y",
    "information_schema", "100%", "C:\\\\temp\\\\", "Zhang San", "王梅", "waitfor delay",
    "and 1=1", "\"quoted\"", "pg_sleep", "benchmark report", "1 OR 1", "null",
]


class _G:
    def __init__(self, rng: random.Random):
        self.r = rng

    def t(self) -> str:
        return self.r.choice(_TABLES)

    def c(self) -> str:
        return self.r.choice(_COLS)

    def n(self) -> str:
        return str(self.r.choice([self.r.randint(1, 99), self.r.randint(100, 99999), 0, 1, 42]))

    def word(self) -> str:
        return "".join(self.r.choice(string.ascii_lowercase) for _ in range(self.r.randint(3, 9)))

    def s(self, mysql: bool = False) -> str:
        text = self.r.choice(_TRICKY_TEXT + [self.word()] * 12)
        if mysql and self.r.random() < 0.3:
            text = text.replace("''", "\\'")
        return f"'{text}'"

    def cond(self, mysql: bool = False) -> str:
        c = self.c()
        r = self.r.random()
        if r < 0.25:
            return f"{c} = {self.n()}"
        if r < 0.45:
            return f"{c} = {self.s(mysql)}"
        if r < 0.55:
            return f"{c} LIKE '{self.r.choice(['%', ''])}{self.word()}%'"
        if r < 0.65:
            return f"{c} IN ({', '.join(self.n() for _ in range(self.r.randint(1, 12)))})"
        if r < 0.72:
            return f"{c} IS {'NOT ' if self.r.random() < 0.5 else ''}NULL"
        if r < 0.8:
            return f"{c} BETWEEN {self.n()} AND {self.n()}"
        if r < 0.88:
            return f"{c} >= '2026-0{self.r.randint(1, 9)}-1{self.r.randint(0, 9)}'"
        if r < 0.94:
            return f"({c} = {self.n()} OR {self.c()} = {self.s(mysql)})"
        return f"{c} <> {self.n()}"

    def where(self, k: int | None = None, mysql: bool = False) -> str:
        k = k or self.r.randint(1, 4)
        return " AND ".join(self.cond(mysql) for _ in range(k))


def _pg(g: _G) -> str:
    r = g.r
    t, c = g.t(), g.c()
    return r.choice([
        f"SELECT {c}, {g.c()} FROM {t} WHERE {g.where()} ORDER BY {g.c()} DESC LIMIT {g.n()}",
        f"SELECT * FROM {t} WHERE 1=1 AND {g.where()}",
        f"SELECT * FROM {t} WHERE 1 = 1 AND {g.where(2)} ORDER BY id LIMIT 20 OFFSET {g.n()}",
        f"/* app=crm */ SELECT {c} FROM {t} WHERE {g.where()}",
        (f"SELECT {c} FROM {t} WHERE {g.where()} /*controller='users',action='show',"
        f"traceparent='00-{r.getrandbits(64):016x}-01'*/"),
        (f"WITH recent AS (SELECT {c}, row_number() OVER (PARTITION BY {g.c()} ORDER BY "
        f"created_at DESC) AS rn FROM {t} WHERE {g.where(1)}) SELECT * FROM recent WHERE rn = 1"),
        (f"SELECT {c}, sum(amount) OVER (ORDER BY created_at ROWS BETWEEN 6 PRECEDING AND "
        f"CURRENT ROW) FROM {t}"),
        (f"INSERT INTO {t} ({c}, note) VALUES ({g.n()}, {g.s()}) ON CONFLICT (id) DO UPDATE SET "
        f"note = EXCLUDED.note RETURNING id"),
        (f"INSERT INTO archive_{t} SELECT * FROM {t} WHERE created_at < now() - interval "
        f"'{r.randint(1, 90)} days'"),
        (f"UPDATE {t} SET {c} = {g.s()}, updated_at = now() WHERE id IN (SELECT id FROM {g.t()} "
        f"WHERE {g.where(1)})"),
        (f"UPDATE {t} SET total = (SELECT sum(price * qty) FROM order_items oi WHERE oi.order_id "
        f"= {t}.id) WHERE id = {g.n()}"),
        f"DELETE FROM {t} WHERE {g.where(2)} RETURNING *",
        (f"SELECT data->>'name' AS name, data #>> '{{address,city}}' FROM {t} WHERE data @> "
        f"'{{\"kind\": \"{g.word()}\"}}'::jsonb"),
        f"SELECT {c}::text, created_at::date FROM {t} WHERE tags && ARRAY['{g.word()}']::text[]",
        f"SELECT E'line\\nnext {g.word()}', $${g.word()} it's $$ FROM {t} LIMIT 1",
        (f"SELECT count(*) FILTER (WHERE status = 'paid') FROM {t} GROUP BY 1 HAVING count(*) > "
        f"{g.n()}"),
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'",
        ("SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = "
        "c.relnamespace WHERE n.nspname = 'public' AND pg_catalog.pg_table_is_visible(c.oid)"),
        ("BEGIN; UPDATE accounts SET balance = balance - 10 WHERE id = 1; UPDATE accounts SET "
        "balance = balance + 10 WHERE id = 2; COMMIT;"),
        f"SET search_path TO app, public; SELECT * FROM {t} WHERE id = {g.n()}",
        f"SELECT {c} FROM {t} WHERE id = $1 AND tenant_id = $2",
        f"SELECT * FROM {t} WHERE {c} ILIKE '%' || $1 || '%' LIMIT 50",
        (f"SELECT {c} FROM {t} t1 LEFT JOIN {g.t()} t2 ON t2.{g.c()} = t1.id AND t2.kind = "
        f"{g.s()} WHERE t1.{g.c()} IS NOT NULL"),
        (f"SELECT id, name, 'customer' AS kind FROM customers WHERE {g.where(1)} UNION ALL "
        f"SELECT id, name, 'supplier' FROM suppliers WHERE {g.where(1)}"),
        f"SELECT {c}, NULL AS extra FROM {t} UNION ALL SELECT {g.c()}, note FROM {g.t()}",
        "SELECT users.id FROM users WHERE users.id IN (NULL) AND (1 != 1)",
        (f"-- monthly report\nSELECT date_trunc('month', created_at), sum(total) FROM {t} "
        f"GROUP BY 1 ORDER BY 1"),
        (f"SELECT * FROM {t} WHERE {c} = '{g.word()}' -- lookup by {g.word()}\n  AND "
        f"tenant_id = {g.n()}"),
        "SELECT 1",
        "SELECT version()",
        f"SELECT pg_sleep_demo_{g.word()} FROM {t}",
        f"COPY (SELECT * FROM {t} WHERE {g.where(1)}) TO STDOUT WITH CSV HEADER",
        f"SELECT * FROM {t} WHERE {c} ~ '^[a-z]+$' AND {g.c()} !~* 'union\\s+select'",
        f"SELECT generate_series(1, {r.randint(2, 400)}) AS n",
        f"SELECT {c} FROM {t} ORDER BY {r.randint(1, 3)} LIMIT 10",
    ])


def _mysql(g: _G) -> str:
    r = g.r
    t, c = g.t(), g.c()
    return r.choice([
        f"SELECT `{c}`, `{g.c()}` FROM `{t}` WHERE {g.where(mysql=True)} LIMIT {g.n()}, 20",
        f"SELECT * FROM {t} WHERE 1=1 AND {g.where(mysql=True)}",
        f"/* app=crm */ SELECT SQL_NO_CACHE {c} FROM {t} WHERE {g.where(mysql=True)}",
        f"SELECT /*+ MAX_EXECUTION_TIME(1000) */ {c} FROM {t} WHERE {g.where(2, mysql=True)}",
        (f"INSERT INTO {t} ({c}, note) VALUES ({g.n()}, {g.s(True)}) ON DUPLICATE KEY UPDATE "
        f"note = VALUES(note)"),
        f"INSERT IGNORE INTO {t} ({c}) SELECT {g.c()} FROM {g.t()} WHERE {g.where(1, True)}",
        f"REPLACE INTO {t} (id, {c}) VALUES ({g.n()}, {g.s(True)})",
        f"UPDATE {t} SET {c} = \"{g.word()} said \\\"hi\\\"\" WHERE id = {g.n()}",
        (f"UPDATE {t} t JOIN {g.t()} u ON u.id = t.user_id SET t.{c} = u.{g.c()} WHERE "
        f"{g.where(1, True)}"),
        f"DELETE FROM {t} WHERE created_at < NOW() - INTERVAL {r.randint(1, 90)} DAY LIMIT 1000",
        f"SELECT {c}, COUNT(*) FROM {t} GROUP BY {c} WITH ROLLUP",
        (f"SELECT IFNULL({c}, 'n/a'), DATE_FORMAT(created_at, '%Y-%m') FROM {t} WHERE "
        f"{g.where(1, True)}"),
        (f"SELECT * FROM {t} WHERE MATCH(title, note) AGAINST ('{g.word()} {g.word()}' IN "
        f"BOOLEAN MODE)"),
        f"SELECT * FROM {t} WHERE id = 0x{r.getrandbits(128):032x}",
        ("SELECT COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = "
        "DATABASE() AND TABLE_NAME = 'users'"),
        "/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */",
        "/*!40000 ALTER TABLE `orders` DISABLE KEYS */",
        f"SELECT {c} FROM {t} WHERE {c} REGEXP '^[0-9]+$' ORDER BY id DESC",
        f"SELECT * FROM {t} WHERE note LIKE '%\\_%' ESCAPE '\\\\'",
        "SET NAMES utf8mb4",
        "SELECT @@session.transaction_isolation",
        f"SELECT {c} FROM {t} WHERE id = ? AND status = ?",
        f"SELECT {c} FROM {t} FORCE INDEX (idx_{c}) WHERE {g.where(1, True)}",
    ])


def _tsql(g: _G) -> str:
    r = g.r
    t, c = g.t(), g.c()
    return r.choice([
        (f"SELECT TOP {r.randint(1, 100)} [{c}], [{g.c()}] FROM [dbo].[{t}] WITH (NOLOCK) WHERE "
        f"{g.where()}"),
        (f"SELECT * FROM {t} WHERE 1=1 AND {g.where()} ORDER BY id OFFSET 0 ROWS FETCH NEXT 20 "
        f"ROWS ONLY"),
        f"UPDATE {t} SET {c} = N'{g.word()}' OUTPUT inserted.id WHERE {g.where(1)}",
        (f"MERGE {t} AS tgt USING staging_{t} AS src ON tgt.id = src.id WHEN MATCHED THEN UPDATE "
        f"SET tgt.{c} = src.{c} WHEN NOT MATCHED THEN INSERT (id, {c}) VALUES (src.id, src.{c});"),
        f"SELECT {c}, ISNULL({g.c()}, 0) FROM {t} WHERE {c} = @p0 AND tenant_id = @p1",
        f"EXEC dbo.usp_get_{t} @id = {g.n()}",
        "SELECT name FROM sys.tables WHERE is_ms_shipped = 0",
        f"SELECT {c} FROM {t} WHERE created_at >= DATEADD(day, -{r.randint(1, 30)}, GETDATE())",
    ])


def _oracle(g: _G) -> str:
    r = g.r
    t, c = g.t(), g.c()
    return r.choice([
        f"SELECT {c} FROM {t} WHERE ROWNUM <= {r.randint(1, 100)} AND {g.where(1)}",
        f"SELECT NVL({c}, 'x') FROM {t} WHERE {c} = :1",
        f"SELECT q'[it's {g.word()}]' FROM dual",
        f"SELECT {c} FROM {t} WHERE {g.where()} FETCH FIRST 10 ROWS ONLY",
        "SELECT table_name FROM user_tables ORDER BY table_name",
        "SELECT sysdate FROM dual",
    ])


def benign_statements(n: int = 2500, seed: int = 11) -> list[tuple[str, str]]:
    """``n`` distinct (statement, db_system) pairs."""
    rng = random.Random(seed)
    g = _G(rng)
    seen: set[tuple[str, str]] = set()
    kinds = [(_pg, "postgresql", 0.45), (_mysql, "mysql", 0.35), (_tsql, "sqlserver", 0.12),
             (_oracle, "oracle", 0.08)]
    out = []
    for _ in range(n * 20):
        if len(out) >= n:
            break
        x = rng.random()
        acc = 0.0
        item = None
        for fn, system, w in kinds:
            acc += w
            if x <= acc:
                item = (fn(g), system)
                break
        if item is None:
            item = (_pg(g), "postgresql")
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out
